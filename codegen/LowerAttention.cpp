//===- LowerAttention.cpp - KV cache append and causal GQA attention ------===//
//
// Cache layout (f32): for each layer, `capacity` rows of keys, then
// `capacity` rows of values, each row num_kv_heads * head_dim wide.
//
// Each (head, query row) pair is one iteration of an `scf.forall` whose body
// streams over the cached positions with an online softmax, one head's
// vectors held in registers (flash-decoding without the split), eight
// positions at a time so the exponentials are vector operations.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Positions scored together: their exponentials are one vector operation.
constexpr int64_t kBlock = 8;

/// The running state of an online softmax over the positions seen so far:
/// the largest score, the sum of exp(score - max), and the values weighted
/// by exp(score - max).
struct SoftmaxState {
  Value max, sum, acc;

  SmallVector<Value> values() const { return {max, sum, acc}; }
};

/// Folds the `scores` of n consecutive positions (a vector<n x f32>) into
/// `state`: the maximum moves, the old sum and accumulator are rescaled once,
/// and `valueAt(i)` (the value vector of the i-th position) is added with
/// its weight.
SoftmaxState
foldScores(OpBuilder &b, Location loc, SoftmaxState state, Value scores,
           function_ref<Value(OpBuilder &, Location, int64_t)> valueAt) {
  auto scoresType = cast<VectorType>(scores.getType());
  auto accType = cast<VectorType>(state.acc.getType());
  Value blockMax = b.create<vector::ReductionOp>(
      loc, vector::CombiningKind::MAXIMUMF, scores);
  Value max = b.create<arith::MaximumFOp>(loc, state.max, blockMax);
  Value correction =
      b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, state.max, max));
  Value weights = b.create<math::ExpOp>(
      loc, b.create<arith::SubFOp>(
               loc, scores, b.create<vector::SplatOp>(loc, scoresType, max)));
  Value sum = b.create<arith::AddFOp>(
      loc, b.create<arith::MulFOp>(loc, state.sum, correction),
      b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, weights));
  Value acc = b.create<arith::MulFOp>(
      loc, state.acc, b.create<vector::SplatOp>(loc, accType, correction));
  for (int64_t i = 0; i < scoresType.getDimSize(0); ++i) {
    Value weight = b.create<vector::ExtractOp>(loc, weights, i);
    acc = b.create<vector::FMAOp>(
        loc, valueAt(b, loc, i),
        b.create<vector::SplatOp>(loc, accType, weight), acc);
  }
  return {max, sum, acc};
}

