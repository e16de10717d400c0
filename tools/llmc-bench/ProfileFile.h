//===- ProfileFile.h - An executable's --profile-out file -------*- C++ -*-===//
//
// What llmc-bench --profile and llmc compile --report read from the JSON a
// compiled executable writes with --profile-out: per phase, each module's
// time and, where llm-estimate-costs knew them, its bytes and FLOPs.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TOOLS_LLMC_BENCH_PROFILEFILE_H
#define LLMC_TOOLS_LLMC_BENCH_PROFILEFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace llmc::bench {

struct ModuleTime {
  std::string name;
  double ns = 0, calls = 0, kernels = 0;
  /// The module's share of its phase's forward time.
  double share = 0;
  std::optional<double> bytes, flops;
  /// Passes of the 8-bit dot product its FLOPs take (llm.costs' int8_dot:
  /// 2 for 16-bit inputs); 0 when they are not 8-bit dot products.
  int64_t int8Passes = 0;
};

struct PhaseTimes {
  std::string name;
  /// Largest first, as the file lists them.
  std::vector<ModuleTime> modules;
};

struct ProfileFile {
  /// The worker threads of the run (0 when the file does not say).
  int threads = 0;
  std::vector<PhaseTimes> phases;
};

/// Reads and checks `path`; errors name the file.
llvm::Expected<ProfileFile> readProfileFile(llvm::StringRef path);

} // namespace llmc::bench

#endif // LLMC_TOOLS_LLMC_BENCH_PROFILEFILE_H
