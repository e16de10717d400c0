//===- TargetRegistry.cpp - Map a triple to its target backend ------------===//
//
// The one place outside the target folders that names targets.
//
//===----------------------------------------------------------------------===//

#include "codegen/Target.h"
#include "codegen/aarch64/AArch64Target.h"
#include "codegen/nvptx/NVPTXTarget.h"
#include "codegen/x86/X86Target.h"

using namespace mlir;
using namespace mlir::llm;

static ArrayRef<const TargetBackend *> backends() {
  static const TargetBackend *const all[] = {
      &getX86Backend(), &getAArch64Backend(), &getNVPTXBackend()};
  return all;
}

const TargetBackend *
mlir::llm::lookupTargetBackend(const llvm::Triple &triple) {
  for (const TargetBackend *backend : backends())
    if (backend->handles(triple))
      return backend;
  return nullptr;
}

const TargetBackend *mlir::llm::lookupTargetBackend(TargetAttr target,
                                                    Operation *op) {
  const TargetBackend *backend =
      lookupTargetBackend(llvm::Triple(target.getTriple()));
  if (!backend)
    op->emitError() << "no llmc backend for target triple '"
                    << target.getTriple()
                    << "' (supported: " << listTargetBackends() << ")";
  return backend;
}

std::string mlir::llm::listTargetBackends() {
  std::string names;
  for (const TargetBackend *backend : backends())
    names += (names.empty() ? "" : ", ") + backend->getName().str();
  return names;
}
