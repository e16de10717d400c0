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

#include "codegen/LLMLowering.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::llm;

LogicalResult LLMLowering::lowerAttention(AttentionOp op) {
  Value q = bufferOf(op.getQuery());
  Value k = bufferOf(op.getKey());
  Value v = bufferOf(op.getValue());
  if (!q || !k || !v)
    return failure();
  IntegerAttr layersAttr =
      LLMDialect::NumLayersAttrHelper(module.getContext()).getAttr(module);
  if (!layersAttr)
    return op.emitError("module needs an llm.num_layers attribute to lay out "
                        "the KV cache");
  Location loc = op.getLoc();
  Value rowCount = rows.lookup(op.getQuery());
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim();
  int64_t kvWidth = kvHeads * headDim;
  kvBytesPerPosition = layersAttr.getInt() * 2 * kvWidth * 4;

  // Views of this layer's keys and values.
  auto cacheType = MemRefType::get({ShapedType::kDynamic, kvWidth},
                                   b.getF32Type());
  Value rowBytes = index(loc, kvWidth * 4);
  Value planeBytes = b.create<arith::MulIOp>(loc, abi.capacity, rowBytes);
  Value layerBase = b.create<arith::MulIOp>(
      loc, b.create<arith::MulIOp>(loc, op.getLayer(), index(loc, 2)),
      planeBytes);
  Value keys = b.create<memref::ViewOp>(loc, cacheType, abi.kv, layerBase,
                                        ValueRange{abi.capacity});
  Value values = b.create<memref::ViewOp>(
      loc, cacheType, abi.kv,
      b.create<arith::AddIOp>(loc, layerBase, planeBytes),
      ValueRange{abi.capacity});

  // Append this call's rows at [start, start + rows).
  auto rowsAt = [&](Value cache) -> Value {
    return b.create<memref::SubViewOp>(
        loc, cache, ArrayRef<OpFoldResult>{op.getStart(), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rowCount, b.getIndexAttr(kvWidth)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  };
  copy(loc, k, rowsAt(keys));
  copy(loc, v, rowsAt(values));

  Value out = allocate(loc, rowCount, heads * headDim);
  Value total = b.create<arith::MulIOp>(loc, rowCount, index(loc, heads));
  auto forall = b.create<scf::ForallOp>(
      loc, ArrayRef<OpFoldResult>{total}, ValueRange{}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value iv = forall.getInductionVar(0);
    // Head-major order keeps a worker on few heads, so the causal imbalance
    // between early and late rows averages out.
    Value head = b.create<arith::DivUIOp>(loc, iv, rowCount);
    Value row = b.create<arith::RemUIOp>(loc, iv, rowCount);
    Value kvHead =
        b.create<arith::DivUIOp>(loc, head, index(loc, heads / kvHeads));
    Value qCol = b.create<arith::MulIOp>(loc, head, index(loc, headDim));
    Value kvCol = b.create<arith::MulIOp>(loc, kvHead, index(loc, headDim));
    auto vecType = VectorType::get({headDim}, b.getF32Type());
    Value f0 = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    SmallVector<bool> inBounds = {true};
    Value query = b.create<vector::TransferReadOp>(
        loc, vecType, q, ValueRange{row, qCol}, f0, inBounds);
    Value scale = b.create<arith::ConstantOp>(
        loc, b.getF32FloatAttr(1.0f / std::sqrt(static_cast<float>(headDim))));
    Value queryScaled = b.create<arith::MulFOp>(
        loc, query, b.create<vector::SplatOp>(loc, vecType, scale));
    Value end = b.create<arith::AddIOp>(
        loc, b.create<arith::AddIOp>(loc, op.getStart(), row), index(loc, 1));
    Value negInf = b.create<arith::ConstantOp>(
        loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value zeros = b.create<arith::ConstantOp>(
        loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
    auto score = [&](OpBuilder &nb, Location nloc, Value pos) -> Value {
      Value key = nb.create<vector::TransferReadOp>(
          nloc, vecType, keys, ValueRange{pos, kvCol}, f0, inBounds);
      return nb.create<vector::ReductionOp>(
          nloc, vector::CombiningKind::ADD,
          nb.create<arith::MulFOp>(nloc, queryScaled, key));
    };
    auto valueAt = [&](OpBuilder &nb, Location nloc, Value pos) -> Value {
      return nb.create<vector::TransferReadOp>(
          nloc, vecType, values, ValueRange{pos, kvCol}, f0, inBounds);
    };
    // Whole blocks of kBlock positions: their scores form one vector, so the
    // softmax's exponentials are vector ops and the running maximum and
    // rescaling of the accumulator happen once per block.
    constexpr int64_t kBlock = 8;
    auto blockType = VectorType::get({kBlock}, b.getF32Type());
    Value blockEnd = b.create<arith::SubIOp>(
        loc, end, b.create<arith::RemUIOp>(loc, end, index(loc, kBlock)));
    auto blocks = b.create<scf::ForOp>(
        loc, index(loc, 0), blockEnd, index(loc, kBlock),
        ValueRange{negInf, f0, zeros},
        [&](OpBuilder &nb, Location nloc, Value first, ValueRange carried) {
          SmallVector<Value> scores;
          for (int64_t i = 0; i < kBlock; ++i)
            scores.push_back(score(
                nb, nloc,
                nb.create<arith::AddIOp>(
                    nloc, first, nb.create<arith::ConstantIndexOp>(nloc, i))));
          Value scoreVec =
              nb.create<vector::FromElementsOp>(nloc, blockType, scores);
          Value blockMax = nb.create<vector::ReductionOp>(
              nloc, vector::CombiningKind::MAXIMUMF, scoreVec);
          Value maxNew = nb.create<arith::MaximumFOp>(nloc, carried[0], blockMax);
          Value correction = nb.create<math::ExpOp>(
              nloc, nb.create<arith::SubFOp>(nloc, carried[0], maxNew));
          Value weights = nb.create<math::ExpOp>(
              nloc, nb.create<arith::SubFOp>(
                        nloc, scoreVec,
                        nb.create<vector::SplatOp>(nloc, blockType, maxNew)));
          Value sum = nb.create<arith::AddFOp>(
              nloc, nb.create<arith::MulFOp>(nloc, carried[1], correction),
              nb.create<vector::ReductionOp>(nloc, vector::CombiningKind::ADD,
                                             weights));
          Value acc = nb.create<arith::MulFOp>(
              nloc, carried[2],
              nb.create<vector::SplatOp>(nloc, vecType, correction));
          for (int64_t i = 0; i < kBlock; ++i) {
            Value pos = nb.create<arith::AddIOp>(
                nloc, first, nb.create<arith::ConstantIndexOp>(nloc, i));
            Value weight = nb.create<vector::ExtractOp>(nloc, weights, i);
            acc = nb.create<vector::FMAOp>(
                nloc, valueAt(nb, nloc, pos),
                nb.create<vector::SplatOp>(nloc, vecType, weight), acc);
          }
          nb.create<scf::YieldOp>(nloc, ValueRange{maxNew, sum, acc});
        });
    // The remaining positions one at a time (never reading past `end`: the
    // cache rows beyond it hold no data yet).
    auto loop = b.create<scf::ForOp>(
        loc, blockEnd, end, index(loc, 1), blocks.getResults(),
        [&](OpBuilder &nb, Location nloc, Value pos, ValueRange carried) {
          Value s = score(nb, nloc, pos);
          Value maxNew = nb.create<arith::MaximumFOp>(nloc, carried[0], s);
          Value correction = nb.create<math::ExpOp>(
              nloc, nb.create<arith::SubFOp>(nloc, carried[0], maxNew));
          Value weight = nb.create<math::ExpOp>(
              nloc, nb.create<arith::SubFOp>(nloc, s, maxNew));
          Value sum = nb.create<arith::AddFOp>(
              nloc, nb.create<arith::MulFOp>(nloc, carried[1], correction),
              weight);
          Value acc = nb.create<vector::FMAOp>(
              nloc, valueAt(nb, nloc, pos),
              nb.create<vector::SplatOp>(nloc, vecType, weight),
              nb.create<arith::MulFOp>(
                  nloc, carried[2],
                  nb.create<vector::SplatOp>(nloc, vecType, correction)));
          nb.create<scf::YieldOp>(nloc, ValueRange{maxNew, sum, acc});
        });
    Value norm = b.create<vector::SplatOp>(loc, vecType, loop.getResult(1));
    Value result = b.create<arith::DivFOp>(loc, loop.getResult(2), norm);
    b.create<vector::TransferWriteOp>(loc, result, out, ValueRange{row, qCol},
                                      inBounds);
  }
  define(op, out, rowCount);
  return success();
}
