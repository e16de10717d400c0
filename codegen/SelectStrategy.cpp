//===- SelectStrategy.cpp - Record the target's tiles and layouts ---------===//
//
// The one strategy pass: it looks up the module's target backend and asks it
// for every projection's register tile and packed block, then records them
// as attributes. The depth step (how much of the reduction a tile walks
// before moving on) follows from the tile and the L2 size for every target.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/Target.h"

#include "llvm/Support/Debug.h"
#include "llvm/Support/MathExtras.h"

#include <numeric>

#define DEBUG_TYPE "llm-select-strategy"

namespace mlir::llm {
#define GEN_PASS_DEF_SELECTSTRATEGYPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

/// The largest divisor of `depth` that is a multiple of `multiple` and whose
/// panel (`bytesPerStep` per unit of depth) fits in `budget` bytes; `depth`
/// itself when it fits or has no such divisor.
static int64_t chooseDepthStep(int64_t depth, int64_t budget,
                               int64_t bytesPerStep, int64_t multiple) {
  int64_t limit = budget / bytesPerStep;
  if (depth <= limit)
    return depth;
  for (int64_t step = limit - limit % multiple; step >= multiple;
       step -= multiple)
    if (depth % step == 0)
      return step;
  return depth;
}

/// The inputs' bits under `auto`: 16 (two 8-bit halves) keeps the logits
/// about as close to the reference as f32 inputs do; 8 alone is llama.cpp's
/// precision (measured in docs/performance.md).
static constexpr int64_t kAutoInputBits = 16;

namespace {

struct SelectStrategyPass
    : llm::impl::SelectStrategyPassBase<SelectStrategyPass> {
  using SelectStrategyPassBase::SelectStrategyPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    TargetAttr target = LLMDialect::TargetAttrHelper(context).getAttr(module);
    if (!target) {
      module.emitError("module has no llm.target attribute");
      return signalPassFailure();
    }
    const TargetBackend *backend = lookupTargetBackend(target, module);
    if (!backend)
      return signalPassFailure();
    if (matmulPrecision != "auto" && matmulPrecision != "f32" &&
        matmulPrecision != "bf16" && matmulPrecision != "int8" &&
        matmulPrecision != "int16") {
      module.emitError() << "matmul precision '" << matmulPrecision
                         << "' is not one of auto, f32, bf16, int8, int16";
      return signalPassFailure();
    }
    bool integer = matmulPrecision == "int8" || matmulPrecision == "int16";
    if (integer && backend->getInt8Dot(target) == Int8DotKind::None) {
      module.emitError()
          << "matmul precision " << matmulPrecision
          << " needs an 8-bit dot-product instruction, which CPU '"
          << target.getCpu() << "' (" << backend->getName()
          << ") does not have (x86: AVX2; AArch64: +dotprod, e.g. "
             "--mcpu=cortex-a76)";
      return signalPassFailure();
    }
    if (matmulPrecision == "bf16" && !backend->hasBF16Dot(target)) {
      module.emitError()
          << "matmul precision bf16 needs a bf16 dot-product instruction, "
             "which CPU '"
          << target.getCpu() << "' (" << backend->getName()
          << ") does not have (x86: AVX512-BF16, e.g. --mcpu=znver4)";
      return signalPassFailure();
    }
    bf16Dot = matmulPrecision == "bf16" ||
              (matmulPrecision == "auto" && backend->prefersBF16Dot(target));
    if (integer)
      inputBits = matmulPrecision == "int8" ? 8 : 16;
    else if (matmulPrecision == "auto" &&
             backend->getInt8Dot(target) != Int8DotKind::None)
      inputBits = kAutoInputBits;
    splitOffsets(*backend, target);
    if (failed(annotateLinears(*backend, target)))
      signalPassFailure();
  }

  /// Whether `linear` runs on the 8-bit dot product.
  bool usesInt8Dot(LinearOp linear) {
    auto weight = linear.getWeight().getDefiningOp<WeightOp>();
    ParamOp param = weight ? weight.getParamOp() : ParamOp();
    return inputBits && param && param.isQuantized() &&
           *param.getGroup() % 4 == 0;
  }

  /// A projection's group offsets stay in its kernel where the 8-bit dot
  /// product (or the 2 x 8 matrix product) adds them at each group's end;
  /// elsewhere they become a projection of their own,
  /// `linear(group_sum(x), offsets)`, added to the projection's result.
  void splitOffsets(const TargetBackend &backend, TargetAttr target) {
    SmallVector<LinearOp> split;
    getOperation().walk([&](LinearOp linear) {
      if (!linear.getOffsets())
        return;
      // usesInt8Dot: the weight is a quantized llm.param.
      if (!usesInt8Dot(linear) ||
          linear.getOffsetsGroup() != *linear.getWeight()
                                           .getDefiningOp<WeightOp>()
                                           .getParamOp()
                                           .getGroup())
        split.push_back(linear);
    });
    for (LinearOp linear : split) {
      OpBuilder b(linear);
      Location loc = linear.getLoc();
      Value x = linear.getInput(), offsets = linear.getOffsets();
      auto rows = [&](int64_t cols) {
        return RankedTensorType::get({ShapedType::kDynamic, cols},
                                     b.getF32Type());
      };
      int64_t groups = cast<RankedTensorType>(offsets.getType()).getDimSize(1);
      Value sums = b.create<GroupSumOp>(
          loc, rows(groups), x, b.getI64IntegerAttr(linear.getOffsetsGroup()));
      Value shift = b.create<LinearOp>(loc, linear.getType(), sums, offsets,
                                       Value(), Value());
      Value main =
          b.create<LinearOp>(loc, linear.getType(), x, linear.getWeight(),
                             linear.getRowScale(), Value());
      Value sum = b.create<AddOp>(loc, main, shift);
      linear.replaceAllUsesWith(sum);
      linear.erase();
    }
  }

