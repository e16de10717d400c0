//===- ThreadPoolTest.cpp - Tests for the SPMD pool and llmc_barrier ------===//

#include "runtime/ThreadPool.h"

#include "runtime/abi/ModelABI.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

using namespace llmc;

namespace {

/// Workers increment a counter per phase; after each barrier, every worker
/// checks that all increments of the phase are in and none of the next one.
struct PhaseCheck {
  static constexpr int kPhases = 200;
  std::atomic<int> counters[kPhases];
  std::atomic<int> violations{0};
  std::vector<int> seenTid;

  PhaseCheck() {
    for (auto &c : counters)
      c.store(0);
  }
};

void phaseTask(void *ctx, int tid, int nthreads) {
  PhaseCheck &check = *static_cast<PhaseCheck *>(ctx);
  check.seenTid[tid] += 1;
  for (int phase = 0; phase < PhaseCheck::kPhases; ++phase) {
    check.counters[phase].fetch_add(1);
    llmc_barrier();
    if (check.counters[phase].load() != nthreads)
      check.violations.fetch_add(1);
    if (phase + 1 < PhaseCheck::kPhases &&
        check.counters[phase + 1].load() != 0)
      check.violations.fetch_add(1);
    // A second barrier so no worker starts the next phase while another
    // still checks this one.
    llmc_barrier();
  }
}

class ThreadPoolTest : public ::testing::TestWithParam<int> {};

TEST_P(ThreadPoolTest, PhasesNeverOverlap) {
  int n = GetParam();
  ThreadPool pool(n);
  EXPECT_EQ(pool.size(), n);
  // Several runs on the same pool: the barrier's sense must carry over.
  for (int run = 0; run < 5; ++run) {
    PhaseCheck check;
    check.seenTid.assign(n, 0);
    pool.run(phaseTask, &check);
    EXPECT_EQ(check.violations.load(), 0) << "run " << run;
    for (int p = 0; p < PhaseCheck::kPhases; ++p)
      ASSERT_EQ(check.counters[p].load(), n);
    for (int tid = 0; tid < n; ++tid)
      EXPECT_EQ(check.seenTid[tid], 1) << "tid " << tid;
  }
}

/// Kernels split into claimed chunks, as the generated code does: every
/// worker claims until the index passes the kernel's end, then waits at the
/// barrier. Each chunk of each kernel must run exactly once, whoever runs it.
struct ClaimCheck {
  static constexpr int kKernels = 50;
  static constexpr int kChunks = 37;
  std::atomic<int> runs[kKernels][kChunks];
  std::atomic<int> overshoots{0};

  ClaimCheck() {
    for (auto &kernel : runs)
      for (auto &c : kernel)
        c.store(0);
  }
};

void claimTask(void *ctx, int tid, int nthreads) {
  ClaimCheck &check = *static_cast<ClaimCheck *>(ctx);
  for (int k = 0; k < ClaimCheck::kKernels; ++k) {
    int64_t c;
    while ((c = llmc_next_chunk()) < ClaimCheck::kChunks)
      check.runs[k][c].fetch_add(1);
    // The claims past the end: at most one per worker.
    if (c >= ClaimCheck::kChunks + nthreads)
      check.overshoots.fetch_add(1);
    llmc_barrier();
  }
}

TEST_P(ThreadPoolTest, ClaimedChunksRunOnceAndRestartAtBarriers) {
  int n = GetParam();
  ThreadPool pool(n);
  for (int run = 0; run < 3; ++run) {
    ClaimCheck check;
    pool.run(claimTask, &check);
    EXPECT_EQ(check.overshoots.load(), 0);
    for (int k = 0; k < ClaimCheck::kKernels; ++k)
      for (int c = 0; c < ClaimCheck::kChunks; ++c)
        ASSERT_EQ(check.runs[k][c].load(), 1)
            << "run " << run << " kernel " << k << " chunk " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ThreadPoolTest,
                         ::testing::Values(1, 2, 3, 4, 8));

TEST(ThreadPoolStandaloneTest, BarrierOutsideRunIsNoOp) {
  // No active pool: the barrier must return instead of waiting for workers
  // that do not exist (a hang fails here after 10 s, not at ctest's limit).
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> done = promise->get_future();
  std::thread([promise] {
    for (int i = 0; i < 1000; ++i)
      llmc_barrier();
    promise->set_value();
  }).detach();
  EXPECT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(ThreadPoolStandaloneTest, ClaimsOutsideRunCountFromZeroPerBarrier) {
  // forward() called directly as the only worker: the chunks still come in
  // order and start over at each barrier.
  std::thread([] {
    for (int kernel = 0; kernel < 3; ++kernel) {
      for (int64_t expected = 0; expected < 5; ++expected)
        EXPECT_EQ(llmc_next_chunk(), expected);
      llmc_barrier();
    }
  }).join();
}

TEST(ThreadPoolStandaloneTest, AvailableCpusIsPositive) {
  EXPECT_GE(availableCpus(), 1);
}

TEST(ThreadPoolStandaloneTest, ManyShortRuns) {
  ThreadPool pool(4);
  std::atomic<int> total{0};
  struct Ctx {
    std::atomic<int> *total;
  } ctx{&total};
  for (int i = 0; i < 2000; ++i)
    pool.run(
        [](void *c, int, int) {
          static_cast<Ctx *>(c)->total->fetch_add(1);
          llmc_barrier();
        },
        &ctx);
  EXPECT_EQ(total.load(), 8000);
}

} // namespace
