//===- Linker.h - Link generated objects with the runtime ---------*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMC_LINKER_H
#define LLMC_TOOLS_LLMC_LINKER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace llmc {

/// Links `object` with the host runtime libraries into the
/// executable `output`, using the system C++ compiler driver ($LLMC_CXX, or
/// c++). The runtime is looked up in $LLMC_RUNTIME_DIR, or ../lib next to
/// the running llmc.
llvm::Error linkExecutable(llvm::StringRef object, llvm::StringRef output,
                           const char *argv0);

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_LINKER_H
