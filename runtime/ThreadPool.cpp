//===- ThreadPool.cpp - SPMD worker pool and llmc_barrier -----------------===//

#include "runtime/ThreadPool.h"

#include "runtime/abi/ModelABI.h"

#include <csignal>
#include <pthread.h>
#include <sched.h>

using namespace llmc;

namespace {
/// The pool whose task is running; llmc_barrier() has no arguments.
std::atomic<ThreadPool *> activePool{nullptr};
/// This thread's barrier sense for the active task.
thread_local bool threadSense = false;
/// Spin iterations before a waiting thread starts yielding its core.
constexpr int kSpinsBeforeYield = 4096;
} // namespace

static inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

void SpinBarrier::wait(bool &localSense) {
  localSense = !localSense;
  if (arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == numThreads) {
    arrived.store(0, std::memory_order_relaxed);
    resetChunks();
    sense.store(localSense, std::memory_order_release);
    return;
  }
  int spins = 0;
  while (sense.load(std::memory_order_acquire) != localSense) {
    if (spins < kSpinsBeforeYield) {
      ++spins;
      cpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

ThreadPool::ThreadPool(int numThreads)
    : numThreads(numThreads < 1 ? 1 : numThreads),
      spinBarrier(numThreads < 1 ? 1 : numThreads) {
  threads.reserve(this->numThreads - 1);
  // Workers inherit a mask without SIGINT, so Ctrl-C always reaches the
  // main thread (runtime/Interrupt.h).
  sigset_t interrupt, previous;
  sigemptyset(&interrupt);
  sigaddset(&interrupt, SIGINT);
  pthread_sigmask(SIG_BLOCK, &interrupt, &previous);
  for (int tid = 1; tid < this->numThreads; ++tid)
    threads.emplace_back([this, tid] { workerLoop(tid); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wakeWorkers.notify_all();
  for (std::thread &t : threads)
    t.join();
}

void ThreadPool::runTask(int tid) {
  threadSense = spinBarrier.currentSense();
  task(taskCtx, tid, numThreads);
}

void ThreadPool::workerLoop(int tid) {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      wakeWorkers.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
    }
    runTask(tid);
    bool last;
    {
      std::lock_guard<std::mutex> lock(mutex);
      last = --running == 0;
    }
    if (last)
      allDone.notify_one();
  }
}

void ThreadPool::run(TaskFn fn, void *ctx) {
  spinBarrier.resetChunks();
  activePool.store(this, std::memory_order_release);
  task = fn;
  taskCtx = ctx;
  {
    std::lock_guard<std::mutex> lock(mutex);
    running = numThreads - 1;
    ++generation;
  }
  wakeWorkers.notify_all();
  runTask(0);
  {
    std::unique_lock<std::mutex> lock(mutex);
    allDone.wait(lock, [&] { return running == 0; });
  }
  activePool.store(nullptr, std::memory_order_release);
}

void ThreadPool::barrier() {
  if (numThreads > 1)
    spinBarrier.wait(threadSense);
  else
    spinBarrier.resetChunks();
}

int llmc::availableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

namespace {
/// The work counter of a thread that calls forward() outside any pool (as
/// the only worker).
thread_local int64_t unpooledChunks = 0;
} // namespace

extern "C" void llmc_barrier(void) {
  if (ThreadPool *pool = activePool.load(std::memory_order_acquire))
    pool->barrier();
  else
    unpooledChunks = 0;
}

extern "C" int64_t llmc_next_chunk(void) {
  if (ThreadPool *pool = activePool.load(std::memory_order_acquire))
    return pool->nextChunk();
  return unpooledChunks++;
}
