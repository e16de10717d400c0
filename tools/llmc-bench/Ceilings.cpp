//===- Ceilings.cpp - Peak arithmetic rates of this machine ---------------===//
//
// Each kernel keeps 12 independent accumulators in vector registers, enough
// to hide the instruction's latency at two issues per cycle, and runs a
// fixed number of iterations on every thread; the rate is the operations
// of all threads over the wall time, best of three.
//
//===----------------------------------------------------------------------===//

#include "Ceilings.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace llvm;
using namespace llmc::bench;

namespace {

constexpr long kIterations = 1 << 24;
constexpr int kAccumulators = 12;

#if defined(__x86_64__)
/// Returns a value that depends on every accumulator, so that nothing is
/// optimized away; the operation count is fixed by the kernel.
__attribute__((target("avx512f"))) float fmaAvx512() {
  __m512 acc[kAccumulators];
  for (int j = 0; j < kAccumulators; ++j)
    acc[j] = _mm512_set1_ps(float(j));
  __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
  for (long i = 0; i < kIterations; ++i)
    for (int j = 0; j < kAccumulators; ++j)
      acc[j] = _mm512_fmadd_ps(acc[j], x, y);
  float sum = 0;
  for (int j = 0; j < kAccumulators; ++j)
    sum += _mm512_reduce_add_ps(acc[j]);
  return sum;
}

__attribute__((target("avx2,fma"))) float fmaAvx2() {
  __m256 acc[kAccumulators];
  for (int j = 0; j < kAccumulators; ++j)
    acc[j] = _mm256_set1_ps(float(j));
  __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
  for (long i = 0; i < kIterations; ++i)
    for (int j = 0; j < kAccumulators; ++j)
      acc[j] = _mm256_fmadd_ps(acc[j], x, y);
  float lanes[8], sum = 0;
  for (int j = 0; j < kAccumulators; ++j) {
    _mm256_storeu_ps(lanes, acc[j]);
    for (float lane : lanes)
      sum += lane;
  }
  return sum;
}

__attribute__((target("avx512f,avx512bf16"))) float dotBf16() {
  __m512 acc[kAccumulators];
  for (int j = 0; j < kAccumulators; ++j)
    acc[j] = _mm512_setzero_ps();
  __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.001f),
                                   _mm512_set1_ps(0.002f));
  __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.003f),
                                   _mm512_set1_ps(0.004f));
  for (long i = 0; i < kIterations; ++i)
    for (int j = 0; j < kAccumulators; ++j)
      acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
  float sum = 0;
  for (int j = 0; j < kAccumulators; ++j)
    sum += _mm512_reduce_add_ps(acc[j]);
  return sum;
}

__attribute__((target("avx512f,avx512vnni"))) float dotInt8() {
  __m512i acc[kAccumulators];
  for (int j = 0; j < kAccumulators; ++j)
    acc[j] = _mm512_set1_epi32(j);
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (long i = 0; i < kIterations; ++i)
    for (int j = 0; j < kAccumulators; ++j)
      acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
  int sum = 0;
  for (int j = 0; j < kAccumulators; ++j)
    sum += _mm512_reduce_add_epi32(acc[j]);
  return float(sum);
}
#endif

/// Runs `kernel` on `threads` threads, best of three; `opsPerCall` is one
/// thread's operation count. Returns billions of operations per second.
double rate(float (*kernel)(), double opsPerCall, unsigned threads) {
  static volatile float sink;
  double best = 0;
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<float> results(threads);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t] { results[t] = kernel(); });
    for (std::thread &worker : workers)
      worker.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    for (float r : results)
      sink = sink + r;
    best = std::max(best, opsPerCall * threads / seconds / 1e9);
  }
  return best;
}

Ceilings measure(unsigned threads) {
  Ceilings c;
  c.source = "measured";
#if defined(__x86_64__)
  StringMap<bool> features = sys::getHostCPUFeatures();
  auto has = [&](StringRef name) { return features.lookup(name); };
  double iterations = double(kIterations) * kAccumulators;
  if (has("avx512f"))
    c.f32Fma = rate(fmaAvx512, iterations * 16 * 2, threads);
  else if (has("avx2") && has("fma"))
    c.f32Fma = rate(fmaAvx2, iterations * 8 * 2, threads);
  // 16 lanes of 2 bf16 products and their sum; 16 lanes of 4 int8 ones.
  if (has("avx512bf16"))
    c.bf16Dot = rate(dotBf16, iterations * 16 * 4, threads);
  if (has("avx512vnni"))
    c.int8Dot = rate(dotInt8, iterations * 16 * 8, threads);
#endif
  return c;
}

} // namespace

Ceilings llmc::bench::getCeilings(unsigned threads, bool remeasure) {
  std::optional<Ceilings> cached = readCachedCeilings(threads);
  if (cached && cached->f32Fma > 0 && !remeasure)
    return *cached;
  Ceilings c = measure(threads);
  if (cached) {
    c.f32Fma = std::max(c.f32Fma, cached->f32Fma);
    c.bf16Dot = std::max(c.bf16Dot, cached->bf16Dot);
    c.int8Dot = std::max(c.int8Dot, cached->int8Dot);
    c.bandwidth = cached->bandwidth;
    c.source = "measured, best with " + cached->source;
  }
  if (c.f32Fma > 0)
    writeCachedCeilings(threads, c);
  return c;
}
