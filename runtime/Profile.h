//===- Profile.h - Kernel timers of a model executable's --profile --------===//
//
// llmc's llm-time-kernels pass puts a call of llmc_profile_mark(tid, kernel)
// before every kernel of a CPU model and stores the kernels' names in the
// executable. With --profile, worker 0 charges the wall time from one mark
// to the next to the kernel it opened: its own share of the kernel plus the
// wait at the barrier after it, which is what the kernel costs the token.
// The last kernel of a forward call closes when the call returns. Without
// --profile each mark returns after one load and branch. A GPU model has the
// same tables (llm-lower-gpu-launches writes them); its CUDA layer times
// each launch with device events and reports it with profileKernelTime().
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_PROFILE_H
#define LLMC_RUNTIME_PROFILE_H

#include <cstdint>
#include <string>

extern "C" void llmc_profile_mark(int64_t tid, int64_t kernel);

namespace llmc {

/// Whether the executable was compiled with kernel marks (GPU executables and
/// objects compiled without llm-time-kernels have none).
bool profileAvailable();

/// Starts the timers. Call before the first forward call.
void profileEnable();

/// The worker threads the forward calls run on (in the JSON, so that a
/// report can set the numbers against that many threads' ceilings).
void profileSetThreads(int threads);

/// Whether profileEnable() started the timers.
bool profileEnabled();

/// Charges `ns` to kernel `kernel` (an index of the kernel tables) in the
/// forward call in flight: the way a GPU model's device timers report, one
/// call per launch. Ignored outside a forward call or when not enabled.
void profileKernelTime(int64_t kernel, uint64_t ns);

/// Brackets one forward call of `tokens` positions from `position` on, of
/// the prefill or of decode, that writes `outputRows` rows of logits; on
/// the calling thread.
void profileBeginForward(int64_t tokens, int64_t outputRows, int64_t position,
                         bool prefill);
void profileEndForward();

/// The machine's ceilings the table sets each module against: the best
/// read bandwidth (GB/s) and float rate (GFLOP/s) llmc-bench measured with
/// this many threads, and where they came from (shown in the table).
struct ProfileCeilings {
  /// Read bandwidth (GB/s) and the f32 FMA rate (GFLOP/s).
  double bandwidth = 0, flops = 0;
  /// The bf16 dot product's rate (GFLOP/s), for projections that use it; 0
  /// when not measured.
  double bf16Flops = 0;
  /// The 8-bit dot product's rate (GOP/s), for projections that use it; 0
  /// when not measured.
  double int8Ops = 0;
  std::string source;
};

/// llmc-bench's cache ($XDG_CACHE_HOME or ~/.cache, llmc/ceilings.json) for
/// this machine (the `cpu` the code was compiled for, which must be this
/// machine's as llmc-bench names it, and /proc/cpuinfo's model name) and
/// `threads` threads; false when it has no such entry.
bool readCachedCeilings(const char *cpu, int threads,
                        ProfileCeilings &ceilings);

/// Sets the ceilings profileTable() compares with.
void profileSetCeilings(const ProfileCeilings &ceilings);

/// The table printed at exit: per phase, each module's calls, total time
/// (of its kernels), share of the phase's forward time, time per call, and
/// the GB/s and GFLOP/s its costs (llm-estimate-costs) make of that; largest
/// first.
std::string profileTable();

/// The same numbers as JSON, for scripts, and each kernel's.
std::string profileJson();

} // namespace llmc

#endif // LLMC_RUNTIME_PROFILE_H
