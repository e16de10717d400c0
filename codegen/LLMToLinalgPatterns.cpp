//===- LLMToLinalgPatterns.cpp - One conversion pattern per llm op --------===//
//
// Each pattern reads its operands as the buffers their producers made
// (identity-layout allocations, views of the weight blob, or strided views
// for slices) and writes its result into a new `memref.alloc` of
// [rows, columns] f32, which llm-plan-scratch places in the arena. The row
// count of an activation is always dimension 0 of its buffer.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"
#include "codegen/Target.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::llm;

namespace {

int64_t columnsOf(Value tensor) {
  return cast<ShapedType>(tensor.getType()).getDimSize(1);
}

Value index(OpBuilder &b, Location loc, int64_t value) {
  return b.create<arith::ConstantIndexOp>(loc, value);
}

Value rowsOf(OpBuilder &b, Location loc, Value buffer) {
  return b.create<memref::DimOp>(loc, buffer, 0);
}

/// A fresh [rows, cols] buffer of `element` (f32 when null; cols = 0: a
/// vector of rows).
Value allocate(OpBuilder &b, Location loc, Value rows, int64_t cols,
               Type element = {}) {
  if (!element)
    element = b.getF32Type();
  MemRefType type =
      cols > 0 ? MemRefType::get({ShapedType::kDynamic, cols}, element)
               : MemRefType::get({ShapedType::kDynamic}, element);
  return b.create<memref::AllocOp>(loc, type, ValueRange{rows});
}

/// Columns [offset, offset + cols) of every row of `buffer`.
Value columns(OpBuilder &b, Location loc, Value buffer, Value rows,
              int64_t offset, int64_t cols) {
  return b.create<memref::SubViewOp>(
      loc, buffer,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(offset)},
      ArrayRef<OpFoldResult>{rows, b.getIndexAttr(cols)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// x * sigmoid(x) = x / (1 + exp(-x)).
Value silu(OpBuilder &b, Location loc, Value x) {
  Value one = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(1));
  Value denominator = b.create<arith::AddFOp>(
      loc, one, b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x)));
  return b.create<arith::DivFOp>(loc, x, denominator);
}

/// Widens a weight element to f32.
Value toF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return b.create<arith::ExtFOp>(loc, b.getF32Type(), v);
}

SmallVector<AffineMap> identityMaps(MLIRContext *ctx, unsigned rank,
                                    unsigned count) {
  return SmallVector<AffineMap>(count,
                                AffineMap::getMultiDimIdentityMap(rank, ctx));
}

SmallVector<utils::IteratorType> parallel(unsigned rank) {
  return SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);
}

using BodyBuilder = function_ref<void(OpBuilder &, Location, ValueRange)>;

/// out = body(inputs...) elementwise over [rows, cols].
void elementwise(OpBuilder &b, Location loc, ValueRange inputs, Value out,
                 BodyBuilder body) {
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, inputs, ValueRange{out},
      identityMaps(b.getContext(), 2, inputs.size() + 1), parallel(2), body);
}

/// `1 / sqrt(mean(x^2) + eps)` of every row of `x`, in a new vector.
Value emitRMSInv(OpBuilder &b, Location loc, Value x, Value rows, double eps) {
  MLIRContext *ctx = b.getContext();
  int64_t width = cast<MemRefType>(x.getType()).getDimSize(1);
  Value sums = allocate(b, loc, rows, 0);
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  b.create<linalg::FillOp>(loc, zero, sums);
  AffineMap rowMap = AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, ctx);
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, ValueRange{x}, ValueRange{sums},
      ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(2, ctx), rowMap},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                    utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value square = nb.create<arith::MulFOp>(nloc, args[0], args[0]);
        nb.create<linalg::YieldOp>(
            nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args[1], square)});
      });
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, ValueRange{}, ValueRange{sums}, identityMaps(ctx, 1, 1),
      parallel(1), [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value n = nb.create<arith::ConstantOp>(
            nloc, nb.getF32FloatAttr(static_cast<float>(width)));
        Value epsilon = nb.create<arith::ConstantOp>(
            nloc, nb.getF32FloatAttr(static_cast<float>(eps)));
        Value mean = nb.create<arith::DivFOp>(nloc, args[0], n);
        Value root = nb.create<math::SqrtOp>(
            nloc, nb.create<arith::AddFOp>(nloc, mean, epsilon));
        Value one = nb.create<arith::ConstantOp>(nloc, nb.getF32FloatAttr(1));
        nb.create<linalg::YieldOp>(
            nloc, ValueRange{nb.create<arith::DivFOp>(nloc, one, root)});
      });
  return sums;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Which of `param`'s copies holds layer `layer`: the layer itself, or for
/// a parameter holding some layers only (`layer_list`), how many of those
/// come before it (a compare and add per listed layer, in the host code
/// between kernels).
static Value layerCopy(OpBuilder &b, Location loc, ParamOp param,
                       Value layer) {
  std::optional<ArrayRef<int64_t>> list = param.getLayerList();
  if (!list)
    return layer;
  Value copy = index(b, loc, 0);
  Value one = index(b, loc, 1);
  for (int64_t listed : list->drop_back()) {
    Value after = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt,
                                          layer, index(b, loc, listed));
    copy = b.create<arith::AddIOp>(
        loc, copy,
        b.create<arith::SelectOp>(loc, after, one, index(b, loc, 0)));
  }
  return copy;
}

/// Where the bytes `into` the placed parameter `param` start for layer
/// `layer` (null when not stacked).
static Value layerOffset(OpBuilder &b, Location loc, ParamOp param,
                         Value layer, int64_t into) {
  PackedLayoutAttr layout = param.getLayout();
  Value offset = index(b, loc, *layout.getOffset() + into);
  if (layer) {
    Value stride = index(b, loc, *layout.getLayerStride());
    offset = b.create<arith::AddIOp>(
        loc, offset,
        b.create<arith::MulIOp>(loc, layerCopy(b, loc, param, layer),
                                stride));
  }
  return offset;
}

/// Where the bytes `into` the placed parameter `weight` reads start, for
/// its layer.
static Value layerOffset(OpBuilder &b, Location loc, WeightOp weight,
                         int64_t into) {
  return layerOffset(b, loc, weight.getParamOp(), weight.getLayer(), into);
}

