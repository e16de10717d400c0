//===- PackedProjection.h - The GPU's view of a packed projection -*- C++ -*-===//

#ifndef LLMC_CODEGEN_NVPTX_PACKEDPROJECTION_H
#define LLMC_CODEGEN_NVPTX_PACKEDPROJECTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <optional>

namespace mlir::llm {

/// A packed projection y[r, nb, lane] += f(a..., w[nb, k, lane]) over the
/// loops (r, nb, lane, k) whose weights w are a view of the weight blob: as
/// convert-llm-to-linalg makes it (one activation a = x[r, k]), or after
/// llm-fuse-gpu-elementwise gave it a prologue (activations indexed by
/// (r, k), (r) or (k), from which f computes the input it multiplies).
struct PackedProjection {
  linalg::GenericOp op;
  /// The weights' input operand number and their view.
  unsigned weightInput;
  memref::ViewOp weights;
  /// The output, [rows, blocks, lanes].
  Value y;
  /// The body's f: the addend of its accumulation `out + f`.
  Value addend;
};

std::optional<PackedProjection> matchPackedProjection(linalg::GenericOp op);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_NVPTX_PACKEDPROJECTION_H
