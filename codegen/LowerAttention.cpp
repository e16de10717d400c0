//===- LowerAttention.cpp - KV cache append and causal GQA attention ------===//
//
// Cache layout (f32, or bf16 with the module's `llm.kv_cache_type`: rounded
// when appended, widened to f32 when read), for each layer: the keys, then
// the values. On a CPU each KV head's are contiguous: its keys in blocks of
// 16 positions,
// [num_kv_heads, capacity / 16, head_dim, 16] (the runtime's capacity is a
// multiple of 16), so that 16 positions' scores are 16 lanes of one vector
// FMA per head dimension, and its values as rows, [num_kv_heads, capacity,
// head_dim]; a head's scan reads two sequential streams. (Transposed over
// the whole capacity, a block read 64 rows 16 KiB apart, and prefill 2048
// was slower than with rows; with all heads' blocks interleaved, a head's
// next block was 32 KiB on, a page the prefetcher does not follow into.)
// On a GPU (one thread per head, row and split) keys and values are
// `capacity` rows num_kv_heads * head_dim wide.
//
// On a CPU each iteration of an `scf.forall` is a group of heads sharing a
// KV head and a tile of up to 16 query rows. A tile of several rows
// (prefill) is flash attention on small matrix products: 64 positions at a
// time, the scores of as many rows per pass over the step's keys as the
// registers hold, each (row, head) line's online softmax in vectors, then
// each row's weighted values; the lines' states wait in stack buffers
// between steps, so a step's keys and values come from memory once per tile
// and stay in the L1 for its rows (the 1B model's attention at 2048
// positions on Zen 5, `--profile`: prefill 794-798 against 1532-1538 ms,
// 60% instead of 29-32% of the FMA peak). A
// single row (decode) streams over the cached positions with an online
// softmax, its heads' vectors held in registers (flash-decoding without
// the split), two blocks of 16 per step: the step's maximum, sum,
// correction and rescale are once per 32 positions (four blocks per step
// were no faster than two). On a GPU each (head, row, split) is a thread
// (flash-decoding), the splits combined by a second loop.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"
#include "runtime/abi/ModelABI.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Positions scored together: their exponentials are one vector operation.
constexpr int64_t kBlock = 8;
/// Positions scored together from blocked keys (CPU): one 512-bit vector,
/// and the block of the keys' layout.
constexpr int64_t kWideBlock = LLMC_KV_CAPACITY_MULTIPLE;
/// Blocks of positions one online-softmax step folds in (CPU).
constexpr int64_t kFoldBlocks = 2;
/// Independent FMA chains over the head dimension for those scores.
constexpr int64_t kChains = 4;
/// Blocks ahead of the scan that the CPU scan prefetches. Each block of keys
/// is a 4 KiB page of its own (and a block of values another), which the
/// hardware prefetchers do not enter; without software prefetches the scan
/// waited on memory a line at a time, at ~8 GB/s per core.
constexpr int64_t kPrefetchBlocks = 2;
/// Query rows of a prefill one CPU iteration computes together, and the
/// positions of one step of theirs: a step's keys and values come from
/// memory once for the tile and stay in the L1 for its rows, whose scores
/// and weighted values are small matrix products. One row at a time (each
/// row streaming over the cache with its heads' states in registers, as
/// decode does), attention at 2048 positions ran at 29% of the FMA peak on
/// Zen 5, bound by the softmax's serial steps between the products. On Zen
/// 5 at 2048 positions (`--profile`, alternating): tiles of 16 rows took
/// 10% less time than tiles of 8 (32 rows: no better than 16); steps of 64
/// positions 10% less than steps of 32.
constexpr int64_t kRowTile = 16;
constexpr int64_t kStep = 4 * kWideBlock;
/// Most splits of a single row's positions on a CPU (flash-decoding): 16
/// keep 128 threads busy with 8 KV heads.
constexpr int64_t kMaxSplits = 16;
/// Splits of the positions on a GPU (flash-decoding).
constexpr int64_t kSplits = 32;

/// Reads `width` elements of the cache at `indices` as f32 (a bf16 cache is
/// widened after the load).
Value readCacheVector(OpBuilder &b, Location loc, Value cache,
                      ValueRange indices, int64_t width) {
  Type element = cast<MemRefType>(cache.getType()).getElementType();
  Value pad = b.create<arith::ConstantOp>(loc, b.getZeroAttr(element));
  Value read = b.create<vector::TransferReadOp>(
      loc, VectorType::get({width}, element), cache, indices, pad,
      ArrayRef<bool>{true});
  if (element.isF32())
    return read;
  return b.create<arith::ExtFOp>(
      loc, VectorType::get({width}, b.getF32Type()), read);
}

/// `value` (f32, a scalar or a vector) in the cache's element type.
Value toCacheElement(OpBuilder &b, Location loc, Value value, Type element) {
  if (element.isF32())
    return value;
  Type type = element;
  if (auto vector = dyn_cast<VectorType>(value.getType()))
    type = VectorType::get(vector.getShape(), element);
  return b.create<arith::TruncFOp>(loc, type, value);
}

/// The running state of an online softmax over the positions seen so far:
/// the largest score, the sum of exp(score - max), and the values weighted
/// by exp(score - max).
struct SoftmaxState {
  Value max, sum, acc;

  SmallVector<Value> values() const { return {max, sum, acc}; }
};

/// One online-softmax step over a vector of `scores` from the running
/// maximum `oldMax` and sum `oldSum`: the new maximum, the correction
/// exp(oldMax - max) of what came before, the weights exp(scores - max) and
/// the new sum.
struct SoftmaxStep {
  Value max, correction, weights, sum;
};

SoftmaxStep softmaxStep(OpBuilder &b, Location loc, Value oldMax,
                        Value oldSum, Value scores) {
  // No NaN reaches the scores (masked ones are -inf), so the maxima skip
  // IEEE maximum's NaN and signed-zero checks.
  auto nnan = arith::FastMathFlags::nnan;
  Value max = b.create<arith::MaxNumFOp>(
      loc, oldMax,
      b.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXNUMF,
                                    scores, nnan),
      nnan);
  Value correction =
      b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, oldMax, max));
  Value weights = b.create<math::ExpOp>(
      loc, b.create<arith::SubFOp>(
               loc, scores,
               b.create<vector::SplatOp>(loc, scores.getType(), max)));
  Value sum = b.create<arith::AddFOp>(
      loc, b.create<arith::MulFOp>(loc, oldSum, correction),
      b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, weights,
                                    arith::FastMathFlags::reassoc));
  return {max, correction, weights, sum};
}