/// A parameter (one layer's copy) becomes a view of the weight blob at the
/// place llm-plan-weights gave it; blocked matrices are viewed as
/// [rows / block, cols, block], or [rows / block, cols / n, block, n] when
/// interleaved by n.
struct WeightLowering : OpConversionPattern<WeightOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(WeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ParamOp param = op.getParamOp();
    PackedLayoutAttr layout = param ? param.getLayout() : PackedLayoutAttr();
    if (!layout || !layout.isPlaced())
      return op.emitError("parameter has no place in the weight blob; run "
                          "llm-plan-weights first");
    FailureOr<ABIArguments> abi = ABIArguments::of(op);
    if (failed(abi))
      return failure();
    Location loc = op.getLoc();
    Value offset = layerOffset(rewriter, loc, param, adaptor.getLayer(), 0);
    RankedTensorType type = param.getTensorType();
    SmallVector<int64_t> shape(type.getShape());
    if (std::optional<int64_t> block = layout.getBlock()) {
      int64_t blocks = llvm::divideCeil(shape[0], *block);
      int64_t n = param.getInterleave();
      shape = n > 1 ? SmallVector<int64_t>{blocks, shape[1] / n, *block, n}
                    : SmallVector<int64_t>{blocks, shape[1], *block};
    }
    // i4 is addressed as bytes, two lanes of a block's column each; so is
    // i6 (its low four bits; quantizedCrumbs views the top two).
    Type element = type.getElementType();
    if (element.isInteger(4) || element.isInteger(6)) {
      if (shape.size() < 3 || shape[2] % 2 != 0)
        return op.emitError("an i4 or i6 parameter needs an even block of "
                            "rows");
      if (element.isInteger(6) && (shape.size() != 4 || shape[1] % 2 != 0))
        return op.emitError("an i6 parameter needs an interleave with an "
                            "even number of runs");
      shape[2] /= 2;
      element = rewriter.getI8Type();
    }
    rewriter.replaceOpWithNewOp<memref::ViewOp>(
        op, MemRefType::get(shape, element), abi->weights, offset,
        ValueRange{});
    return success();
  }
};

/// The f16 scales of the quantized parameter `weight` reads, for its layer:
/// [blocks, cols / group, block] after the layer's i8 values ([rows, cols /
/// group, 1] unblocked).
static FailureOr<Value> quantizedScales(OpBuilder &b, Location loc,
                                        WeightOp weight, Operation *user) {
  ParamOp param = weight.getParamOp();
  PackedLayoutAttr layout = param ? param.getLayout() : PackedLayoutAttr();
  if (!layout || !layout.isPlaced())
    return user->emitError("a quantized weight needs a placed layout");
  FailureOr<ABIArguments> abi = ABIArguments::of(user);
  if (failed(abi))
    return failure();
  Value offset = layerOffset(b, loc, weight, paramScalesOffset(param));
  // Unblocked, one row per block.
  RankedTensorType type = param.getTensorType();
  int64_t block = layout.getBlock().value_or(1);
  int64_t blocks = llvm::divideCeil(type.getDimSize(0), block);
  return b
      .create<memref::ViewOp>(
          loc,
          MemRefType::get({blocks, type.getDimSize(1) / int64_t(*param.getGroup()),
                           block},
                          b.getF16Type()),
          abi->weights, offset, ValueRange{})
      .getResult();
}

/// The top two bits of the i6 parameter `weight` reads, for its layer:
/// [blocks, cols / n / 2, block / 2, n] bytes after its nibbles (see
/// llm.param), interleaved by n.
static FailureOr<Value> quantizedCrumbs(OpBuilder &b, Location loc,
                                        WeightOp weight, Operation *user) {
  ParamOp param = weight.getParamOp();
  PackedLayoutAttr layout = param ? param.getLayout() : PackedLayoutAttr();
  if (!layout || !layout.isPlaced() || !layout.getBlock() ||
      param.getInterleave() < 2)
    return user->emitError("an i6 weight needs a placed, blocked and "
                           "interleaved layout");
  FailureOr<ABIArguments> abi = ABIArguments::of(user);
  if (failed(abi))
    return failure();
  RankedTensorType type = param.getTensorType();
  int64_t block = *layout.getBlock(), n = param.getInterleave();
  int64_t blocks = llvm::divideCeil(type.getDimSize(0), block);
  int64_t cols = type.getDimSize(1);
  Value offset = layerOffset(b, loc, weight, paramCrumbsOffset(param));
  return b
      .create<memref::ViewOp>(
          loc,
          MemRefType::get({blocks, cols / n / 2, block / 2, n}, b.getI8Type()),
          abi->weights, offset, ValueRange{})
      .getResult();
}

/// Nibble `high` (0: low, 1: high) of the i8 `byte`, 0..15.
static Value nibbleOf(OpBuilder &b, Location loc, Value byte, Value high) {
  Type i8 = b.getI8Type();
  Value isHigh = b.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::ne, high,
      b.create<arith::ConstantIndexOp>(loc, 0));
  Value shifted = b.create<arith::ShRUIOp>(
      loc, byte, b.create<arith::ConstantOp>(loc, b.getIntegerAttr(i8, 4)));
  return b.create<arith::AndIOp>(
      loc, b.create<arith::SelectOp>(loc, isHigh, shifted, byte),
      b.create<arith::ConstantOp>(loc, b.getIntegerAttr(i8, 15)));
}

/// The signed value of the i6 integer whose low four bits are nibble `high`
/// (0: low, 1: high) of `byte` and whose top two are at bit 2 * (2 * `odd` +
/// `high`) of `crumbs` (`odd`: the run of columns is odd), stored offset by
/// 32; i8 in and out.
static Value unpackSixBits(OpBuilder &b, Location loc, Value byte,
                           Value crumbs, Value high, Value odd) {
  Type i8 = b.getI8Type();
  auto constant = [&](int64_t v) -> Value {
    return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(i8, v));
  };
  Value nibble = nibbleOf(b, loc, byte, high);
  // Bit 2 * (2 * odd + high) of the crumbs, as an i8 shift.
  Value at = b.create<arith::IndexCastOp>(
      loc, i8,
      b.create<arith::MulIOp>(
          loc,
          b.create<arith::AddIOp>(
              loc,
              b.create<arith::MulIOp>(
                  loc, odd, b.create<arith::ConstantIndexOp>(loc, 2)),
              high),
          b.create<arith::ConstantIndexOp>(loc, 2)));
  Value top = b.create<arith::AndIOp>(
      loc, b.create<arith::ShRUIOp>(loc, crumbs, at), constant(3));
  Value value = b.create<arith::OrIOp>(
      loc, nibble, b.create<arith::ShLIOp>(loc, top, constant(4)));
  return b.create<arith::SubIOp>(loc, value, constant(32));
}

