//===- ThreadPool.cpp - SPMD worker pool and llmc_barrier -----------------===//

#include "runtime/ThreadPool.h"

#include "runtime/Profile.h"
#include "runtime/abi/ModelABI.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <thread>

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

namespace {
/// How long a worker (or the caller, for the workers' end) spins for the
/// next task before it sleeps: decode's forward calls come a sampling step
/// apart, and waking a sleeping thread took about 100 us on a 2-vCPU Zen 5
/// VM (`--profile`'s hand-off row: 103.5 us a decode call).
constexpr std::chrono::microseconds kIdleSpin(2000);

/// Spins until `ready()` or `kIdleSpin` passed, yielding the core after
/// kSpinsBeforeYield spins (more threads than cores); returns whether it
/// was ready.
template <typename Ready> bool spinFor(Ready ready) {
  auto start = std::chrono::steady_clock::now();
  for (int spins = 1;; ++spins) {
    if (ready())
      return true;
    if (spins % 64 == 0 &&
        std::chrono::steady_clock::now() - start > kIdleSpin)
      return false;
    if (spins < kSpinsBeforeYield)
      cpuRelax();
    else
      std::this_thread::yield();
  }
}
} // namespace

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
  // Each worker on a kModelStackBytes stack, whatever the stack limit.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kModelStackBytes);
  for (int tid = 1; tid < this->numThreads; ++tid) {
    auto *start = new WorkerStart{this, tid};
    pthread_t thread;
    if (pthread_create(&thread, &attr, &ThreadPool::workerMain, start) != 0) {
      delete start;
      std::fprintf(stderr, "error: cannot start worker thread %d of %d\n", tid,
                   this->numThreads);
      std::exit(1);
    }
    threads.push_back(thread);
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wakeWorkers.notify_all();
  for (pthread_t t : threads)
    pthread_join(t, nullptr);
}

void ThreadPool::runTask(int tid) {
  threadSense = spinBarrier.currentSense();
  // Profiling: the workers meet before the first kernel, so that their
  // wake-up is counted outside the kernels rather than in the first one's
  // closing barrier.
  if (numThreads > 1 && profileEnabled())
    spinBarrier.wait(threadSense);
  task(taskCtx, tid, numThreads);
}

void *ThreadPool::workerMain(void *arg) {
  auto *start = static_cast<WorkerStart *>(arg);
  ThreadPool *pool = start->pool;
  int tid = start->tid;
  delete start;
  pool->workerLoop(tid);
  return nullptr;
}

void ThreadPool::workerLoop(int tid) {
  uint64_t seen = 0;
  while (true) {
    // The next task comes soon in a generation loop: spin a while before
    // sleeping (stopping always takes the sleeping path).
    if (spinFor([&] {
          return published.load(std::memory_order_acquire) != seen;
        })) {
      seen = published.load(std::memory_order_acquire);
    } else {
      std::unique_lock<std::mutex> lock(mutex);
      wakeWorkers.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
    }
    runTask(tid);
    if (running.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The caller may be asleep in run(): wake it under the mutex.
      std::lock_guard<std::mutex> lock(mutex);
      allDone.notify_one();
    }
  }
}

void ThreadPool::run(TaskFn fn, void *ctx) {
  spinBarrier.resetChunks();
  activePool.store(this, std::memory_order_release);
  task = fn;
  taskCtx = ctx;
  running.store(numThreads - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++generation;
    published.store(generation, std::memory_order_release);
  }
  wakeWorkers.notify_all();
  runTask(0);
  if (!spinFor([&] { return running.load(std::memory_order_acquire) == 0; })) {
    std::unique_lock<std::mutex> lock(mutex);
    allDone.wait(lock, [&] {
      return running.load(std::memory_order_acquire) == 0;
    });
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

namespace {
struct StackCall {
  int (*fn)(int, char **);
  int argc;
  char **argv;
  int result;
};
} // namespace

static void *runStackCall(void *arg) {
  auto *call = static_cast<StackCall *>(arg);
  // This thread takes SIGINT (Ctrl-C) in place of the waiting caller.
  sigset_t interrupt;
  sigemptyset(&interrupt);
  sigaddset(&interrupt, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &interrupt, nullptr);
  call->result = call->fn(call->argc, call->argv);
  return nullptr;
}

int llmc::runWithModelStack(int (*fn)(int, char **), int argc, char **argv) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < kModelStackBytes) {
    // The main thread's stack grows up to the soft limit.
    if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= kModelStackBytes) {
      limit.rlim_cur = kModelStackBytes;
      if (setrlimit(RLIMIT_STACK, &limit) == 0)
        return fn(argc, argv);
    }
    StackCall call{fn, argc, argv, 1};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kModelStackBytes);
    sigset_t interrupt, previous;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    pthread_sigmask(SIG_BLOCK, &interrupt, &previous);
    pthread_t thread;
    int created = pthread_create(&thread, &attr, runStackCall, &call);
    pthread_attr_destroy(&attr);
    if (created == 0) {
      pthread_join(thread, nullptr);
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return call.result;
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  return fn(argc, argv);
}
