//===- ThreadPool.h - SPMD worker pool and llmc_barrier -------------------===//
//
// The generated forward() is SPMD: every worker runs the same function with
// its own thread id and synchronizes through `llmc_barrier()`. The pool keeps
// N-1 persistent threads (the calling thread is worker 0) that sleep on a
// condition variable between calls, so they use no CPU while the runtime
// samples or waits for I/O.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_THREADPOOL_H
#define LLMC_RUNTIME_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <pthread.h>
#include <vector>

namespace llmc {

/// A sense-reversing barrier for a fixed number of threads: spins briefly,
/// then yields. Each participating thread keeps its own `localSense`. It also
/// keeps the work counter of the phase: nextChunk() hands out 0, 1, 2, ...
/// to whichever thread asks, and the barrier sets it back to 0 once every
/// thread has arrived (so nobody is still claiming).
class SpinBarrier {
public:
  explicit SpinBarrier(int numThreads) : numThreads(numThreads) {}

  /// Blocks until all `numThreads` threads have called wait().
  void wait(bool &localSense);

  /// The next unclaimed chunk index of this phase.
  int64_t nextChunk() {
    return chunks.fetch_add(1, std::memory_order_relaxed);
  }

  /// Starts the chunk count over; only while no thread is claiming.
  void resetChunks() { chunks.store(0, std::memory_order_relaxed); }

  /// The sense of the current phase; a thread joining a fresh phase sequence
  /// starts with this value as its local sense.
  bool currentSense() const { return sense.load(std::memory_order_acquire); }

private:
  int numThreads;
  std::atomic<int> arrived{0};
  std::atomic<bool> sense{false};
  /// On a cache line of its own: claims do not disturb the spinning waiters.
  alignas(64) std::atomic<int64_t> chunks{0};
};

/// A fixed-size pool that runs one SPMD task at a time on all its workers.
class ThreadPool {
public:
  /// The task every worker runs: `fn(ctx, tid, nthreads)`.
  using TaskFn = void (*)(void *ctx, int tid, int nthreads);

  /// Starts `numThreads - 1` threads (numThreads >= 1).
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return numThreads; }

  /// Runs `fn` on every worker (the caller is worker 0) and returns when all
  /// of them returned. While it runs, `llmc_barrier()` synchronizes the
  /// workers of this pool. Not reentrant; one pool runs at a time.
  void run(TaskFn fn, void *ctx);

  /// Waits on this pool's barrier; called through `llmc_barrier()`.
  void barrier();

  /// The next chunk of the current kernel; called through
  /// `llmc_next_chunk()`.
  int64_t nextChunk() { return spinBarrier.nextChunk(); }

private:
  /// What a worker thread starts with (owned by it).
  struct WorkerStart {
    ThreadPool *pool;
    int tid;
  };
  static void *workerMain(void *arg);
  void workerLoop(int tid);
  void runTask(int tid);

  int numThreads;
  SpinBarrier spinBarrier;
  std::vector<pthread_t> threads;

  std::mutex mutex;
  std::condition_variable wakeWorkers;
  std::condition_variable allDone;
  uint64_t generation = 0; // guarded by mutex
  bool stopping = false;   // guarded by mutex
  /// `generation` as the workers spinning between tasks read it (written
  /// under the mutex, after the task).
  std::atomic<uint64_t> published{0};
  /// Workers that have not finished the current task.
  std::atomic<int> running{0};

  TaskFn task = nullptr;
  void *taskCtx = nullptr;
};

/// Returns the number of CPUs this process may run on (at least 1).
int availableCpus();

/// Bytes of stack every thread that runs the model gets: the generated
/// kernels' frames hold up to a few MiB (a prefill's packed inputs take 1
/// MiB of each projection's frame).
constexpr size_t kModelStackBytes = size_t(16) << 20;

/// Runs `fn(argc, argv)` on a stack of at least kModelStackBytes: on the
/// calling thread when its stack limit allows (raising the soft limit if
/// it is lower and the hard one allows), otherwise on a thread of that size
/// that takes over SIGINT (blocked on the caller meanwhile). Returns what
/// `fn` returned.
int runWithModelStack(int (*fn)(int, char **), int argc, char **argv);

} // namespace llmc

#endif // LLMC_RUNTIME_THREADPOOL_H