/// One table row per token id; the table may be blocked and interleaved
/// (shared with a tied lm_head).
struct EmbeddingLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value ids = adaptor.getIds(), table = adaptor.getTable();
    Value out =
        allocate(rewriter, loc, rowsOf(rewriter, loc, ids), columnsOf(op));
    auto tableType = cast<MemRefType>(table.getType());
    // A quantized table: each element times its group's scale (plus its
    // offset when asymmetric).
    Value scales, offsets = adaptor.getOffsets(), crumbs;
    int64_t group = 0;
    if (tableType.getElementType().isInteger(8)) {
      auto weightOp = op.getTable().getDefiningOp<WeightOp>();
      ParamOp param = weightOp ? weightOp.getParamOp() : ParamOp();
      Type element =
          param ? param.getTensorType().getElementType() : Type();
      if (!param || !param.getGroup() ||
          !(element.isInteger(8) || element.isInteger(6)))
        return op.emitError("a quantized table must be an i8 or i6 "
                            "llm.param with a group");
      group = *param.getGroup();
      FailureOr<Value> view = quantizedScales(rewriter, loc, weightOp, op);
      if (failed(view))
        return failure();
      scales = *view;
      if (element.isInteger(6)) {
        FailureOr<Value> top = quantizedCrumbs(rewriter, loc, weightOp, op);
        if (failed(top))
          return failure();
        crumbs = *top;
      }
    }
    if (offsets && !scales)
      return op.emitError("group offsets need a quantized (i8) table");
    MLIRContext *ctx = rewriter.getContext();
    AffineMap idMap = AffineMap::get(2, 0, {rewriter.getAffineDimExpr(0)}, ctx);
    rewriter.create<linalg::GenericOp>(
        loc, TypeRange{}, ValueRange{ids}, ValueRange{out},
        ArrayRef<AffineMap>{idMap, AffineMap::getMultiDimIdentityMap(2, ctx)},
        parallel(2), [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value id =
              nb.create<arith::IndexCastOp>(nloc, nb.getIndexType(), args[0]);
          Value col = nb.create<linalg::IndexOp>(nloc, 1);
          SmallVector<Value> indices = {id, col};
          if (tableType.getRank() >= 3) {
            // (An i6 table's bytes hold two lanes of its block.)
            Value block = index(nb, nloc,
                                tableType.getDimSize(2) * (crumbs ? 2 : 1));
            indices = {nb.create<arith::DivUIOp>(nloc, id, block), col,
                       nb.create<arith::RemUIOp>(nloc, id, block)};
          }
          if (tableType.getRank() == 4) {
            // Interleaved: [id / block, col / n, id % block, col % n].
            Value n = index(nb, nloc, tableType.getDimSize(3));
            indices[1] = nb.create<arith::DivUIOp>(nloc, col, n);
            indices.push_back(nb.create<arith::RemUIOp>(nloc, col, n));
          }
          Value element;
          if (crumbs) {
            // i6 [id / block, col / n, j, col % n] for the lane id % block
            // = h * block / 2 + j, the top bits' run col / n / 2.
            Value half = indices[2];
            indices[2] = nb.create<arith::RemUIOp>(
                nloc, half, index(nb, nloc, tableType.getDimSize(2)));
            Value high = nb.create<arith::DivUIOp>(
                nloc, half, index(nb, nloc, tableType.getDimSize(2)));
            Value byte = nb.create<memref::LoadOp>(nloc, table, indices);
            Value two = index(nb, nloc, 2);
            Value top = nb.create<memref::LoadOp>(
                nloc, crumbs,
                ValueRange{indices[0],
                           nb.create<arith::DivUIOp>(nloc, indices[1], two),
                           indices[2], indices[3]});
            element = unpackSixBits(
                nb, nloc, byte, top, high,
                nb.create<arith::RemUIOp>(nloc, indices[1], two));
            indices[2] = half;
          } else {
            element = nb.create<memref::LoadOp>(nloc, table, indices);
          }
          if (scales) {
            // Scales [id / block, col / group, id % block].
            SmallVector<Value> at = {id, nb.create<arith::DivUIOp>(
                                             nloc, col, index(nb, nloc, group)),
                                     index(nb, nloc, 0)};
            if (tableType.getRank() >= 3)
              at = {indices[0], at[1], indices[2]};
            Value scale = nb.create<memref::LoadOp>(nloc, scales, at);
            Value value = nb.create<arith::MulFOp>(
                nloc,
                nb.create<arith::SIToFPOp>(nloc, nb.getF32Type(), element),
                toF32(nb, nloc, scale));
            if (offsets) {
              // Offsets [id / block, col / group, id % block] when blocked,
              // [id, col / group] otherwise.
              auto offsetsType = cast<MemRefType>(offsets.getType());
              SmallVector<Value> offsetAt = {id, at[1]};
              if (offsetsType.getRank() == 3) {
                Value block = index(nb, nloc, offsetsType.getDimSize(2));
                offsetAt = {nb.create<arith::DivUIOp>(nloc, id, block), at[1],
                            nb.create<arith::RemUIOp>(nloc, id, block)};
              }
              value = nb.create<arith::AddFOp>(
                  nloc, value,
                  toF32(nb, nloc,
                        nb.create<memref::LoadOp>(nloc, offsets, offsetAt)));
            }
            nb.create<linalg::YieldOp>(nloc, ValueRange{value});
            return;
          }
          nb.create<linalg::YieldOp>(nloc, toF32(nb, nloc, element));
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct RMSInvLowering : OpConversionPattern<RMSInvOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RMSInvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    rewriter.replaceOp(op,
                       emitRMSInv(rewriter, loc, x, rowsOf(rewriter, loc, x),
                                  op.getEps().convertToDouble()));
    return success();
  }
};

