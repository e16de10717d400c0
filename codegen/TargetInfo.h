//===- TargetInfo.h - What codegen needs to know about a target --*- C++ -*-===//
//
// The target is chosen once, by the driver, and stored on the module as the
// `llm.target` dictionary attribute. Strategy passes and the object emitter
// read it back through `TargetDesc`; nothing else looks at the triple.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_TARGETINFO_H
#define LLMC_CODEGEN_TARGETINFO_H

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir::llm {

struct TargetDesc {
  std::string triple;
  std::string cpu;
  /// LLVM feature string, e.g. "+avx512f,+avx512bf16".
  std::string features;
  /// Widest vector register the generated code should use; with scalable
  /// vectors, the minimum (the hardware may be wider).
  int64_t vectorBits = 128;
  /// Vector-length agnostic code (AArch64 SVE): lanes scale with vscale.
  bool scalable = false;
  /// Number of architectural vector registers.
  int64_t vectorRegisters = 16;
  int64_t l1Bytes = 32 * 1024;
  int64_t l2Bytes = 1024 * 1024;

  DictionaryAttr toAttr(MLIRContext *context) const;
  /// Reads the attribute back; fails if a field is missing (`scalable` is
  /// optional, false by default).
  static llvm::Expected<TargetDesc> fromAttr(DictionaryAttr attr);
};

/// Resolves `triple`, `cpu` and `features` (empty = the host) into a full
/// description with vector width, register count and cache sizes. Errors on
/// a target llmc has no backend for.
llvm::Expected<TargetDesc> describeTarget(llvm::StringRef triple,
                                          llvm::StringRef cpu,
                                          llvm::StringRef features);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_TARGETINFO_H