/// Appends this call's keys and values to the layer's cache, then computes
/// causal grouped-query attention: each (head, query row) pair is one
/// iteration of an `scf.forall` whose body streams over the cached positions
/// with an online softmax, one head's vectors held in registers
/// (flash-decoding without the split), kBlock positions at a time.
struct AttentionLowering : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<ABIArguments> abi = ABIArguments::of(op);
    if (failed(abi))
      return failure();
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value q = adaptor.getQuery(), k = adaptor.getKey(), v = adaptor.getValue();
    Value start = adaptor.getStart();
    Value rowCount = b.create<memref::DimOp>(loc, q, 0);
    int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
            headDim = op.getHeadDim();
    int64_t kvWidth = kvHeads * headDim;
    auto cidx = [&](OpBuilder &nb, Location nloc, int64_t value) -> Value {
      return nb.create<arith::ConstantIndexOp>(nloc, value);
    };

    // Views of this layer's keys and values: for each layer, `capacity`
    // rows of keys, then `capacity` rows of values (kvBytesPerPosition).
    auto cacheType =
        MemRefType::get({ShapedType::kDynamic, kvWidth}, b.getF32Type());
    Value planeBytes =
        b.create<arith::MulIOp>(loc, abi->capacity, cidx(b, loc, kvWidth * 4));
    Value layerBase = b.create<arith::MulIOp>(
        loc, b.create<arith::MulIOp>(loc, adaptor.getLayer(), cidx(b, loc, 2)),
        planeBytes);
    Value kv = adaptor.getCache();
    Value keys = b.create<memref::ViewOp>(loc, cacheType, kv, layerBase,
                                          ValueRange{abi->capacity});
    Value values = b.create<memref::ViewOp>(
        loc, cacheType, kv, b.create<arith::AddIOp>(loc, layerBase, planeBytes),
        ValueRange{abi->capacity});

    // Append this call's rows at [start, start + rows).
    auto rowsAt = [&](Value cache) -> Value {
      return b.create<memref::SubViewOp>(
          loc, cache, ArrayRef<OpFoldResult>{start, b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{rowCount, b.getIndexAttr(kvWidth)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    };
    b.create<linalg::CopyOp>(loc, k, rowsAt(keys));
    b.create<linalg::CopyOp>(loc, v, rowsAt(values));

    Value out = b.create<memref::AllocOp>(
        loc,
        MemRefType::get({ShapedType::kDynamic, heads * headDim},
                        b.getF32Type()),
        ValueRange{rowCount});
    Value total = b.create<arith::MulIOp>(loc, rowCount, cidx(b, loc, heads));
    auto forall = b.create<scf::ForallOp>(loc, ArrayRef<OpFoldResult>{total},
                                          ValueRange{}, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value iv = forall.getInductionVar(0);
    // Head-major order keeps a worker on few heads, so the causal imbalance
    // between early and late rows averages out.
    Value head = b.create<arith::DivUIOp>(loc, iv, rowCount);
    Value row = b.create<arith::RemUIOp>(loc, iv, rowCount);
    Value kvHead =
        b.create<arith::DivUIOp>(loc, head, cidx(b, loc, heads / kvHeads));
    Value qCol = b.create<arith::MulIOp>(loc, head, cidx(b, loc, headDim));
    Value kvCol = b.create<arith::MulIOp>(loc, kvHead, cidx(b, loc, headDim));
    auto vecType = VectorType::get({headDim}, b.getF32Type());
    Value f0 = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    SmallVector<bool> inBounds = {true};
    auto rowVector = [&](OpBuilder &nb, Location nloc, Value buffer, Value r,
                         Value col) -> Value {
      return nb.create<vector::TransferReadOp>(
          nloc, vecType, buffer, ValueRange{r, col}, f0, inBounds);
    };
    Value scale = b.create<arith::ConstantOp>(
        loc, b.getF32FloatAttr(1.0f / std::sqrt(static_cast<float>(headDim))));
    Value query =
        b.create<arith::MulFOp>(loc, rowVector(b, loc, q, row, qCol),
                                b.create<vector::SplatOp>(loc, vecType, scale));
    Value end = b.create<arith::AddIOp>(
        loc, b.create<arith::AddIOp>(loc, start, row), cidx(b, loc, 1));
    auto score = [&](OpBuilder &nb, Location nloc, Value pos) -> Value {
      return nb.create<vector::ReductionOp>(
          nloc, vector::CombiningKind::ADD,
          nb.create<arith::MulFOp>(nloc, query,
                                   rowVector(nb, nloc, keys, pos, kvCol)));
    };
    // The scores of positions [first, first + n) as one vector, and the
    // value of the i-th of them.
    auto foldPositions = [&](OpBuilder &nb, Location nloc, Value first,
                             int64_t n, ValueRange carried) {
      auto position = [&](OpBuilder &pb, Location ploc, int64_t i) -> Value {
        return pb.create<arith::AddIOp>(ploc, first, cidx(pb, ploc, i));
      };
      SmallVector<Value> scores;
      for (int64_t i = 0; i < n; ++i)
        scores.push_back(score(nb, nloc, position(nb, nloc, i)));
      Value scoreVec = nb.create<vector::FromElementsOp>(
          nloc, VectorType::get({n}, nb.getF32Type()), scores);
      SoftmaxState state{carried[0], carried[1], carried[2]};
      state = foldScores(nb, nloc, state, scoreVec,
                         [&](OpBuilder &vb, Location vloc, int64_t i) {
                           return rowVector(vb, vloc, values,
                                            position(vb, vloc, i), kvCol);
                         });
      nb.create<scf::YieldOp>(nloc, state.values());
    };

    Value negInf = b.create<arith::ConstantOp>(
        loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value zeros = b.create<arith::ConstantOp>(
        loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
    // Whole blocks of kBlock positions, then the rest one at a time (never
    // reading past `end`: the cache rows beyond it hold no data yet).
    Value blockEnd = b.create<arith::SubIOp>(
        loc, end, b.create<arith::RemUIOp>(loc, end, cidx(b, loc, kBlock)));
    auto blocks = b.create<scf::ForOp>(
        loc, cidx(b, loc, 0), blockEnd, cidx(b, loc, kBlock),
        ValueRange{negInf, f0, zeros},
        [&](OpBuilder &nb, Location nloc, Value first, ValueRange carried) {
          foldPositions(nb, nloc, first, kBlock, carried);
        });
    auto tail = b.create<scf::ForOp>(
        loc, blockEnd, end, cidx(b, loc, 1), blocks.getResults(),
        [&](OpBuilder &nb, Location nloc, Value pos, ValueRange carried) {
          foldPositions(nb, nloc, pos, 1, carried);
        });
    Value norm = b.create<vector::SplatOp>(loc, vecType, tail.getResult(1));
    Value result = b.create<arith::DivFOp>(loc, tail.getResult(2), norm);
    b.create<vector::TransferWriteOp>(loc, result, out, ValueRange{row, qCol},
                                      inBounds);
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::llm::populateLLMAttentionToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<AttentionLowering>(patterns.getContext());
}