/// result[m, g] = sum_j x[m, g, j] over x viewed as [rows, groups, group].
struct GroupSumLowering : OpConversionPattern<GroupSumOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(GroupSumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    Value rows = rowsOf(rewriter, loc, x);
    int64_t groups = columnsOf(op), group = op.getGroup();
    Value out = allocate(rewriter, loc, rows, groups);
    Value zero =
        rewriter.create<arith::ConstantOp>(loc, rewriter.getF32FloatAttr(0));
    rewriter.create<linalg::FillOp>(loc, zero, out);
    auto xType = cast<MemRefType>(x.getType());
    Value grouped = rewriter.create<memref::ExpandShapeOp>(
        loc,
        MemRefType::get({ShapedType::kDynamic, groups, group},
                        xType.getElementType()),
        x, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
        ArrayRef<OpFoldResult>{rows, rewriter.getIndexAttr(groups),
                               rewriter.getIndexAttr(group)});
    AffineMap outMap = AffineMap::get(
        3, 0, {rewriter.getAffineDimExpr(0), rewriter.getAffineDimExpr(1)},
        ctx);
    rewriter.create<linalg::GenericOp>(
        loc, TypeRange{}, ValueRange{grouped}, ValueRange{out},
        ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(3, ctx), outMap},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                      utils::IteratorType::parallel,
                                      utils::IteratorType::reduction},
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          nb.create<linalg::YieldOp>(nloc, ValueRange{nb.create<arith::AddFOp>(
                                               nloc, args[1], args[0])});
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct RMSNormLowering : OpConversionPattern<RMSNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value rows = rowsOf(rewriter, loc, x);
    Value inv =
        emitRMSInv(rewriter, loc, x, rows, op.getEps().convertToDouble());
    Value out = allocate(rewriter, loc, rows, columnsOf(op));
    MLIRContext *ctx = rewriter.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap rowMap =
        AffineMap::get(2, 0, {rewriter.getAffineDimExpr(0)}, ctx);
    AffineMap colMap =
        AffineMap::get(2, 0, {rewriter.getAffineDimExpr(1)}, ctx);
    rewriter.create<linalg::GenericOp>(
        loc, TypeRange{}, ValueRange{x, inv, adaptor.getWeight()},
        ValueRange{out}, ArrayRef<AffineMap>{id, rowMap, colMap, id},
        parallel(2), [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value scaled = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
          nb.create<linalg::YieldOp>(
              nloc, ValueRange{nb.create<arith::MulFOp>(
                        nloc, scaled, toF32(nb, nloc, args[2]))});
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// The signed value of nibble `high` (0: low, 1: high) of `byte`, stored
/// offset by 8.
static Value unpackNibble(OpBuilder &b, Location loc, Value byte, Value high) {
  return b.create<arith::SubIOp>(
      loc, nibbleOf(b, loc, byte, high),
      b.create<arith::ConstantOp>(loc, b.getIntegerAttr(b.getI8Type(), 8)));
}

/// A 4-bit weight's f16 scales [blocks, groups, block] and the output
/// [rows, blocks * block] viewed by halves of the block, `half` lanes each:
/// [blocks, groups, 2, half] and [rows, blocks, 2, half].
static std::pair<Value, Value> nibbleHalves(OpBuilder &b, Location loc,
                                            Value scales, Value out,
                                            Value rows, int64_t half) {
  auto scalesType = cast<MemRefType>(scales.getType());
  int64_t blocks = scalesType.getDimSize(0);
  Value scaleHalves = b.create<memref::ExpandShapeOp>(
      loc,
      MemRefType::get({blocks, scalesType.getDimSize(1), 2, half},
                      b.getF16Type()),
      scales, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  Value outHalves = b.create<memref::ExpandShapeOp>(
      loc,
      MemRefType::get({ShapedType::kDynamic, blocks, 2, half}, b.getF32Type()),
      out, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}},
      ArrayRef<OpFoldResult>{rows, b.getIndexAttr(blocks), b.getIndexAttr(2),
                             b.getIndexAttr(half)});
  return {scaleHalves, outHalves};
}

/// Each row of `x` [rows, cols] f32 quantized in groups of `group` columns,
/// one `scf.forall` iteration per row: a group's integers v = round(x / d)
/// for d = max |x| / 127 (8 bits; `limbs` = 1), or, in 16 bits (`limbs` =
/// 2), for d = max |x| / kInputLimbMax, split into the limbs h = (v + 128)
/// >> 8 and l = v - 256 h (both in [-128, 127]). Returns the integers [rows,
/// cols * limbs] i8 (a group's limbs one after the other, the high one
/// first), the scales d [rows, cols / group] f32 and the sums of v [rows,
/// cols / group] i32, which the unsigned-weight dot product subtracts 128
/// or 8 times.
static std::array<Value, 3> quantizeRows(OpBuilder &b, Location loc, Value x,
                                         Value rows, int64_t group,
                                         int64_t limbs) {
  int64_t cols = columnsOf(x), groups = cols / group;
  Value q = allocate(b, loc, rows, cols * limbs, b.getI8Type());
  Value scales = allocate(b, loc, rows, groups);
  Value sums = allocate(b, loc, rows, groups, b.getI32Type());
  auto forall = b.create<scf::ForallOp>(loc, ArrayRef<OpFoldResult>{rows},
                                        ValueRange{}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value r = forall.getInductionVar(0);
  auto f32Type = VectorType::get({group}, b.getF32Type());
  auto i32Type = VectorType::get({group}, b.getI32Type());
  auto i8Type = VectorType::get({group}, b.getI8Type());
  b.create<scf::ForOp>(
      loc, index(b, loc, 0), index(b, loc, groups), index(b, loc, 1),
      ValueRange{}, [&](OpBuilder &nb, Location nloc, Value g, ValueRange) {
        Value col = nb.create<arith::MulIOp>(nloc, g, index(nb, nloc, group));
        Value pad = nb.create<arith::ConstantOp>(nloc, nb.getF32FloatAttr(0));
        Value v = nb.create<vector::TransferReadOp>(
            nloc, f32Type, x, ValueRange{r, col}, pad, ArrayRef<bool>{true});
        Value amax = nb.create<vector::ReductionOp>(
            nloc, vector::CombiningKind::MAXNUMF,
            nb.create<math::AbsFOp>(nloc, v));
        auto constant = [&](float value) -> Value {
          return nb.create<arith::ConstantOp>(nloc, nb.getF32FloatAttr(value));
        };
        float largest = limbs == 2 ? float(kInputLimbMax) : 127.0f;
        Value scale = nb.create<arith::DivFOp>(nloc, amax, constant(largest));
        Value positive = nb.create<arith::CmpFOp>(
            nloc, arith::CmpFPredicate::OGT, amax, constant(0));
        Value inverse = nb.create<arith::SelectOp>(
            nloc, positive,
            nb.create<arith::DivFOp>(nloc, constant(largest), amax),
            constant(0));
        Value scaled = nb.create<arith::MulFOp>(
            nloc, v, nb.create<vector::SplatOp>(nloc, f32Type, inverse));
        Value whole = nb.create<arith::FPToSIOp>(
            nloc, i32Type, nb.create<math::RoundEvenOp>(nloc, scaled));
        Value sum = nb.create<vector::ReductionOp>(
            nloc, vector::CombiningKind::ADD, whole);
        SmallVector<Value> parts = {whole};
        if (limbs == 2) {
          auto splatInt = [&](int64_t value) -> Value {
            return nb.create<arith::ConstantOp>(
                nloc, DenseElementsAttr::get(
                          i32Type, nb.getI32IntegerAttr(int32_t(value))));
          };
          Value shift = splatInt(llvm::Log2_64(kInputLimbBase));
          Value high = nb.create<arith::ShRSIOp>(
              nloc,
              nb.create<arith::AddIOp>(nloc, whole,
                                       splatInt(kInputLimbBase / 2)),
              shift);
          Value low = nb.create<arith::SubIOp>(
              nloc, whole, nb.create<arith::ShLIOp>(nloc, high, shift));
          parts = {high, low};
        }
        Value first = nb.create<arith::MulIOp>(
            nloc, g, index(nb, nloc, group * limbs));
        for (int64_t l = 0; l < limbs; ++l)
          nb.create<vector::TransferWriteOp>(
              nloc, nb.create<arith::TruncIOp>(nloc, i8Type, parts[l]), q,
              ValueRange{r, nb.create<arith::AddIOp>(
                                nloc, first, index(nb, nloc, l * group))},
              ArrayRef<bool>{true});
        nb.create<memref::StoreOp>(nloc, scale, scales, ValueRange{r, g});
        nb.create<memref::StoreOp>(nloc, sum, sums, ValueRange{r, g});
        nb.create<scf::YieldOp>(nloc);
      });
  return {q, scales, sums};
}

/// out = x W^T as a multiply-add generic over the packed weight (loops m, b,
/// r, k for a blocked [b, k, r] weight; m, b, r, kk, p over an input rounded
/// to bf16 for an interleaved [b, k / n, r, n] one; m, n, k otherwise),
/// carrying the strategy's `llm.lowering_config`; then the row scale, and a
/// view of the real columns when the blocks pad the output.
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput(), weight = adaptor.getWeight();
    Value rows = rowsOf(rewriter, loc, x);
    auto weightType = cast<MemRefType>(weight.getType());
    int64_t outputs = columnsOf(op);
    bool blocked = weightType.getRank() >= 3;
    bool interleaved = weightType.getRank() == 4;
    auto weightOp = op.getWeight().getDefiningOp<WeightOp>();
    ParamOp param = weightOp ? weightOp.getParamOp() : ParamOp();
    bool int6 = param && param.getTensorType().getElementType().isInteger(6);
    // An i6 weight's low four bits are laid out as i4's.
    bool int4 =
        int6 || (param && param.getTensorType().getElementType().isInteger(4));
    // An i4 weight's bytes hold two lanes of its block each.
    int64_t block = blocked ? weightType.getDimSize(2) * (int4 ? 2 : 1) : 1;
    int64_t padded = blocked ? weightType.getDimSize(0) * block : outputs;
    Value out = allocate(rewriter, loc, rows, padded);
    Value zero =
        rewriter.create<arith::ConstantOp>(loc, rewriter.getF32FloatAttr(0));
    rewriter.create<linalg::FillOp>(loc, zero, out);

    auto body = [&](OpBuilder &nb, Location nloc, ValueRange args) {
      Value product = nb.create<arith::MulFOp>(nloc, toF32(nb, nloc, args[0]),
                                               toF32(nb, nloc, args[1]));
      nb.create<linalg::YieldOp>(nloc, ValueRange{nb.create<arith::AddFOp>(
                                           nloc, args.back(), product)});
    };
    auto d = [&](unsigned i) { return rewriter.getAffineDimExpr(i); };
    linalg::GenericOp matmul;
    auto outBlocked = [&] {
      return rewriter.create<memref::ExpandShapeOp>(
          loc,
          MemRefType::get(
              {ShapedType::kDynamic, weightType.getDimSize(0), block},
              rewriter.getF32Type()),
          out, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
          ArrayRef<OpFoldResult>{
              rows, rewriter.getIndexAttr(weightType.getDimSize(0)),
              rewriter.getIndexAttr(block)});
    };
    if (int6 && !(param.getGroup() && interleaved))
      return op.emitError("an i6 weight is multiplied on the 8-bit dot "
                          "product only (interleaved in its groups)");
    if (op.getOffsets() && !(param && param.getGroup() && interleaved))
      return op.emitError("group offsets stay in a projection only on the "
                          "8-bit dot product; llm-select-strategy makes "
                          "them a projection of their own elsewhere");
    if (param && param.getGroup() && interleaved) {
      // The 8-bit dot product: x quantized per row and group (xq, xs, and
      // the integers' sums xsum), then out[m, b, r] += xq[m, g * kg + n *
      // kq + p] * w[b, kg, kq, r, p] * (s[b, kg, r] * xs[m, kg]) over loops
      // (m, b, r, kg, kq, p) for the interleave n (4 for dot products, 8
      // for 2 x 8 matrix products); in 4 bits the lanes r are (h, j) as
      // above and the weight bytes w[b, kg, kq, j, p]. With 16-bit inputs
      // (input_bits = 16) a last loop l over the two 8-bit limbs, xq[m, kg,
      // l, n * kq + p], the high limb (l = 0) times kInputLimbBase. xsum
      // is read by the vector code only. Asymmetric weights add a sixth
      // input, the group offsets o[b, kg, r] (laid out as the scales), and
      // each element adds o * xq * xs (with its limb's factor): summed over
      // a group, o times the group's input sum.
      int64_t group = *param.getGroup(), n = weightType.getDimSize(3);
      if ((n != 4 && n != 8) || group % n != 0)
        return op.emitError("a quantized weight multiplied by the 8-bit dot "
                            "product must be interleaved by 4 or 8 within "
                            "its group");
      FailureOr<Value> scales = quantizedScales(rewriter, loc, weightOp, op);
      if (failed(scales))
        return failure();
      LoweringConfigAttr config =
          LLMDialect::LoweringConfigAttrHelper(ctx).getAttr(op);
      int64_t limbs =
          config && config.getInputBits().value_or(8) == 16 ? 2 : 1;
      auto [xq, xs, xsum] =
          quantizeRows(rewriter, loc, x, rows, group, limbs);
      int64_t blocks = weightType.getDimSize(0);
      int64_t quads = weightType.getDimSize(1);
      int64_t lanes = weightType.getDimSize(2);
      Value grouped = rewriter.create<memref::ExpandShapeOp>(
          loc,
          MemRefType::get({blocks, quads * n / group, group / n, lanes, n},
                          rewriter.getI8Type()),
          weight, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
      Value wScales = *scales, target = outBlocked();
      // Asymmetric groups: the offsets, laid out as the scales.
      Value offsets = adaptor.getOffsets();
      SmallVector<AffineExpr> laneDims = {d(2)};
      unsigned kg = 3;
      if (int4) {
        std::tie(wScales, target) =
            nibbleHalves(rewriter, loc, *scales, out, rows, lanes);
        if (offsets)
          offsets =
              nibbleHalves(rewriter, loc, offsets, out, rows, lanes).first;
        laneDims = {d(2), d(3)};
        kg = 4;
      }
      // In 16 bits a last loop l over the limbs: the high one counts
      // kInputLimbBase times.
      unsigned loops = kg + 3 + (limbs == 2 ? 1 : 0);
      auto map = [&](ArrayRef<AffineExpr> front,
                     ArrayRef<AffineExpr> back = {}) {
        SmallVector<AffineExpr> results(front);
        llvm::append_range(results, back);
        return AffineMap::get(loops, 0, results, ctx);
      };
      SmallVector<utils::IteratorType> iterators(
          loops, utils::IteratorType::parallel);
      for (unsigned i = kg; i < loops; ++i)
        iterators[i] = utils::IteratorType::reduction;
      // 16-bit inputs are viewed as [m, k / g, 2, g] (each loop a dimension
      // of some operand).
      int64_t groups = quads * n / group;
      SmallVector<AffineExpr> xIndex = {d(0), d(kg) * group + d(kg + 1) * n +
                                                  d(kg + 2)};
      Value xInput = xq;
      if (limbs == 2) {
        xIndex = {d(0), d(kg), d(kg + 3), d(kg + 1) * n + d(kg + 2)};
        xInput = rewriter.create<memref::ExpandShapeOp>(
            loc,
            MemRefType::get({ShapedType::kDynamic, groups, 2, group},
                            rewriter.getI8Type()),
            xq, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}},
            ArrayRef<OpFoldResult>{rows, rewriter.getIndexAttr(groups),
                                   rewriter.getIndexAttr(2),
                                   rewriter.getIndexAttr(group)});
      }
      SmallVector<Value> inputs = {xInput, grouped, wScales, xs, xsum};
      SmallVector<AffineMap> maps = {
          map(xIndex),
          map({d(1), d(kg), d(kg + 1), laneDims.back(), d(kg + 2)}),
          map({d(1), d(kg)}, laneDims), map({d(0), d(kg)}), map({d(0), d(kg)})};
      if (offsets) {
        inputs.push_back(offsets);
        maps.push_back(map({d(1), d(kg)}, laneDims));
      }
      // i6: the top two bits last, [b, kg, kq / 2, j, p].
      if (int6) {
        if (group % (2 * n) != 0)
          return op.emitError("an i6 weight's groups must hold an even "
                              "number of runs of ")
                 << n << " columns";
        FailureOr<Value> crumbs = quantizedCrumbs(rewriter, loc, weightOp, op);
        if (failed(crumbs))
          return failure();
        inputs.push_back(rewriter.create<memref::ExpandShapeOp>(
            loc,
            MemRefType::get({blocks, groups, group / n / 2, lanes, n},
                            rewriter.getI8Type()),
            *crumbs, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}, {4}}));
        maps.push_back(map({d(1), d(kg), d(kg + 1).floorDiv(2), d(3),
                            d(kg + 2)}));
      }
      maps.push_back(map({d(0), d(1)}, laneDims));
      matmul = rewriter.create<linalg::GenericOp>(
          loc, TypeRange{}, inputs, ValueRange{target}, maps, iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value q = args[1];
            if (int6)
              q = unpackSixBits(
                  nb, nloc, q, args[inputs.size() - 1],
                  nb.create<linalg::IndexOp>(nloc, 2),
                  nb.create<arith::RemUIOp>(
                      nloc, nb.create<linalg::IndexOp>(nloc, kg + 1),
                      nb.create<arith::ConstantIndexOp>(nloc, 2)));
            else if (int4)
              q = unpackNibble(nb, nloc, q,
                               nb.create<linalg::IndexOp>(nloc, 2));
            Type i32 = nb.getI32Type();
            Value product = nb.create<arith::MulIOp>(
                nloc, nb.create<arith::ExtSIOp>(nloc, i32, args[0]),
                nb.create<arith::ExtSIOp>(nloc, i32, q));
            Value scale =
                nb.create<arith::MulFOp>(nloc, toF32(nb, nloc, args[2]),
                                         args[3]);
            Value limb;
            if (limbs == 2) {
              Value high = nb.create<arith::CmpIOp>(
                  nloc, arith::CmpIPredicate::eq,
                  nb.create<linalg::IndexOp>(nloc, kg + 3),
                  nb.create<arith::ConstantIndexOp>(nloc, 0));
              limb = nb.create<arith::SelectOp>(
                  nloc, high,
                  nb.create<arith::ConstantOp>(
                      nloc, nb.getF32FloatAttr(kInputLimbBase)),
                  nb.create<arith::ConstantOp>(nloc, nb.getF32FloatAttr(1)));
              scale = nb.create<arith::MulFOp>(nloc, scale, limb);
            }
            Value term = nb.create<arith::MulFOp>(
                nloc,
                nb.create<arith::SIToFPOp>(nloc, nb.getF32Type(), product),
                scale);
            if (offsets) {
              // The group's offset times this input (its integer, scale
              // and limb factor): summed, offset x the group's input sum.
              Value inputScale =
                  limb ? nb.create<arith::MulFOp>(nloc, args[3], limb)
                       : args[3];
              Value input = nb.create<arith::SIToFPOp>(
                  nloc, nb.getF32Type(),
                  nb.create<arith::ExtSIOp>(nloc, i32, args[0]));
              term = nb.create<arith::AddFOp>(
                  nloc, term,
                  nb.create<arith::MulFOp>(
                      nloc, input,
                      nb.create<arith::MulFOp>(nloc, toF32(nb, nloc, args[5]),
                                               inputScale)));
            }
            nb.create<linalg::YieldOp>(
                nloc,
                ValueRange{nb.create<arith::AddFOp>(nloc, args.back(), term)});
          });
    } else if (int4) {
      // out[m, b, h, j] += x[m, g * kg + ki] * (nibble h of w[b, kg, ki, j]
      // - 8) * s[b, kg, h, j]: lane h * block / 2 + j of the block; loops
      // (m, b, h, j, kg, ki).
      if (!param.getGroup() || !blocked || interleaved)
        return op.emitError("an i4 weight must be a blocked llm.param with "
                            "a group");
      int64_t group = *param.getGroup(), half = block / 2;
      FailureOr<Value> scales = quantizedScales(rewriter, loc, weightOp, op);
      if (failed(scales))
        return failure();
      int64_t blocks = weightType.getDimSize(0);
      int64_t cols = weightType.getDimSize(1);
      Type i8 = rewriter.getI8Type();
      Value grouped = rewriter.create<memref::ExpandShapeOp>(
          loc, MemRefType::get({blocks, cols / group, group, half}, i8),
          weight, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
      auto [halves, outHalves] =
          nibbleHalves(rewriter, loc, *scales, out, rows, half);
      auto red = utils::IteratorType::reduction;
      auto par = utils::IteratorType::parallel;
      matmul = rewriter.create<linalg::GenericOp>(
          loc, TypeRange{}, ValueRange{x, grouped, halves},
          ValueRange{outHalves},
          ArrayRef<AffineMap>{
              AffineMap::get(6, 0, {d(0), d(4) * group + d(5)}, ctx),
              AffineMap::get(6, 0, {d(1), d(4), d(5), d(3)}, ctx),
              AffineMap::get(6, 0, {d(1), d(4), d(2), d(3)}, ctx),
              AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx)},
          ArrayRef<utils::IteratorType>{par, par, par, par, red, red},
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value q = unpackNibble(nb, nloc, args[1],
                                   nb.create<linalg::IndexOp>(nloc, 2));
            Value w = nb.create<arith::SIToFPOp>(nloc, nb.getF32Type(), q);
            Value scaled =
                nb.create<arith::MulFOp>(nloc, w, toF32(nb, nloc, args[2]));
            Value product = nb.create<arith::MulFOp>(nloc, args[0], scaled);
            nb.create<linalg::YieldOp>(
                nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args[3],
                                                          product)});
          });
    } else if (weightType.getElementType().isInteger(8)) {
      // Quantized: out[m, b, r] += x[m, g * kg + ki] * (w[b, kg, ki, r] *
      // s[b, kg, r]), the i8 weight viewed per group; loops (m, b, r, kg,
      // ki).
      if (!param || !param.getGroup() || !blocked || interleaved)
        return op.emitError("a quantized weight must be a blocked "
                            "llm.param with a group");
      int64_t group = *param.getGroup();
      FailureOr<Value> scales = quantizedScales(rewriter, loc, weightOp, op);
      if (failed(scales))
        return failure();
      int64_t cols = weightType.getDimSize(1);
      Value grouped = rewriter.create<memref::ExpandShapeOp>(
          loc,
          MemRefType::get({weightType.getDimSize(0), cols / group, group,
                           block},
                          weightType.getElementType()),
          weight, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
      auto red = utils::IteratorType::reduction;
      auto par = utils::IteratorType::parallel;
      matmul = rewriter.create<linalg::GenericOp>(
          loc, TypeRange{}, ValueRange{x, grouped, *scales},
          ValueRange{outBlocked()},
          ArrayRef<AffineMap>{
              AffineMap::get(5, 0, {d(0), d(3) * group + d(4)}, ctx),
              AffineMap::get(5, 0, {d(1), d(3), d(4), d(2)}, ctx),
              AffineMap::get(5, 0, {d(1), d(3), d(2)}, ctx),
              AffineMap::get(5, 0, {d(0), d(1), d(2)}, ctx)},
          ArrayRef<utils::IteratorType>{par, par, par, red, red},
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value w = nb.create<arith::SIToFPOp>(nloc, nb.getF32Type(),
                                                 args[1]);
            Value scaled =
                nb.create<arith::MulFOp>(nloc, w, toF32(nb, nloc, args[2]));
            Value product =
                nb.create<arith::MulFOp>(nloc, args[0], scaled);
            nb.create<linalg::YieldOp>(
                nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args[3],
                                                          product)});
          });
    } else if (interleaved) {
      // The input rounded to the weight's type, then out[m, b, r] +=
      // x[m, n * kk + p] * w[b, kk, r, p]; loops (m, b, r, kk, p).
      int64_t n = weightType.getDimSize(3);
      Type element = weightType.getElementType();
      Value rounded = allocate(rewriter, loc, rows,
                               cast<MemRefType>(x.getType()).getDimSize(1),
                               element);
      elementwise(rewriter, loc, x, rounded,
                  [&](OpBuilder &nb, Location nloc, ValueRange args) {
                    nb.create<linalg::YieldOp>(
                        nloc, ValueRange{nb.create<arith::TruncFOp>(
                                  nloc, element, args[0])});
                  });
      auto red = utils::IteratorType::reduction;
      auto par = utils::IteratorType::parallel;
      matmul = rewriter.create<linalg::GenericOp>(
          loc, TypeRange{}, ValueRange{rounded, weight},
          ValueRange{outBlocked()},
          ArrayRef<AffineMap>{
              AffineMap::get(5, 0, {d(0), d(3) * n + d(4)}, ctx),
              AffineMap::get(5, 0, {d(1), d(3), d(2), d(4)}, ctx),
              AffineMap::get(5, 0, {d(0), d(1), d(2)}, ctx)},
          ArrayRef<utils::IteratorType>{par, par, par, red, red}, body);
    } else if (blocked) {
      // out[m, b, r] += x[m, k] * w[b, k, r]; loops (m, b, r, k).
      matmul = rewriter.create<linalg::GenericOp>(
          loc, TypeRange{}, ValueRange{x, weight}, ValueRange{outBlocked()},
          ArrayRef<AffineMap>{AffineMap::get(4, 0, {d(0), d(3)}, ctx),
                              AffineMap::get(4, 0, {d(1), d(3), d(2)}, ctx),
                              AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)},
          ArrayRef<utils::IteratorType>{
              utils::IteratorType::parallel, utils::IteratorType::parallel,
              utils::IteratorType::parallel, utils::IteratorType::reduction},
          body);
    } else {
      // out[m, n] += x[m, k] * w[n, k]; loops (m, n, k).
      matmul = rewriter.create<linalg::GenericOp>(
          loc, TypeRange{}, ValueRange{x, weight}, ValueRange{out},
          ArrayRef<AffineMap>{AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                              AffineMap::get(3, 0, {d(1), d(2)}, ctx),
                              AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::parallel,
                                        utils::IteratorType::reduction},
          body);
    }
    LLMDialect::LoweringConfigAttrHelper configAttr(ctx);
    if (LoweringConfigAttr config = configAttr.getAttr(op))
      configAttr.setAttr(matmul, config);

    if (Value scale = adaptor.getRowScale()) {
      AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
      AffineMap rowMap = AffineMap::get(2, 0, {d(0)}, ctx);
      rewriter.create<linalg::GenericOp>(
          loc, TypeRange{}, ValueRange{scale}, ValueRange{out},
          ArrayRef<AffineMap>{rowMap, id}, parallel(2),
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            nb.create<linalg::YieldOp>(
                nloc,
                ValueRange{nb.create<arith::MulFOp>(nloc, args[0], args[1])});
          });
    }
    if (padded != outputs)
      out = columns(rewriter, loc, out, rows, 0, outputs);
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// A view; no copy.
struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    rewriter.replaceOp(op, columns(rewriter, loc, input,
                                   rowsOf(rewriter, loc, input), op.getOffset(),
                                   columnsOf(op)));
    return success();
  }
};

