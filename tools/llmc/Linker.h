//===- Linker.h - Link generated objects with the runtime ---------*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMC_LINKER_H
#define LLMC_TOOLS_LLMC_LINKER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace llmc {

/// Links `object`, compiled for `triple`, with the runtime libraries for
/// that target into the executable `output`.
///
/// The runtime libraries (libllmc_runtime_main.a, libllmc_runtime.a) are
/// looked up under <lib>: $LLMC_RUNTIME_DIR, or ../lib next to the running
/// llmc (`argv0`).
///  - The host (empty `triple`, or the host's architecture on Linux): the
///    runtime in <lib>, linked dynamically by $LLMC_CXX, or c++.
///  - AArch64 Linux (e.g. aarch64-unknown-linux-gnu): the runtime in
///    <lib>/aarch64-linux-gnu, linked statically (-static, so the executable
///    runs on a board or under qemu-aarch64 with nothing else installed) by
///    $LLMC_CXX_AARCH64, or aarch64-linux-gnu-g++.
/// Any other triple, a missing driver or a missing runtime is an error that
/// says what to install.
llvm::Error linkExecutable(llvm::StringRef object, llvm::StringRef output,
                           llvm::StringRef triple, const char *argv0);

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_LINKER_H
