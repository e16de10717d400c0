//===- Ceilings.h - Peak arithmetic rates of this machine -------*- C++ -*-===//
//
// llmc-bench reports prefill against what the CPU's best instructions can
// do: f32 FMA, bf16 dot product (x86 vdpbf16ps) and int8 dot product (x86
// vpdpbusd), each measured with `threads` threads running independent
// accumulators, and cached per machine (the CPU's name, its model string
// and the thread count) so that later runs skip the measurement.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TOOLS_LLMC_BENCH_CEILINGS_H
#define LLMC_TOOLS_LLMC_BENCH_CEILINGS_H

#include <optional>
#include <string>

namespace llmc::bench {

struct Ceilings {
  /// Billions of operations per second (a multiply-add is two); 0 when the
  /// CPU has no such instruction (or it is not measured on this host).
  double f32Fma = 0, bf16Dot = 0, int8Dot = 0;
  /// The best read bandwidth llmc-bench measured, in GB/s; 0 if none.
  double bandwidth = 0;
  /// Where they came from: "measured" or the cache file.
  std::string source;
};

/// The ceilings for `threads` threads: from the cache file
/// ($XDG_CACHE_HOME or ~/.cache, llmc/ceilings.json) when it has this
/// machine, else (or with `remeasure`) measured (about a second); the cache
/// keeps the best rate ever measured for each, since a shared machine that
/// is busy at the time measures low.
Ceilings getCeilings(unsigned threads, bool remeasure);

/// The cache's entry for this machine and `threads` threads (source = the
/// cache file), or nothing. CeilingsCache.cpp: llmc reads it too, for the
/// predictions on its --report page.
std::optional<Ceilings> readCachedCeilings(unsigned threads);

/// Stores `ceilings` as this machine's entry for `threads` threads.
void writeCachedCeilings(unsigned threads, const Ceilings &ceilings);

/// Records a read bandwidth (GB/s) measured with `threads` threads: the
/// entry keeps the best.
void recordBandwidth(unsigned threads, double gbPerSecond);

} // namespace llmc::bench

#endif // LLMC_TOOLS_LLMC_BENCH_CEILINGS_H