/// Folds the `scores` of n consecutive positions (a vector<n x f32> per
/// head of a group sharing the values) into each head's `states`: the
/// maximum moves, the old sum and accumulator are rescaled once, and
/// `valueAt(i)` (the value vector of the i-th position, read once for the
/// group) is added with each head's weight. With `count`, only the first
/// `count` positions are real (the others' scores must be -inf, and their
/// values are not read).
SmallVector<SoftmaxState>
foldScores(OpBuilder &b, Location loc, ArrayRef<SoftmaxState> states,
           ArrayRef<Value> scores,
           function_ref<Value(OpBuilder &, Location, Value)> valueAt,
           Value count = Value()) {
  auto scoresType = cast<VectorType>(scores[0].getType());
  auto accType = cast<VectorType>(states[0].acc.getType());
  SmallVector<SoftmaxState> next;
  SmallVector<Value> weights;
  for (auto [state, headScores] : llvm::zip_equal(states, scores)) {
    SoftmaxStep step =
        softmaxStep(b, loc, state.max, state.sum, headScores);
    Value max = step.max, sum = step.sum, correction = step.correction;
    Value weight = step.weights;
    Value acc = b.create<arith::MulFOp>(
        loc, state.acc, b.create<vector::SplatOp>(loc, accType, correction));
    next.push_back({max, sum, acc});
    weights.push_back(weight);
  }
  // acc_h += weight_h[i] * value(i) for every head h.
  auto addPosition = [&](OpBuilder &nb, Location nloc, Value i,
                         ValueRange accs) {
    Value value = valueAt(nb, nloc, i);
    SmallVector<Value> out;
    for (auto [weight, acc] : llvm::zip_equal(weights, accs))
      out.push_back(nb.create<vector::FMAOp>(
          nloc, value,
          nb.create<vector::SplatOp>(
              nloc, accType,
              nb.create<vector::ExtractElementOp>(nloc, weight, i)),
          acc));
    return out;
  };
  SmallVector<Value> accs;
  for (const SoftmaxState &state : next)
    accs.push_back(state.acc);
  if (count) {
    Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
    Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
    auto loop = b.create<scf::ForOp>(
        loc, c0, count, c1, accs,
        [&](OpBuilder &nb, Location nloc, Value i, ValueRange carried) {
          nb.create<scf::YieldOp>(nloc, addPosition(nb, nloc, i, carried));
        });
    accs = loop.getResults();
  } else {
    for (int64_t i = 0; i < scoresType.getDimSize(0); ++i)
      accs = addPosition(b, loc, b.create<arith::ConstantIndexOp>(loc, i),
                         accs);
  }
  for (auto [state, acc] : llvm::zip_equal(next, accs))
    state.acc = acc;
  return next;
}

/// Prefetches every 64-byte line of the keys and values of the block
/// kPrefetchBlocks ahead of position `p0` (past the end they fetch lines of
/// the cache nobody reads, and never fault).
void prefetchAhead(OpBuilder &b, Location loc, Value keys, Value values,
                   Value kvHead, Value p0, int64_t headDim) {
  auto cidx = [&](int64_t value) -> Value {
    return b.create<arith::ConstantIndexOp>(loc, value);
  };
  int64_t lineElements =
      64 * 8 /
      cast<MemRefType>(keys.getType()).getElementType().getIntOrFloatBitWidth();
  int64_t keyRowsPerLine = std::max<int64_t>(1, lineElements / kWideBlock);
  Value ahead =
      b.create<arith::AddIOp>(loc, p0, cidx(kPrefetchBlocks * kWideBlock));
  Value block = b.create<arith::DivUIOp>(loc, ahead, cidx(kWideBlock));
  for (int64_t d = 0; d < headDim; d += keyRowsPerLine)
    b.create<memref::PrefetchOp>(loc, keys,
                                 ValueRange{kvHead, block, cidx(d), cidx(0)},
                                 /*isWrite=*/false, /*localityHint=*/3,
                                 /*isDataCache=*/true);
  for (int64_t i = 0; i < kWideBlock; ++i)
    for (int64_t d = 0; d < headDim; d += lineElements)
      b.create<memref::PrefetchOp>(
          loc, values,
          ValueRange{kvHead, b.create<arith::AddIOp>(loc, ahead, cidx(i)),
                     cidx(d)},
          /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
}

/// The softmax states of `group` consecutive heads (sharing one KV head)
/// for one query row over positions [begin, end) (begin a multiple of
/// kWideBlock), with the CPU layout (keys [kvHeads, capacity /
/// kWideBlock, headDim, kWideBlock], values [kvHeads, capacity, headDim]): a
/// block at a time, each head's scores one vector FMA per head dimension (at
/// least kChains independent chains in all), each key and value read once
/// for the group, the last partial block masked. Returns each head's state
/// (not normalized).
SmallVector<SoftmaxState>
emitBlockedScan(OpBuilder &b, Location loc, Value q, Value keys, Value values,
                Value row, Value qCol, Value kvHead, Value begin, Value end,
                int64_t headDim, int64_t group, Value scale) {
  auto cidx = [](OpBuilder &nb, Location nloc, int64_t value) -> Value {
    return nb.create<arith::ConstantIndexOp>(nloc, value);
  };
  Type f32 = b.getF32Type();
  auto wideType = VectorType::get({kWideBlock}, f32);
  int64_t chains = std::max<int64_t>(1, kChains / group);
  if (headDim % chains != 0)
    chains = 1;
  Value negInf = b.create<arith::ConstantOp>(
      loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value wideZeros = b.create<arith::ConstantOp>(
      loc, wideType, DenseElementsAttr::get(wideType, 0.0f));
  auto vecType = VectorType::get({headDim}, f32);
  Value f0 = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  Value zeros = b.create<arith::ConstantOp>(
      loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
  SmallVector<SoftmaxState> initial(group, SoftmaxState{negInf, f0, zeros});
  // The group's queries, one contiguous row: the scan's loads of them are
  // at constant offsets from one base.
  auto qType = cast<MemRefType>(q.getType());
  SmallVector<OpFoldResult> qOffsets{row, qCol};
  SmallVector<OpFoldResult> qSizes{b.getIndexAttr(1),
                                   b.getIndexAttr(group * headDim)};
  SmallVector<OpFoldResult> qStrides{b.getIndexAttr(1), b.getIndexAttr(1)};
  auto qRowType =
      cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
          {group * headDim}, qType, qOffsets, qSizes, qStrides));
  Value qRow =
      b.create<memref::SubViewOp>(loc, qRowType, q, qOffsets, qSizes, qStrides);
  // Each head's scores of positions [p0, p0 + kWideBlock), p0 a multiple
  // of it.
  auto scoreBlock = [&](OpBuilder &nb, Location nloc,
                        Value p0) -> SmallVector<Value> {
    Value block =
        nb.create<arith::DivUIOp>(nloc, p0, cidx(nb, nloc, kWideBlock));
    // Unrolled over the head dimension: the addresses become constant
    // offsets (as a loop, their arithmetic cost as much as the FMAs).
    SmallVector<Value> acc(group * chains, wideZeros);
    for (int64_t d = 0; d < headDim; d += chains)
      for (int64_t c = 0; c < chains; ++c) {
        Value keyRow = readCacheVector(
            nb, nloc, keys,
            ValueRange{kvHead, block, cidx(nb, nloc, d + c), cidx(nb, nloc, 0)},
            kWideBlock);
        for (int64_t h = 0; h < group; ++h) {
          Value qd = nb.create<memref::LoadOp>(
              nloc, qRow, cidx(nb, nloc, h * headDim + d + c));
          acc[h * chains + c] = nb.create<vector::FMAOp>(
              nloc, nb.create<vector::SplatOp>(nloc, wideType, qd), keyRow,
              acc[h * chains + c]);
        }
      }
    SmallVector<Value> scores;
    for (int64_t h = 0; h < group; ++h) {
      Value sum = acc[h * chains];
      for (int64_t c = 1; c < chains; ++c)
        sum = nb.create<arith::AddFOp>(nloc, sum, acc[h * chains + c]);
      scores.push_back(nb.create<arith::MulFOp>(
          nloc, sum, nb.create<vector::SplatOp>(nloc, wideType, scale)));
    }
    return scores;
  };
  auto valueAt = [&](Value p0) {
    return [&, p0](OpBuilder &vb, Location vloc, Value i) -> Value {
      return readCacheVector(vb, vloc, values,
                             ValueRange{kvHead,
                                        vb.create<arith::AddIOp>(vloc, p0, i),
                                        cidx(vb, vloc, 0)},
                             headDim);
    };
  };
  auto unpack = [&](ValueRange carried) {
    SmallVector<SoftmaxState> states;
    for (int64_t h = 0; h < group; ++h)
      states.push_back(
          {carried[3 * h], carried[3 * h + 1], carried[3 * h + 2]});
    return states;
  };
  auto pack = [&](ArrayRef<SoftmaxState> states) {
    SmallVector<Value> values;
    for (const SoftmaxState &state : states)
      llvm::append_range(values, state.values());
    return values;
  };
  Value length = b.create<arith::SubIOp>(loc, end, begin);
  Value blockEnd = b.create<arith::SubIOp>(
      loc, end,
      b.create<arith::RemUIOp>(loc, length, cidx(b, loc, kWideBlock)));
  // Pairs of blocks first: the softmax's per-fold work (each head's
  // maximum and sum reduced across lanes, the exponential of the
  // correction, the accumulator rescaled) then comes once per 2 x
  // kWideBlock positions.
  int64_t pair = kFoldBlocks * kWideBlock;
  Value pairEnd = b.create<arith::SubIOp>(
      loc, end, b.create<arith::RemUIOp>(loc, length, cidx(b, loc, pair)));
  auto pairs = b.create<scf::ForOp>(
      loc, begin, pairEnd, cidx(b, loc, pair), pack(initial),
      [&](OpBuilder &nb, Location nloc, Value p0, ValueRange carried) {
        // Each head's scores of the blocks, side by side.
        SmallVector<Value> scores;
        for (int64_t j = 0; j < kFoldBlocks; ++j) {
          Value pj = nb.create<arith::AddIOp>(nloc, p0,
                                              cidx(nb, nloc, j * kWideBlock));
          prefetchAhead(nb, nloc, keys, values, kvHead, pj, headDim);
          SmallVector<Value> block = scoreBlock(nb, nloc, pj);
          if (j == 0) {
            scores = block;
            continue;
          }
          SmallVector<int64_t> concat;
          for (int64_t i = 0; i < (j + 1) * kWideBlock; ++i)
            concat.push_back(i);
          for (auto [all, next] : llvm::zip_equal(scores, block))
            all = nb.create<vector::ShuffleOp>(nloc, all, next, concat);
        }
        nb.create<scf::YieldOp>(nloc, pack(foldScores(nb, nloc, unpack(carried),
                                                      scores, valueAt(p0))));
      });
  // Then a single block, if one is left whole.
  auto blocks = b.create<scf::ForOp>(
      loc, pairEnd, blockEnd, cidx(b, loc, kWideBlock), pairs.getResults(),
      [&](OpBuilder &nb, Location nloc, Value p0, ValueRange carried) {
        prefetchAhead(nb, nloc, keys, values, kvHead, p0, headDim);
        nb.create<scf::YieldOp>(
            nloc, pack(foldScores(nb, nloc, unpack(carried),
                                  scoreBlock(nb, nloc, p0), valueAt(p0))));
      });
  // The last partial block: positions past `end` score -inf and their
  // values (never written, or stale) are not read.
  Value remaining = b.create<arith::SubIOp>(loc, end, blockEnd);
  Value hasTail = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne,
                                          remaining, cidx(b, loc, 0));
  auto tail = b.create<scf::IfOp>(
      loc, hasTail,
      [&](OpBuilder &nb, Location nloc) {
        Value mask = nb.create<vector::CreateMaskOp>(
            nloc, VectorType::get({kWideBlock}, nb.getI1Type()),
            ValueRange{remaining});
        Value masked = nb.create<vector::SplatOp>(nloc, wideType, negInf);
        SmallVector<Value> scores;
        for (Value headScores : scoreBlock(nb, nloc, blockEnd))
          scores.push_back(
              nb.create<arith::SelectOp>(nloc, mask, headScores, masked));
        nb.create<scf::YieldOp>(
            nloc, pack(foldScores(nb, nloc, unpack(blocks.getResults()),
                                  scores, valueAt(blockEnd), remaining)));
      },
      [&](OpBuilder &nb, Location nloc) {
        nb.create<scf::YieldOp>(nloc, blocks.getResults());
      });
  return unpack(tail.getResults());
}

