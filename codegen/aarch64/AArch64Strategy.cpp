//===- AArch64Strategy.cpp - Tile and layout choices for AArch64 ----------===//
//
// NEON has 32 128-bit registers (4 f32 lanes). A block of 4 registers (16
// output columns) times 6 rows is 24 accumulators, plus 4 weight vectors and
// the input, which fits. With SVE the code is vector-length agnostic: the
// packed block stays 16 columns (the weight file must not depend on the
// machine), and a tile walks it in chunks of 4 x vscale lanes, so one chunk
// covers it on 512-bit hardware and four on 128-bit hardware.
//
//===----------------------------------------------------------------------===//

#include "codegen/Strategy.h"

namespace mlir::llm {
#define GEN_PASS_DEF_AARCH64STRATEGYPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

struct AArch64StrategyPass
    : llm::impl::AArch64StrategyPassBase<AArch64StrategyPass> {
  void runOnOperation() override {
    FailureOr<TargetDesc> target = getModuleTarget(getOperation());
    if (failed(target))
      return signalPassFailure();
    int64_t lanes = target->vectorBits / 32;
    auto choose = [&](ParamOp param) {
      int64_t outputs = param.getTensorType().getDimSize(0);
      LinearTileChoice choice;
      choice.block = outputs >= 4 * lanes ? 4 * lanes : lanes;
      // With SVE's chunks the accumulators of one chunk are live at a time.
      choice.rows = target->scalable ? 8 : 6;
      if (target->scalable)
        choice.scalableLanes = lanes;
      return choice;
    };
    if (failed(annotateLinears(getOperation(), *target, choose)))
      signalPassFailure();
  }
};

} // namespace
