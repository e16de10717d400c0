//===- CPUFeatures.h - Does this CPU run the code it was compiled for? ----===//
//
// An executable compiled for the host (the default) and copied to an older
// CPU would die on SIGILL. The generated object records the LLVM CPU name and
// features it was compiled for; the runtime checks them before any generated
// code runs.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CPUFEATURES_H
#define LLMC_RUNTIME_CPUFEATURES_H

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace llmc {

/// Whether this CPU has the LLVM feature `name`; nullopt for a feature the
/// runtime cannot detect (those are not checked).
std::optional<bool> hostHasFeature(const std::string &name);

/// The enabled features of `features` ("+a,+b,-c") that `has` says the CPU
/// lacks.
std::vector<std::string> missingFeatures(
    const std::string &features,
    const std::function<std::optional<bool>(const std::string &)> &has =
        hostHasFeature);

/// "" when this CPU can run code compiled for `cpu` with `features`,
/// otherwise a message naming the missing features and how to rebuild.
std::string checkCompiledCPU(const std::string &cpu,
                             const std::string &features);

} // namespace llmc

#endif // LLMC_RUNTIME_CPUFEATURES_H