/// Causal attention of the query rows [firstRow, firstRow + tileRows) (at
/// least 2, at positions start + row) for the `group` heads from column
/// `qCol` (sharing KV head `kvHead`), flash-attention style on the CPU: a
/// step of kStep positions at a time, (1) the scores of `passRows` rows'
/// heads at once, one FMA per key vector and query element (each key vector
/// read once for passRows x group heads), masked past each row's end;
/// (2) each (row, head) line's online softmax over the step in vectors;
/// (3) each row's outputs (its group of heads, in registers) rescaled and
/// added the step's values times their weights, broadcast from the buffer
/// (each value vector read once for the group). The tile's lines wait in
/// stack buffers between steps, so that a step's keys and values come from
/// memory once for the whole tile and stay in the L1. Writes each line's
/// normalized output to `out`.
void emitRowTile(OpBuilder &b, Location loc, Value q, Value keys, Value values,
                 Value out, Value start, Value firstRow, Value tileRows,
                 Value qCol, Value kvHead, int64_t headDim, int64_t group,
                 int64_t passRows, Value scale) {
  auto cidx = [](OpBuilder &nb, Location nloc, int64_t value) -> Value {
    return nb.create<arith::ConstantIndexOp>(nloc, value);
  };
  Type f32 = b.getF32Type();
  auto vecType = VectorType::get({headDim}, f32);
  auto blockType = VectorType::get({kWideBlock}, f32);
  auto stepType = VectorType::get({kStep}, f32);
  int64_t lines = kRowTile * group;
  // Each line r * group + h: its output, running maximum, sum, the step's
  // correction and its scores, then weights.
  Value outs = b.create<memref::AllocaOp>(
      loc, MemRefType::get({lines, headDim}, f32), b.getI64IntegerAttr(64));
  auto lineType = MemRefType::get({lines}, f32);
  Value maxes = b.create<memref::AllocaOp>(loc, lineType);
  Value sums = b.create<memref::AllocaOp>(loc, lineType);
  Value corrections = b.create<memref::AllocaOp>(loc, lineType);
  Value weights = b.create<memref::AllocaOp>(
      loc, MemRefType::get({lines, kStep}, f32), b.getI64IntegerAttr(64));
  Value c0 = cidx(b, loc, 0), c1 = cidx(b, loc, 1);
  Value f0 = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  Value negInf = b.create<arith::ConstantOp>(
      loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  SmallVector<bool> inBounds = {true};
  Value used = b.create<arith::MulIOp>(loc, tileRows, cidx(b, loc, group));
  b.create<scf::ForOp>(
      loc, c0, cidx(b, loc, lines), c1, ValueRange{},
      [&](OpBuilder &nb, Location nloc, Value line, ValueRange) {
        nb.create<memref::StoreOp>(nloc, negInf, maxes, line);
        nb.create<memref::StoreOp>(nloc, f0, sums, line);
        nb.create<vector::TransferWriteOp>(
            nloc,
            nb.create<arith::ConstantOp>(
                nloc, vecType, DenseElementsAttr::get(vecType, 0.0f)),
            outs, ValueRange{line, cidx(nb, nloc, 0)}, inBounds);
        nb.create<scf::YieldOp>(nloc);
      });
  // Row r's end: start + firstRow + r + 1.
  Value rowsStart = b.create<arith::AddIOp>(loc, start, firstRow);
  auto endOf = [&](OpBuilder &nb, Location nloc, Value r) -> Value {
    return nb.create<arith::AddIOp>(
        nloc, nb.create<arith::AddIOp>(nloc, rowsStart, r), cidx(nb, nloc, 1));
  };
  Value lastEnd = b.create<arith::AddIOp>(loc, rowsStart, tileRows);
  auto steps = b.create<scf::ForOp>(loc, c0, lastEnd, cidx(b, loc, kStep));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(steps.getBody());
  Value p0 = steps.getInductionVar();
  for (int64_t j = 0; j < kStep / kWideBlock; ++j)
    prefetchAhead(b, loc, keys, values, kvHead,
                  b.create<arith::AddIOp>(loc, p0, cidx(b, loc, j * kWideBlock)),
                  headDim);
  Value firstBlock = b.create<arith::DivUIOp>(loc, p0, cidx(b, loc, kWideBlock));
  // The step's positions as a vector, for the causal mask.
  SmallVector<int64_t> iota;
  for (int64_t i = 0; i < kStep; ++i)
    iota.push_back(i);
  auto indexStepType = VectorType::get({kStep}, b.getIndexType());
  Value positions = b.create<arith::AddIOp>(
      loc, b.create<vector::SplatOp>(loc, indexStepType, p0),
      b.create<arith::ConstantOp>(
          loc, indexStepType,
          DenseElementsAttr::get(indexStepType, ArrayRef<int64_t>(iota))));
  // A line's online softmax over the step's `scores`: its maximum, sum and
  // the correction of its earlier output, and the weights, into the
  // buffers. Position 0 is in every row's range, so a line's maximum is
  // finite from the first step on.
  auto softmaxLine = [&](OpBuilder &nb, Location nloc, Value line,
                         Value scores) {
    SoftmaxStep step = softmaxStep(
        nb, nloc, nb.create<memref::LoadOp>(nloc, maxes, line),
        nb.create<memref::LoadOp>(nloc, sums, line), scores);
    nb.create<memref::StoreOp>(nloc, step.max, maxes, line);
    nb.create<memref::StoreOp>(nloc, step.sum, sums, line);
    nb.create<memref::StoreOp>(nloc, step.correction, corrections, line);
    nb.create<vector::TransferWriteOp>(nloc, step.weights, weights,
                                       ValueRange{line, cidx(nb, nloc, 0)},
                                       inBounds);
  };
  // (1) Scores of rows r to r + passRows - 1 (the last row again for those
  // past the tile: the buffers have room for their lines, which nobody
  // reads), then (2) each of their lines' online softmax, into the buffers,
  // in the same loop body: the softmax's serial steps overlap the next
  // rows' products.
  b.create<scf::ForOp>(
      loc, c0, tileRows, cidx(b, loc, passRows), ValueRange{},
      [&](OpBuilder &nb, Location nloc, Value r, ValueRange) {
        Value lastRow = nb.create<arith::SubIOp>(nloc, tileRows, c1);
        SmallVector<Value> qRows(passRows);
        for (int64_t i = 0; i < passRows; ++i) {
          Value ri = nb.create<arith::MinUIOp>(
              nloc, nb.create<arith::AddIOp>(nloc, r, cidx(nb, nloc, i)),
              lastRow);
          auto qType = cast<MemRefType>(q.getType());
          SmallVector<OpFoldResult> offsets{
              nb.create<arith::AddIOp>(nloc, firstRow, ri).getResult(), qCol};
          SmallVector<OpFoldResult> sizes{nb.getIndexAttr(1),
                                          nb.getIndexAttr(group * headDim)};
          SmallVector<OpFoldResult> strides{nb.getIndexAttr(1),
                                            nb.getIndexAttr(1)};
          auto rowType =
              cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
                  {group * headDim}, qType, offsets, sizes, strides));
          qRows[i] = nb.create<memref::SubViewOp>(nloc, rowType, q, offsets,
                                                  sizes, strides);
        }
        int64_t blocks = kStep / kWideBlock;
        Value zeros = nb.create<arith::ConstantOp>(
            nloc, blockType, DenseElementsAttr::get(blockType, 0.0f));
        // acc[(i * group + h) * blocks + j]
        SmallVector<Value> acc(passRows * group * blocks, zeros);
        for (int64_t d = 0; d < headDim; ++d) {
          SmallVector<Value> keyRows;
          for (int64_t j = 0; j < blocks; ++j)
            keyRows.push_back(readCacheVector(
                nb, nloc, keys,
                ValueRange{kvHead,
                           nb.create<arith::AddIOp>(nloc, firstBlock,
                                                    cidx(nb, nloc, j)),
                           cidx(nb, nloc, d), cidx(nb, nloc, 0)},
                kWideBlock));
          for (int64_t i = 0; i < passRows; ++i)
            for (int64_t h = 0; h < group; ++h) {
              Value qd = nb.create<vector::SplatOp>(
                  nloc, blockType,
                  nb.create<memref::LoadOp>(
                      nloc, qRows[i], cidx(nb, nloc, h * headDim + d)));
              for (int64_t j = 0; j < blocks; ++j) {
                Value &a = acc[(i * group + h) * blocks + j];
                a = nb.create<vector::FMAOp>(nloc, qd, keyRows[j], a);
              }
            }
        }
        Value scaleVec = nb.create<vector::SplatOp>(nloc, stepType, scale);
        Value masked = nb.create<vector::SplatOp>(nloc, stepType, negInf);
        for (int64_t i = 0; i < passRows; ++i) {
          Value rowEnd = nb.create<vector::SplatOp>(
              nloc, indexStepType,
              endOf(nb, nloc, nb.create<arith::AddIOp>(nloc, r,
                                                       cidx(nb, nloc, i))));
          Value visible = nb.create<arith::CmpIOp>(
              nloc, arith::CmpIPredicate::ult, positions, rowEnd);
          for (int64_t h = 0; h < group; ++h) {
            Value scores = acc[(i * group + h) * blocks];
            for (int64_t j = 1; j < blocks; ++j) {
              SmallVector<int64_t> concat;
              for (int64_t e = 0; e < (j + 1) * kWideBlock; ++e)
                concat.push_back(e);
              scores = nb.create<vector::ShuffleOp>(
                  nloc, scores, acc[(i * group + h) * blocks + j], concat);
            }
            scores = nb.create<arith::SelectOp>(
                nloc, visible,
                nb.create<arith::MulFOp>(nloc, scores, scaleVec), masked);
            Value line = nb.create<arith::AddIOp>(
                nloc,
                nb.create<arith::MulIOp>(
                    nloc, nb.create<arith::AddIOp>(nloc, r, cidx(nb, nloc, i)),
                    cidx(nb, nloc, group)),
                cidx(nb, nloc, h));
            softmaxLine(nb, nloc, line, scores);
          }
        }
        nb.create<scf::YieldOp>(nloc);
      });
  // (3) Each row's outputs += weights x values over the step's positions
  // before the tile's end (the values there are written; a row's masked
  // positions weigh 0). A whole step unrolled, a partial one as a loop.
  Value count = b.create<arith::MinUIOp>(
      loc, cidx(b, loc, kStep), b.create<arith::SubIOp>(loc, lastEnd, p0));
  b.create<scf::ForOp>(
      loc, c0, tileRows, c1, ValueRange{},
      [&](OpBuilder &nb, Location nloc, Value r, ValueRange) {
        Value firstLine =
            nb.create<arith::MulIOp>(nloc, r, cidx(nb, nloc, group));
        SmallVector<Value> lineOf, accs;
        for (int64_t h = 0; h < group; ++h) {
          Value line =
              nb.create<arith::AddIOp>(nloc, firstLine, cidx(nb, nloc, h));
          lineOf.push_back(line);
          accs.push_back(nb.create<arith::MulFOp>(
              nloc,
              nb.create<vector::TransferReadOp>(
                  nloc, vecType, outs, ValueRange{line, cidx(nb, nloc, 0)},
                  f0, inBounds),
              nb.create<vector::SplatOp>(
                  nloc, vecType,
                  nb.create<memref::LoadOp>(nloc, corrections, line))));
        }
        auto addPosition = [&](OpBuilder &pb, Location ploc, Value i,
                               ValueRange in) {
          Value value = readCacheVector(
              pb, ploc, values,
              ValueRange{kvHead, pb.create<arith::AddIOp>(ploc, p0, i),
                         cidx(pb, ploc, 0)},
              headDim);
          SmallVector<Value> next;
          for (int64_t h = 0; h < group; ++h)
            next.push_back(pb.create<vector::FMAOp>(
                ploc, value,
                pb.create<vector::SplatOp>(
                    ploc, vecType,
                    pb.create<memref::LoadOp>(ploc, weights,
                                              ValueRange{lineOf[h], i})),
                in[h]));
          return next;
        };
        Value whole = nb.create<arith::CmpIOp>(
            nloc, arith::CmpIPredicate::eq, count, cidx(nb, nloc, kStep));
        auto ifWhole = nb.create<scf::IfOp>(
            nloc, whole,
            [&](OpBuilder &wb, Location wloc) {
              SmallVector<Value> a(accs);
              for (int64_t i = 0; i < kStep; ++i)
                a = addPosition(wb, wloc, cidx(wb, wloc, i), a);
              wb.create<scf::YieldOp>(wloc, a);
            },
            [&](OpBuilder &pb, Location ploc) {
              auto loop = pb.create<scf::ForOp>(
                  ploc, cidx(pb, ploc, 0), count, cidx(pb, ploc, 1), accs,
                  [&](OpBuilder &lb, Location lloc, Value i,
                      ValueRange carried) {
                    lb.create<scf::YieldOp>(
                        lloc, addPosition(lb, lloc, i, carried));
                  });
              pb.create<scf::YieldOp>(ploc, loop.getResults());
            });
        for (int64_t h = 0; h < group; ++h)
          nb.create<vector::TransferWriteOp>(
              nloc, ifWhole.getResult(h), outs,
              ValueRange{lineOf[h], cidx(nb, nloc, 0)}, inBounds);
        nb.create<scf::YieldOp>(nloc);
      });
  // Normalized into `out`.
  b.setInsertionPointAfter(steps);
  b.create<scf::ForOp>(
      loc, c0, used, c1, ValueRange{},
      [&](OpBuilder &nb, Location nloc, Value line, ValueRange) {
        Value row = nb.create<arith::AddIOp>(
            nloc, firstRow,
            nb.create<arith::DivUIOp>(nloc, line, cidx(nb, nloc, group)));
        Value col = nb.create<arith::AddIOp>(
            nloc, qCol,
            nb.create<arith::MulIOp>(
                nloc,
                nb.create<arith::RemUIOp>(nloc, line, cidx(nb, nloc, group)),
                cidx(nb, nloc, headDim)));
        Value acc = nb.create<vector::TransferReadOp>(
            nloc, vecType, outs, ValueRange{line, cidx(nb, nloc, 0)}, f0,
            inBounds);
        Value sum = nb.create<memref::LoadOp>(nloc, sums, line);
        nb.create<vector::TransferWriteOp>(
            nloc,
            nb.create<arith::DivFOp>(
                nloc, acc, nb.create<vector::SplatOp>(nloc, vecType, sum)),
            out, ValueRange{row, col}, inBounds);
        nb.create<scf::YieldOp>(nloc);
      });
}

