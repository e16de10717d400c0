//===- EstimateCosts.cpp - What each kernel reads and computes ------------===//
//
// Records, for every kernel name the CPU lowering will give (the module
// names of an op's location, as llm-outline-kernels names kernels), what the
// llm ops of that name cost: FLOPs and bytes per row of the forward call,
// bytes per call (the weights), and for attention FLOPs and bytes per
// (query row, cached position) pair. The executable's --profile turns its
// kernel times into GB/s and GFLOP/s with these numbers, and the module
// attribute shows them to anyone reading the IR.
//
// The numbers are what the model asks for, not what the caches make of it:
// bytes are the weights' packed bytes plus the f32 activations read and
// written once per row; elementwise ops count one FLOP per element (two for
// RoPE's rotation, five for SiLU).
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <deque>

namespace mlir::llm {
#define GEN_PASS_DEF_ESTIMATECOSTSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// What one kernel name's ops cost.
struct Cost {
  int64_t flopsPerRow = 0, bytesPerRow = 0, bytesPerCall = 0;
  int64_t flopsPerPair = 0, bytesPerPair = 0;
  /// The rows are the call's output rows (after llm.last_rows: the lm_head),
  /// not its tokens.
  bool perOutputRow = false;
  /// A projection on the CPU's 8-bit dot product (quantized weights packed
  /// in groups of 4 or 8 columns): its FLOPs are the int8 dot's, against
  /// that peak, in this many passes (2 for 16-bit inputs, two 8-bit limbs;
  /// 0: not on the dot product).
  int64_t int8Passes = 0;
  /// A projection on the CPU's bf16 dot product (bf16 weights interleaved
  /// by pairs): its FLOPs are against that peak, not the f32 FMA's.
  bool bf16Dot = false;

  Cost &operator+=(const Cost &other) {
    flopsPerRow += other.flopsPerRow;
    bytesPerRow += other.bytesPerRow;
    bytesPerCall += other.bytesPerCall;
    flopsPerPair += other.flopsPerPair;
    bytesPerPair += other.bytesPerPair;
    perOutputRow |= other.perOutputRow;
    int8Passes = std::max(int8Passes, other.int8Passes);
    bf16Dot |= other.bf16Dot;
    return *this;
  }
};

/// Features per row of an activation [rows, features].
int64_t width(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  return type.getRank() == 2 ? type.getDimSize(1) : 1;
}

int64_t elementBytes(Value v) {
  return (cast<ShapedType>(v.getType()).getElementTypeBitWidth() + 7) / 8;
}

/// One layer's packed bytes of a weight operand.
int64_t weightBytes(Value weight) {
  if (auto read = weight.getDefiningOp<WeightOp>())
    if (ParamOp param = read.getParamOp())
      return paramLayerBytes(param);
  auto type = cast<RankedTensorType>(weight.getType());
  return (type.getNumElements() * type.getElementTypeBitWidth() + 7) / 8;
}

/// The cost of `op`, or nothing for ops that are not kernels of their own.
std::optional<Cost> costOf(Operation *op, Type kvElement) {
  // Bytes of the f32 activations an op reads and writes per row.
  auto activationBytes = [&]() {
    int64_t bytes = 0;
    for (Value v : op->getOperands())
      if (isa<RankedTensorType>(v.getType()) && !v.getDefiningOp<WeightOp>())
        bytes += width(v) * elementBytes(v);
    for (Value v : op->getResults())
      bytes += width(v) * elementBytes(v);
    return bytes;
  };
  Cost cost;
  if (auto linear = dyn_cast<LinearOp>(op)) {
    int64_t in = width(linear.getInput()), out = width(linear.getResult());
    cost.flopsPerRow = 2 * in * out;
    cost.bytesPerCall = weightBytes(linear.getWeight());
    cost.bytesPerRow = (in + out) * 4;
    // Group offsets: one product per group and output.
    if (Value offsets = linear.getOffsets()) {
      cost.bytesPerCall += weightBytes(offsets);
      cost.flopsPerRow += 2 * out * (in / linear.getOffsetsGroup());
    }
    if (auto read = linear.getWeight().getDefiningOp<WeightOp>())
      if (ParamOp param = read.getParamOp())
        if (param.isQuantized() && param.getInterleave() >= 4) {
          LoweringConfigAttr config =
              LLMDialect::LoweringConfigAttrHelper(op->getContext())
                  .getAttr(linear);
          cost.int8Passes =
              config && config.getInputBits().value_or(8) == 16 ? 2 : 1;
        } else if (!param.isQuantized() && param.getInterleave() == 2) {
          cost.bf16Dot = true;
        }
    return cost;
  }
  if (auto embedding = dyn_cast<EmbeddingOp>(op)) {
    // The id, one row of the table (with its scales when quantized), the
    // f32 row out.
    Value table = embedding.getTable();
    int64_t hidden = width(embedding.getResult());
    int64_t rowBytes =
        (hidden * cast<ShapedType>(table.getType()).getElementTypeBitWidth() +
         7) /
        8;
    if (auto read = table.getDefiningOp<WeightOp>())
      if (ParamOp param = read.getParamOp())
        if (std::optional<int64_t> group = param.getGroup())
          rowBytes += hidden / *group * 2 * (param.getAsymmetric() ? 2 : 1);
    cost.bytesPerRow = 4 + rowBytes + hidden * 4;
    return cost;
  }
  if (auto norm = dyn_cast<RMSNormOp>(op)) {
    cost.flopsPerRow = 4 * width(norm.getInput());
    cost.bytesPerRow = activationBytes();
    cost.bytesPerCall = weightBytes(norm.getWeight());
    return cost;
  }
  if (auto sums = dyn_cast<GroupSumOp>(op)) {
    cost.flopsPerRow = width(sums.getInput());
    cost.bytesPerRow = activationBytes();
    return cost;
  }
  if (auto inv = dyn_cast<RMSInvOp>(op)) {
    cost.flopsPerRow = 2 * width(inv.getInput());
    cost.bytesPerRow = activationBytes();
    return cost;
  }
  if (auto rope = dyn_cast<RoPEOp>(op)) {
    cost.flopsPerRow = 3 * width(rope.getInput());
    cost.bytesPerRow = activationBytes();
    return cost;
  }
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    int64_t headDim = attention.getHeadDim();
    int64_t kvWidth = attention.getNumKvHeads() * headDim;
    int64_t kvBytes = (kvElement.getIntOrFloatBitWidth() + 7) / 8;
    // Per row: the query in, the output out, the new key and value row
    // written to the cache.
    cost.bytesPerRow = activationBytes() + 2 * kvWidth * kvBytes;
    // Per (row, cached position): q.k and p.v for every query head; the
    // position's key and value rows read.
    cost.flopsPerPair = 4 * attention.getNumHeads() * headDim;
    cost.bytesPerPair = 2 * kvWidth * kvBytes;
    return cost;
  }
  if (isa<AddOp, MulOp, SiLUOp, SwiGLUOp>(op)) {
    int64_t elements = width(op->getResult(0));
    cost.flopsPerRow = isa<SiLUOp>(op)     ? 5 * elements
                       : isa<SwiGLUOp>(op) ? 6 * elements
                                           : elements;
    cost.bytesPerRow = activationBytes();
    return cost;
  }
  return std::nullopt;
}

