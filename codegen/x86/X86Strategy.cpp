//===- X86Strategy.cpp - Tile and layout choices for x86-64 ---------------===//
//
// One 512-bit register holds 16 f32 lanes. A packed block of 2 registers (32
// output columns) times 6 rows uses 12 accumulators, leaving room for the
// weight vectors and the broadcast input among AVX-512's 32 registers; with
// 16 registers (AVX2) 4 rows of 2 vectors fit.
//
//===----------------------------------------------------------------------===//

#include "codegen/Strategy.h"

namespace mlir::llm {
#define GEN_PASS_DEF_X86STRATEGYPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

struct X86StrategyPass : llm::impl::X86StrategyPassBase<X86StrategyPass> {
  void runOnOperation() override {
    FailureOr<TargetDesc> target = getModuleTarget(getOperation());
    if (failed(target))
      return signalPassFailure();
    int64_t lanes = target->vectorBits / 32;
    int64_t rows = target->vectorRegisters >= 32 ? 6 : 4;
    auto choose = [&](ParamOp param) {
      int64_t outputs = param.getTensorType().getDimSize(0);
      // Two registers per block unless the matrix is too narrow to fill them.
      LinearTileChoice choice;
      choice.rows = rows;
      choice.block = outputs >= 2 * lanes ? 2 * lanes : lanes;
      return choice;
    };
    if (failed(annotateLinears(getOperation(), *target, choose)))
      signalPassFailure();
  }
};

} // namespace