/// The normalized output of `splits` partial softmax states of one head
/// (flash-decoding's second step): split i's field f (0: its weighted
/// values, headDim: its maximum, headDim + 1: its sum) at `partials[at(i,
/// f)]`, each rescaled to the largest maximum (an empty split, maximum
/// -inf, weighs exp(-inf) = 0).
Value combineSplits(
    OpBuilder &b, Location loc, Value partials, Value splits, int64_t headDim,
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value, int64_t)>
        at) {
  auto vecType = VectorType::get({headDim}, b.getF32Type());
  Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
  Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
  Value f0 = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  Value negInf = b.create<arith::ConstantOp>(
      loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value zeros = b.create<arith::ConstantOp>(
      loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
  auto maxLoop = b.create<scf::ForOp>(
      loc, c0, splits, c1, ValueRange{negInf},
      [&](OpBuilder &nb, Location nloc, Value i, ValueRange carried) {
        Value m =
            nb.create<memref::LoadOp>(nloc, partials, at(nb, nloc, i, headDim));
        nb.create<scf::YieldOp>(
            nloc, ValueRange{nb.create<arith::MaximumFOp>(nloc, carried[0], m)});
      });
  Value max = maxLoop.getResult(0);
  auto sumLoop = b.create<scf::ForOp>(
      loc, c0, splits, c1, ValueRange{f0, zeros},
      [&](OpBuilder &nb, Location nloc, Value i, ValueRange carried) {
        Value m =
            nb.create<memref::LoadOp>(nloc, partials, at(nb, nloc, i, headDim));
        Value sum = nb.create<memref::LoadOp>(nloc, partials,
                                              at(nb, nloc, i, headDim + 1));
        Value weight = nb.create<math::ExpOp>(
            nloc, nb.create<arith::SubFOp>(nloc, m, max));
        Value acc = nb.create<vector::TransferReadOp>(
            nloc, vecType, partials, at(nb, nloc, i, 0), f0,
            ArrayRef<bool>{true});
        nb.create<scf::YieldOp>(
            nloc,
            ValueRange{nb.create<arith::AddFOp>(
                           nloc, carried[0],
                           nb.create<arith::MulFOp>(nloc, sum, weight)),
                       nb.create<vector::FMAOp>(
                           nloc, acc,
                           nb.create<vector::SplatOp>(nloc, vecType, weight),
                           carried[1])});
      });
  return b.create<arith::DivFOp>(
      loc, sumLoop.getResult(1),
      b.create<vector::SplatOp>(loc, vecType, sumLoop.getResult(0)));
}

/// CPU attention of query rows [0, rowCount) at positions start + row: one
/// `scf.forall` iteration per (group of `group` heads sharing a KV head,
/// tile of up to kRowTile consecutive rows, split of the positions), head-
/// major so that a worker stays on few heads and the causal imbalance
/// between early and late rows averages out. A tile of several rows is
/// emitRowTile's (in an alloca scope: the iteration becomes a loop body); a
/// single row (decode) streams over its positions with its heads' states in
/// registers. A single row's positions are split (flash-decoding) when the
/// groups alone would leave threads idle: into ceil(threads / groups) parts
/// (at most kMaxSplits), whose unnormalized states a second loop combines
/// per head; the 1B model's 8 groups: one part up to 8 threads, 8 on 64.
void emitTiledAttention(OpBuilder &b, Location loc, Value q, Value keys,
                        Value values, Value out, Value start, Value rowCount,
                        Value threads, int64_t heads, int64_t kvHeads,
                        int64_t headDim, int64_t group, int64_t passRows) {
  OpBuilder::InsertionGuard outerGuard(b);
  auto cidx = [](OpBuilder &nb, Location nloc, int64_t value) -> Value {
    return nb.create<arith::ConstantIndexOp>(nloc, value);
  };
  Type f32 = b.getF32Type();
  auto vecType = VectorType::get({headDim}, f32);
  int64_t groups = heads / group;
  Value c1 = cidx(b, loc, 1);
  Value tiles = b.create<arith::CeilDivUIOp>(loc, rowCount,
                                             cidx(b, loc, kRowTile));
  Value single = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                         rowCount, c1);
  Value wanted = b.create<arith::MinUIOp>(
      loc, cidx(b, loc, kMaxSplits),
      b.create<arith::CeilDivUIOp>(loc, threads, cidx(b, loc, groups)));
  Value splits = b.create<arith::SelectOp>(
      loc, single, b.create<arith::MaxUIOp>(loc, wanted, c1), c1);
  // Each split's state, [split * heads + head, headDim + 2]: the weighted
  // values, the maximum, the sum.
  int64_t stateWidth = headDim + 2;
  Value partials = b.create<memref::AllocOp>(
      loc, MemRefType::get({kMaxSplits * heads, stateWidth}, f32));
  Value perGroup = b.create<arith::MulIOp>(loc, tiles, splits);
  Value total =
      b.create<arith::MulIOp>(loc, perGroup, cidx(b, loc, groups));
  auto forall = b.create<scf::ForallOp>(loc, ArrayRef<OpFoldResult>{total},
                                        ValueRange{}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value iv = forall.getInductionVar(0);
    Value head = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, iv, perGroup), cidx(b, loc, group));
    Value rest = b.create<arith::RemUIOp>(loc, iv, perGroup);
    Value part = b.create<arith::RemUIOp>(loc, rest, splits);
    Value firstRow = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, rest, splits),
        cidx(b, loc, kRowTile));
    Value tileRows = b.create<arith::MinUIOp>(
        loc, cidx(b, loc, kRowTile),
        b.create<arith::SubIOp>(loc, rowCount, firstRow));
    Value kvHead =
        b.create<arith::DivUIOp>(loc, head, cidx(b, loc, heads / kvHeads));
    Value qCol = b.create<arith::MulIOp>(loc, head, cidx(b, loc, headDim));
    Value scale = b.create<arith::ConstantOp>(
        loc, b.getF32FloatAttr(1.0f / std::sqrt(static_cast<float>(headDim))));
    Value several = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge,
                                            tileRows, cidx(b, loc, 2));
    b.create<scf::IfOp>(
        loc, several,
        [&](OpBuilder &nb, Location nloc) {
          auto scope = nb.create<memref::AllocaScopeOp>(nloc, TypeRange{});
          OpBuilder sb(nb.getContext());
          sb.createBlock(&scope.getBodyRegion());
          emitRowTile(sb, nloc, q, keys, values, out, start, firstRow,
                      tileRows, qCol, kvHead, headDim, group, passRows, scale);
          sb.create<memref::AllocaScopeReturnOp>(nloc);
          nb.create<scf::YieldOp>(nloc);
        },
        [&](OpBuilder &nb, Location nloc) {
          Value end = nb.create<arith::AddIOp>(
              nloc, nb.create<arith::AddIOp>(nloc, start, firstRow),
              cidx(nb, nloc, 1));
          // This split's positions [first, last): whole blocks of keys but
          // the last.
          Value chunk = nb.create<arith::MulIOp>(
              nloc,
              nb.create<arith::CeilDivUIOp>(
                  nloc, nb.create<arith::CeilDivUIOp>(nloc, end, splits),
                  cidx(nb, nloc, kWideBlock)),
              cidx(nb, nloc, kWideBlock));
          Value first = nb.create<arith::MinUIOp>(
              nloc, nb.create<arith::MulIOp>(nloc, part, chunk), end);
          Value last = nb.create<arith::MinUIOp>(
              nloc, nb.create<arith::AddIOp>(nloc, first, chunk), end);
          SmallVector<SoftmaxState> states =
              emitBlockedScan(nb, nloc, q, keys, values, firstRow, qCol,
                              kvHead, first, last, headDim, group, scale);
          Value whole = nb.create<arith::CmpIOp>(
              nloc, arith::CmpIPredicate::eq, splits, cidx(nb, nloc, 1));
          nb.create<scf::IfOp>(
              nloc, whole,
              [&](OpBuilder &wb, Location wloc) {
                for (auto [h, state] : llvm::enumerate(states))
                  wb.create<vector::TransferWriteOp>(
                      wloc,
                      wb.create<arith::DivFOp>(
                          wloc, state.acc,
                          wb.create<vector::SplatOp>(wloc, vecType,
                                                     state.sum)),
                      out,
                      ValueRange{firstRow,
                                 wb.create<arith::AddIOp>(
                                     wloc, qCol, cidx(wb, wloc, h * headDim))},
                      ArrayRef<bool>{true});
                wb.create<scf::YieldOp>(wloc);
              },
              [&](OpBuilder &pb, Location ploc) {
                for (auto [h, state] : llvm::enumerate(states)) {
                  Value slot = pb.create<arith::AddIOp>(
                      ploc,
                      pb.create<arith::MulIOp>(ploc, part,
                                               cidx(pb, ploc, heads)),
                      pb.create<arith::AddIOp>(ploc, head,
                                               cidx(pb, ploc, h)));
                  pb.create<vector::TransferWriteOp>(
                      ploc, state.acc, partials,
                      ValueRange{slot, cidx(pb, ploc, 0)},
                      ArrayRef<bool>{true});
                  pb.create<memref::StoreOp>(
                      ploc, state.max, partials,
                      ValueRange{slot, cidx(pb, ploc, headDim)});
                  pb.create<memref::StoreOp>(
                      ploc, state.sum, partials,
                      ValueRange{slot, cidx(pb, ploc, headDim + 1)});
                }
                pb.create<scf::YieldOp>(ploc);
              });
          nb.create<scf::YieldOp>(nloc);
        });
  }
  // Several parts: each head's combined (combineSplits) by a second loop;
  // one part: no iterations.
  Value combined = b.create<arith::SelectOp>(
      loc,
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt, splits, c1),
      cidx(b, loc, heads), cidx(b, loc, 0));
  auto perHead = b.create<scf::ForallOp>(
      loc, ArrayRef<OpFoldResult>{combined}, ValueRange{}, std::nullopt);
  b.setInsertionPointToStart(perHead.getBody());
  Value head = perHead.getInductionVar(0);
  Value result = combineSplits(
      b, loc, partials, splits, headDim,
      [&](OpBuilder &nb, Location nloc, Value i,
          int64_t field) -> SmallVector<Value> {
        return {nb.create<arith::AddIOp>(
                    nloc,
                    nb.create<arith::MulIOp>(nloc, i, cidx(nb, nloc, heads)),
                    head),
                cidx(nb, nloc, field)};
      });
  b.create<vector::TransferWriteOp>(
      loc, result, out,
      ValueRange{cidx(b, loc, 0),
                 b.create<arith::MulIOp>(loc, head, cidx(b, loc, headDim))},
      ArrayRef<bool>{true});
}

