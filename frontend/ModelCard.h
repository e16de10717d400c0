//===- ModelCard.h - YAML model cards ---------------------------*- C++ -*-===//
//
// A model card describes a model's architecture in readable YAML (see
// examples/llama3.2-1b.yaml). It lives in its own library: yaml-cpp throws,
// and this library catches every exception at its boundary.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_MODELCARD_H
#define LLMC_FRONTEND_MODELCARD_H

#include "frontend/ModelSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace llmc {

/// Reads a YAML model card. Errors are one line naming the file and the key
/// path, e.g. "llama.yaml: architecture.attention.kv-heads: expected a
/// positive integer".
llvm::Expected<ModelSpec> loadModelCard(llvm::StringRef path);
/// The same for the contents of a card; `path` names it in errors.
llvm::Expected<ModelSpec> parseModelCardText(llvm::StringRef text,
                                             llvm::StringRef path);

} // namespace llmc

#endif // LLMC_FRONTEND_MODELCARD_H