  /// Records the backend's choice on every `llm.linear` (its
  /// `llm.lowering_config`) and the packed block on its parameter's
  /// `llm.layout`; a parameter shared by several projections (a tied
  /// embedding) keeps the first block chosen. The depth step is the largest
  /// that keeps a tile's weight panel and input rows in half of the L1, so
  /// that every row tile after the first reads the panel from the L1 (in
  /// half of the L2, the panel streamed from the L2 for every row tile:
  /// prefill 512 on Zen 5 went from 170 to 200 tok/s with the L1).
  LogicalResult annotateLinears(const TargetBackend &backend,
                                TargetAttr target) {
    MLIRContext *context = &getContext();
    LLMDialect::LayoutAttrHelper layoutAttr(context);
    LLMDialect::LoweringConfigAttrHelper configAttr(context);
    WalkResult result = getOperation().walk([&](LinearOp linear) {
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      if (!weight) {
        linear.emitError("weight must come from an llm.weight");
        return WalkResult::interrupt();
      }
      ParamOp param = weight.getParamOp();
      RankedTensorType type = param.getTensorType();
      LinearTileChoice choice;
      bool dot = usesInt8Dot(linear);
      if (dot) {
        choice = backend.chooseInt8DotTile(target, param);
        choice.interleave =
            backend.hasInt8Matmul(target) && *param.getGroup() % 8 == 0 ? 8 : 4;
      } else {
        choice = backend.chooseLinearTile(target, param);
        if (bf16Dot && type.getElementType().isBF16() &&
            type.getDimSize(1) % 2 == 0)
          choice.interleave = 2;
      }
      // Group offsets kept in the kernel are stored as its scales are,
      // [rows / block, groups, block].
      if (Value offsets = linear.getOffsets()) {
        ParamOp offsetsParam = offsets.getDefiningOp<WeightOp>().getParamOp();
        PackedLayoutAttr own = offsetsParam.getLayout();
        int64_t block = param.getLayout() && param.getLayout().getBlock()
                            ? *param.getLayout().getBlock()
                            : choice.block;
        if (!own || !own.getBlock())
          layoutAttr.setAttr(offsetsParam,
                             PackedLayoutAttr::get(context, block, std::nullopt,
                                                   std::nullopt, std::nullopt));
      }
      PackedLayoutAttr existing = param.getLayout();
      if (existing && existing.getBlock()) {
        choice.block = *existing.getBlock();
        choice.interleave = existing.getInterleave().value_or(1);
      } else {
        layoutAttr.setAttr(
            param, PackedLayoutAttr::get(
                       context, choice.block,
                       choice.interleave > 1
                           ? std::optional<int64_t>(choice.interleave)
                           : std::nullopt,
                       std::nullopt, std::nullopt));
      }
      // Bytes per column of the depth: the input rows' (rounded to the
      // weight's type when interleaved, to 8 bits for the 8-bit dot
      // product) and the block's.
      int64_t elementBits = type.getElementTypeBitWidth();
      int64_t inputBytes = choice.interleave >= 4   ? 1
                           : choice.interleave == 2 ? elementBits / 8
                                                    : 4;
      // A quantized weight's steps hold whole groups.
      int64_t multiple = std::lcm<int64_t>(8, param.getGroup().value_or(8));
      int64_t step = chooseDepthStep(
          type.getDimSize(1), target.getL1Bytes() / 2,
          choice.rows * inputBytes +
              llvm::divideCeil(choice.block * elementBits, 8),
          multiple);
      std::optional<int64_t> lanes;
      if (choice.scalableLanes > 0 && choice.block % choice.scalableLanes == 0)
        lanes = choice.scalableLanes;
      configAttr.setAttr(
          linear, LoweringConfigAttr::get(
                      context, {choice.rows, choice.block, step}, lanes,
                      dot ? std::optional<int64_t>(inputBits) : std::nullopt));
      LLVM_DEBUG(llvm::dbgs()
                 << param.getSymName() << ": tile " << choice.rows << "x"
                 << choice.block << ", depth step " << step << ", interleave "
                 << choice.interleave << "\n");
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

  /// Whether bf16 projections round their inputs and use the dot product.
  bool bf16Dot = false;
  /// When nonzero, quantized projections quantize their inputs to this many
  /// bits per group and use the 8-bit dot product.
  int64_t inputBits = 0;
};

} // namespace