/// Appends this call's keys and values to the layer's cache, then computes
/// causal grouped-query attention: on a CPU by emitTiledAttention; on a GPU
/// each (head, query row, split) is one iteration of an `scf.forall` whose
/// body streams over its part of the cached positions with an online
/// softmax, kBlock positions at a time, and a second loop combines the
/// splits.
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

    // On a GPU, one (head, row) pair per thread leaves most of the machine
    // idle at decode: the positions are split kSplits ways (flash-decoding),
    // each split's softmax state written to `partials` ([rows, heads *
    // splits * (headDim + 2)]: per head and split the weighted values, the
    // max, the sum; rows first, as the scratch planner places buffers), and
    // a second loop combines them. On a CPU the keys are stored in blocks.
    auto module = op->getParentOfType<ModuleOp>();
    TargetAttr target =
        module ? LLMDialect::TargetAttrHelper(op.getContext()).getAttr(module)
               : TargetAttr();
    bool split = target && target.getSmCount() > 0;

    // Views of this layer's keys and values: for each layer, the keys, then
    // the values (kvBytesPerPosition). On a GPU both are [capacity,
    // kvWidth]; on a CPU each KV head's are contiguous, the keys in blocks
    // ([kvHeads, capacity / kWideBlock, headDim, kWideBlock]) and the values
    // as rows ([kvHeads, capacity, headDim]), so that one head's scan reads
    // two sequential streams.
    Type kvType = kvCacheElementType(op);
    int64_t kvElementBytes = kvType.getIntOrFloatBitWidth() / 8;
    auto cacheType =
        MemRefType::get({ShapedType::kDynamic, kvWidth}, kvType);
    MemRefType keysType = cacheType, valuesType = cacheType;
    Value keyRows = abi->capacity;
    if (!split) {
      keysType = MemRefType::get(
          {kvHeads, ShapedType::kDynamic, headDim, kWideBlock}, kvType);
      valuesType =
          MemRefType::get({kvHeads, ShapedType::kDynamic, headDim}, kvType);
      keyRows = b.create<arith::DivUIOp>(loc, abi->capacity,
                                         cidx(b, loc, kWideBlock));
    }
    Value planeBytes = b.create<arith::MulIOp>(
        loc, abi->capacity, cidx(b, loc, kvWidth * kvElementBytes));
    Value layerBase = b.create<arith::MulIOp>(
        loc, b.create<arith::MulIOp>(loc, adaptor.getLayer(), cidx(b, loc, 2)),
        planeBytes);
    Value kv = adaptor.getCache();
    Value keys = b.create<memref::ViewOp>(loc, keysType, kv, layerBase,
                                          ValueRange{keyRows});
    Value values = b.create<memref::ViewOp>(
        loc, valuesType, kv,
        b.create<arith::AddIOp>(loc, layerBase, planeBytes),
        ValueRange{abi->capacity});

    // Append this call's rows at [start, start + rows) (CPU: one
    // scf.forall iteration per row, scattering it to the KV heads).
    if (!split) {
      auto append = b.create<scf::ForallOp>(
          loc, ArrayRef<OpFoldResult>{rowCount}, ValueRange{}, std::nullopt);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(append.getBody());
      Value r = append.getInductionVar(0);
      Value position = b.create<arith::AddIOp>(loc, start, r);
      Value block =
          b.create<arith::DivUIOp>(loc, position, cidx(b, loc, kWideBlock));
      Value lane =
          b.create<arith::RemUIOp>(loc, position, cidx(b, loc, kWideBlock));
      auto headVec = VectorType::get({headDim}, b.getF32Type());
      Value pad = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
      b.create<scf::ForOp>(
          loc, cidx(b, loc, 0), cidx(b, loc, kvHeads), cidx(b, loc, 1),
          ValueRange{},
          [&](OpBuilder &hb, Location hloc, Value h, ValueRange) {
            Value col =
                hb.create<arith::MulIOp>(hloc, h, cidx(hb, hloc, headDim));
            Value row = hb.create<vector::TransferReadOp>(
                hloc, headVec, v, ValueRange{r, col}, pad,
                ArrayRef<bool>{true});
            hb.create<vector::TransferWriteOp>(
                hloc, toCacheElement(hb, hloc, row, kvType), values,
                ValueRange{h, position, cidx(hb, hloc, 0)},
                ArrayRef<bool>{true});
            hb.create<scf::ForOp>(
                hloc, cidx(hb, hloc, 0), cidx(hb, hloc, headDim),
                cidx(hb, hloc, 1), ValueRange{},
                [&](OpBuilder &nb, Location nloc, Value d, ValueRange) {
                  Value key = nb.create<memref::LoadOp>(
                      nloc, k,
                      ValueRange{r, nb.create<arith::AddIOp>(nloc, col, d)});
                  nb.create<memref::StoreOp>(
                      nloc, toCacheElement(nb, nloc, key, kvType), keys,
                      ValueRange{h, block, d, lane});
                  nb.create<scf::YieldOp>(nloc);
                });
            hb.create<scf::YieldOp>(hloc);
          });
    } else {
      auto rowsAt = [&](Value cache) -> Value {
        return b.create<memref::SubViewOp>(
            loc, cache, ArrayRef<OpFoldResult>{start, b.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{rowCount, b.getIndexAttr(kvWidth)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      };
      // Copies `from` into the cache rows, rounded to the cache's type.
      auto append = [&](Value from, Value cache) {
        Value to = rowsAt(cache);
        if (kvType.isF32()) {
          b.create<linalg::CopyOp>(loc, from, to);
          return;
        }
        AffineMap id = b.getMultiDimIdentityMap(2);
        b.create<linalg::GenericOp>(
            loc, ValueRange{from}, ValueRange{to},
            ArrayRef<AffineMap>{id, id},
            ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                          utils::IteratorType::parallel},
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              nb.create<linalg::YieldOp>(
                  nloc, toCacheElement(nb, nloc, args[0], kvType));
            });
      };
      append(k, keys);
      append(v, values);
    }

    Value out = b.create<memref::AllocOp>(
        loc,
        MemRefType::get({ShapedType::kDynamic, heads * headDim},
                        b.getF32Type()),
        ValueRange{rowCount});
    // On a CPU, `group` heads sharing a KV head are one iteration
    // (each key and value read once for them) as long as their
    // accumulators fit in half of the vector registers.
    int64_t group = 1;
    if (!split && target) {
      int64_t accRegisters =
          std::max<int64_t>(1, headDim * 32 / target.getVectorBits());
      int64_t most = std::max<int64_t>(
          1, target.getVectorRegisters() / 2 / accRegisters);
      for (int64_t g = std::min(most, heads / kvHeads); g >= 1; --g)
        if ((heads / kvHeads) % g == 0) {
          group = g;
          break;
        }
    }
    if (!split) {
      // A tile's pass over a step's keys scores as many rows as keep its
      // accumulators (group x blocks vectors a row) within half of the
      // registers: 2 with AVX-512 or AVX2 and 4 heads to a KV head.
      int64_t passRows = 2;
      if (target) {
        int64_t blockRegisters =
            std::max<int64_t>(1, kWideBlock * 32 / target.getVectorBits());
        int64_t fit = target.getVectorRegisters() / 2 /
                      (group * (kStep / kWideBlock) * blockRegisters);
        passRows = 1;
        while (passRows * 2 <= fit && kRowTile % (passRows * 2) == 0)
          passRows *= 2;
      }
      emitTiledAttention(b, loc, q, keys, values, out, start, rowCount,
                         abi->nthreads, heads, kvHeads, headDim, group,
                         passRows);
      rewriter.replaceOp(op, out);
      return success();
    }
    Value total = b.create<arith::MulIOp>(
        loc, rowCount, cidx(b, loc, heads / group));
    int64_t splits = split ? kSplits : 1;
    Value partials;
    if (split)
      partials = b.create<memref::AllocOp>(
          loc,
          MemRefType::get({ShapedType::kDynamic,
                           heads * splits * (headDim + 2)},
                          b.getF32Type()),
          ValueRange{rowCount});
    auto forall = b.create<scf::ForallOp>(
        loc,
        ArrayRef<OpFoldResult>{split ? OpFoldResult(b.create<arith::MulIOp>(
                                           loc, total, cidx(b, loc, splits)))
                                     : OpFoldResult(total)},
        ValueRange{}, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value iv = forall.getInductionVar(0);
    Value part;
    if (split) {
      part = b.create<arith::RemUIOp>(loc, iv, cidx(b, loc, splits));
      iv = b.create<arith::DivUIOp>(loc, iv, cidx(b, loc, splits));
    }
    // Head-major order keeps a worker on few heads, so the causal imbalance
    // between early and late rows averages out.
    Value head = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, iv, rowCount), cidx(b, loc, group));
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
    Value end = b.create<arith::AddIOp>(
        loc, b.create<arith::AddIOp>(loc, start, row), cidx(b, loc, 1));
    Value query =
        b.create<arith::MulFOp>(loc, rowVector(b, loc, q, row, qCol),
                                b.create<vector::SplatOp>(loc, vecType, scale));
    Value negInf = b.create<arith::ConstantOp>(
        loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value zeros = b.create<arith::ConstantOp>(
        loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
    // This split's positions: [first, end) of the row's causal range.
    Value first = cidx(b, loc, 0);
    if (split) {
      Value chunk =
          b.create<arith::CeilDivUIOp>(loc, end, cidx(b, loc, splits));
      first = b.create<arith::MinUIOp>(
          loc, b.create<arith::MulIOp>(loc, part, chunk), end);
      end = b.create<arith::MinUIOp>(
          loc, b.create<arith::AddIOp>(loc, first, chunk), end);
    }
    // A dot product summed as a tree (reassoc): summed in order, its
    // head_dim additions are one dependent chain, and scoring the cached
    // positions took ~70 ns each on Zen 5.
    auto score = [&](OpBuilder &nb, Location nloc, Value pos) -> Value {
      return nb.create<vector::ReductionOp>(
          nloc, vector::CombiningKind::ADD,
          nb.create<arith::MulFOp>(
              nloc, query,
              readCacheVector(nb, nloc, keys, ValueRange{pos, kvCol}, headDim)),
          arith::FastMathFlags::reassoc);
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
      state = foldScores(nb, nloc, {state}, {scoreVec},
                         [&](OpBuilder &vb, Location vloc, Value i) {
                           return readCacheVector(
                               vb, vloc, values,
                               ValueRange{
                                   vb.create<arith::AddIOp>(vloc, first, i),
                                   kvCol},
                               headDim);
                         })[0];
      nb.create<scf::YieldOp>(nloc, state.values());
    };

    // Whole blocks of kBlock positions, then the rest one at a time (never
    // reading past `end`: the cache rows beyond it hold no data yet).
    Value blockEnd = b.create<arith::SubIOp>(
        loc, end,
        b.create<arith::RemUIOp>(loc, b.create<arith::SubIOp>(loc, end, first),
                                 cidx(b, loc, kBlock)));
    auto blocks = b.create<scf::ForOp>(
        loc, first, blockEnd, cidx(b, loc, kBlock),
        ValueRange{negInf, f0, zeros},
        [&](OpBuilder &nb, Location nloc, Value first, ValueRange carried) {
          foldPositions(nb, nloc, first, kBlock, carried);
        });
    auto tail = b.create<scf::ForOp>(
        loc, blockEnd, end, cidx(b, loc, 1), blocks.getResults(),
        [&](OpBuilder &nb, Location nloc, Value pos, ValueRange carried) {
          foldPositions(nb, nloc, pos, 1, carried);
        });
    // An empty split (a short row) leaves max = -inf, sum = 0, acc = 0.
    int64_t stateWidth = headDim + 2;
    Value slot = b.create<arith::MulIOp>(
        loc,
        b.create<arith::AddIOp>(
            loc, b.create<arith::MulIOp>(loc, head, cidx(b, loc, splits)),
            part),
        cidx(b, loc, stateWidth));
    b.create<vector::TransferWriteOp>(loc, tail.getResult(2), partials,
                                      ValueRange{row, slot}, inBounds);
    b.create<memref::StoreOp>(
        loc, tail.getResult(0), partials,
        ValueRange{row, b.create<arith::AddIOp>(loc, slot,
                                                cidx(b, loc, headDim))});
    b.create<memref::StoreOp>(
        loc, tail.getResult(1), partials,
        ValueRange{row, b.create<arith::AddIOp>(loc, slot,
                                                cidx(b, loc, headDim + 1))});

    // Combine: rescale every split to the largest max.
    b.setInsertionPointAfter(forall);
    auto combine = b.create<scf::ForallOp>(
        loc, ArrayRef<OpFoldResult>{total}, ValueRange{}, std::nullopt);
    b.setInsertionPointToStart(combine.getBody());
    Value pair = combine.getInductionVar(0);
    Value pairHead = b.create<arith::DivUIOp>(loc, pair, rowCount);
    Value pairRow = b.create<arith::RemUIOp>(loc, pair, rowCount);
    Value base = b.create<arith::MulIOp>(
        loc, pairHead, cidx(b, loc, splits * stateWidth));
    // Split i's field `field`: its row's column base + i * stateWidth +
    // field.
    Value result = combineSplits(
        b, loc, partials, cidx(b, loc, splits), headDim,
        [&](OpBuilder &nb, Location nloc, Value i,
            int64_t field) -> SmallVector<Value> {
          return {pairRow,
                  nb.create<arith::AddIOp>(
                      nloc, base,
                      nb.create<arith::AddIOp>(
                          nloc,
                          nb.create<arith::MulIOp>(
                              nloc, i, cidx(nb, nloc, stateWidth)),
                          cidx(nb, nloc, field)))};
        });
    b.create<vector::TransferWriteOp>(
        loc, result, out,
        ValueRange{pairRow,
                   b.create<arith::MulIOp>(loc, pairHead,
                                           cidx(b, loc, headDim))},
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