struct EstimateCostsPass
    : llm::impl::EstimateCostsPassBase<EstimateCostsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Type kvElement = kvCacheElementType(module);
    llvm::MapVector<StringRef, Cost> costs;
    // Owns the names costs refers to.
    std::deque<std::string> names;
    // The function each module's costs come from.
    llvm::StringMap<Operation *> owners;
    // Values whose rows are the call's output rows.
    DenseSet<Value> outputRows;
    module.walk([&](Operation *op) {
      if (!isa<LLMDialect>(op->getDialect()))
        return;
      bool perOutputRow = isa<LastRowsOp>(op) ||
                          llvm::any_of(op->getOperands(), [&](Value v) {
                            return outputRows.contains(v);
                          });
      if (perOutputRow)
        outputRows.insert(op->result_begin(), op->result_end());
      std::optional<Cost> cost = costOf(op, kvElement);
      std::string name = kernelNameOf(op->getLoc());
      if (!cost || name.empty())
        return;
      cost->perOutputRow = perOutputRow && !isa<AttentionOp>(op);
      // A module computed in several layer functions (layers whose weights
      // differ in type have one each) costs what one of them does per call.
      Operation *func = op->getParentOfType<func::FuncOp>();
      if (owners.try_emplace(name, func).first->second != func)
        return;
      auto it = costs.find(name);
      if (it == costs.end())
        it = costs.insert({names.emplace_back(std::move(name)), Cost()}).first;
      it->second += *cost;
    });

    MLIRContext *context = &getContext();
    Builder b(context);
    SmallVector<NamedAttribute> entries;
    for (const auto &[name, cost] : costs) {
      SmallVector<NamedAttribute> fields;
      auto add = [&](StringRef field, int64_t value) {
        if (value)
          fields.push_back(b.getNamedAttr(field, b.getI64IntegerAttr(value)));
      };
      add("bytes_per_call", cost.bytesPerCall);
      add("bytes_per_pair", cost.bytesPerPair);
      add("bytes_per_row", cost.bytesPerRow);
      add("flops_per_pair", cost.flopsPerPair);
      add("flops_per_row", cost.flopsPerRow);
      add("int8_dot", cost.int8Passes);
      add("bf16_dot", cost.bf16Dot ? 1 : 0);
      if (cost.perOutputRow)
        fields.push_back(b.getNamedAttr("rows", b.getStringAttr("outputs")));
      entries.push_back(
          b.getNamedAttr(name, b.getDictionaryAttr(fields)));
    }
    LLMDialect::CostsAttrHelper(context).setAttr(module,
                                                b.getDictionaryAttr(entries));
  }
};

} // namespace