/// A view of the last `count` rows; no copy.
struct LastRowsLowering : OpConversionPattern<LastRowsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LastRowsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput(), count = adaptor.getCount();
    Value first = rewriter.create<arith::SubIOp>(
        loc, rowsOf(rewriter, loc, input), count);
    rewriter.replaceOpWithNewOp<memref::SubViewOp>(
        op, input, ArrayRef<OpFoldResult>{first, rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{count, rewriter.getIndexAttr(columnsOf(op))},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1),
                               rewriter.getIndexAttr(1)});
    return success();
  }
};

/// A constant global holding `values` as f64, created once per name.
Value constantTable(OpBuilder &b, Location loc, ModuleOp module, StringRef name,
                    ArrayRef<double> values) {
  auto type =
      MemRefType::get({static_cast<int64_t>(values.size())}, b.getF64Type());
  if (!module.lookupSymbol(name)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto tensorType = RankedTensorType::get(
        {static_cast<int64_t>(values.size())}, b.getF64Type());
    b.create<memref::GlobalOp>(loc, name, b.getStringAttr("private"), type,
                               DenseElementsAttr::get(tensorType, values),
                               /*constant=*/true, IntegerAttr());
  }
  return b.create<memref::GetGlobalOp>(loc, type, name);
}

/// Rotate-half RoPE; the angle is computed in f64 from a table of the
/// op's frequencies and reduced to [0, 2pi) before the f32 cos/sin, so long
/// contexts keep their precision.
struct RoPELowering : OpConversionPattern<RoPEOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RoPEOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), start = adaptor.getStart();
    int64_t headDim = op.getHeadDim(), half = headDim / 2;
    SmallVector<double> frequencies = op.getInverseFrequencies();
    // One table per distinct frequency set; the name encodes its values.
    StringRef bits(reinterpret_cast<const char *>(frequencies.data()),
                   frequencies.size() * sizeof(double));
    std::string name =
        "__llm_rope_inv_freq_" + std::to_string(headDim) + "_" +
        std::to_string(static_cast<size_t>(llvm::hash_value(bits)));
    Value table = constantTable(rewriter, loc, op->getParentOfType<ModuleOp>(),
                                name, frequencies);
    Value rows = rowsOf(rewriter, loc, x);
    Value out = allocate(rewriter, loc, rows, columnsOf(op));
    // The angle of pair j at row m, reduced and narrowed to f32.
    auto narrowAngle = [&](OpBuilder &nb, Location nloc, Value m, Value j) {
      Value position = nb.create<arith::IndexCastOp>(
          nloc, nb.getI64Type(), nb.create<arith::AddIOp>(nloc, start, m));
      Value angle = nb.create<arith::MulFOp>(
          nloc, nb.create<arith::SIToFPOp>(nloc, nb.getF64Type(), position),
          nb.create<memref::LoadOp>(nloc, table, ValueRange{j}));
      Value twoPi =
          nb.create<arith::ConstantOp>(nloc, nb.getF64FloatAttr(2 * M_PI));
      Value turns = nb.create<math::FloorOp>(
          nloc, nb.create<arith::DivFOp>(nloc, angle, twoPi));
      Value reduced = nb.create<arith::SubFOp>(
          nloc, angle, nb.create<arith::MulFOp>(nloc, turns, twoPi));
      return nb.create<arith::TruncFOp>(nloc, nb.getF32Type(), reduced);
    };
    // On a CPU every head of a row shares the row's head_dim / 2 angles:
    // their cosines and sines go into a [rows, head_dim] table first (one
    // cos and one sin per pair, not per element of every head), and the
    // rotation reads them. The same values, bit for bit. A GPU keeps them
    // in the rotation, which its fusion moves into the projection.
    auto target = LLMDialect::TargetAttrHelper(op->getContext())
                      .getAttr(op->getParentOfType<ModuleOp>());
    Value trig;
    if (!target || target.getSmCount() == 0) {
      trig = allocate(rewriter, loc, rows, headDim);
      elementwise(rewriter, loc, ValueRange{}, trig,
                  [&](OpBuilder &nb, Location nloc, ValueRange) {
                    Value m = nb.create<linalg::IndexOp>(nloc, 0);
                    Value c = nb.create<linalg::IndexOp>(nloc, 1);
                    Value halfIdx = index(nb, nloc, half);
                    Value first = nb.create<arith::CmpIOp>(
                        nloc, arith::CmpIPredicate::ult, c, halfIdx);
                    Value j = nb.create<arith::SelectOp>(
                        nloc, first, c,
                        nb.create<arith::SubIOp>(nloc, c, halfIdx));
                    Value narrow = narrowAngle(nb, nloc, m, j);
                    Value value = nb.create<arith::SelectOp>(
                        nloc, first, nb.create<math::CosOp>(nloc, narrow),
                        nb.create<math::SinOp>(nloc, narrow));
                    nb.create<linalg::YieldOp>(nloc, ValueRange{value});
                  });
    }
    elementwise(
        rewriter, loc, ValueRange{x}, out,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          auto cidx = [&](int64_t v) { return index(nb, nloc, v); };
          Value m = nb.create<linalg::IndexOp>(nloc, 0);
          Value c = nb.create<linalg::IndexOp>(nloc, 1);
          Value i = nb.create<arith::RemUIOp>(nloc, c, cidx(headDim));
          Value first = nb.create<arith::CmpIOp>(
              nloc, arith::CmpIPredicate::ult, i, cidx(half));
          Value j = nb.create<arith::SelectOp>(
              nloc, first, i, nb.create<arith::SubIOp>(nloc, i, cidx(half)));
          Value partner = nb.create<arith::SelectOp>(
              nloc, first, nb.create<arith::AddIOp>(nloc, c, cidx(half)),
              nb.create<arith::SubIOp>(nloc, c, cidx(half)));
          Value cos, sin;
          if (trig) {
            cos = nb.create<memref::LoadOp>(nloc, trig, ValueRange{m, j});
            sin = nb.create<memref::LoadOp>(
                nloc, trig,
                ValueRange{m, nb.create<arith::AddIOp>(nloc, j, cidx(half))});
          } else {
            Value narrow = narrowAngle(nb, nloc, m, j);
            cos = nb.create<math::CosOp>(nloc, narrow);
            sin = nb.create<math::SinOp>(nloc, narrow);
          }
          Value other =
              nb.create<memref::LoadOp>(nloc, x, ValueRange{m, partner});
          // Rotate-half: the first half gets -x[i + half] sin, the second
          // +x[i - half] sin.
          Value rotated = nb.create<arith::SelectOp>(
              nloc, first, nb.create<arith::NegFOp>(nloc, other), other);
          Value result = nb.create<arith::AddFOp>(
              nloc, nb.create<arith::MulFOp>(nloc, args[0], cos),
              nb.create<arith::MulFOp>(nloc, rotated, sin));
          nb.create<linalg::YieldOp>(nloc, ValueRange{result});
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// add, mul and silu: one elementwise generic each.
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using OpAdaptor = typename OpTy::Adaptor;

  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ValueRange inputs = adaptor.getOperands();
    Value out = allocate(rewriter, loc, rowsOf(rewriter, loc, inputs[0]),
                         columnsOf(op));
    elementwise(rewriter, loc, inputs, out,
                [&](OpBuilder &nb, Location nloc, ValueRange args) {
                  nb.create<linalg::YieldOp>(nloc, compute(nb, nloc, args));
                });
    rewriter.replaceOp(op, out);
    return success();
  }

  static Value compute(OpBuilder &b, Location loc, ValueRange args) {
    if constexpr (std::is_same_v<OpTy, AddOp>)
      return b.create<arith::AddFOp>(loc, args[0], args[1]);
    else if constexpr (std::is_same_v<OpTy, MulOp>)
      return b.create<arith::MulFOp>(loc, args[0], args[1]);
    else
      return silu(b, loc, args[0]);
  }
};

/// silu(gate) * up over the two halves of the fused projection's output.
struct SwiGLULowering : OpConversionPattern<SwiGLUOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SwiGLUOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value rows = rowsOf(rewriter, loc, x);
    int64_t width = columnsOf(op);
    Value out = allocate(rewriter, loc, rows, width);
    elementwise(rewriter, loc,
                ValueRange{columns(rewriter, loc, x, rows, 0, width),
                           columns(rewriter, loc, x, rows, width, width)},
                out, [&](OpBuilder &nb, Location nloc, ValueRange args) {
                  nb.create<linalg::YieldOp>(
                      nloc, ValueRange{nb.create<arith::MulFOp>(
                                nloc, silu(nb, nloc, args[0]), args[1])});
                });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::llm::populateLLMToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<WeightLowering, EmbeddingLowering, RMSInvLowering, GroupSumLowering,
           RMSNormLowering, LinearLowering, SliceLowering, LastRowsLowering,
           RoPELowering, ElementwiseLowering<AddOp>, ElementwiseLowering<MulOp>,
           ElementwiseLowering<SiLUOp>, SwiGLULowering>(patterns.getContext());
  populateLLMAttentionToLinalgConversionPatterns(patterns);
}
