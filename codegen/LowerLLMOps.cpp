//===- LowerLLMOps.cpp - Emit linalg/scf/vector code for each llm op ------===//

#include "codegen/LLMLowering.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::llm;

static constexpr int64_t kSlotAlignment = 64;

static int64_t columnsOf(Value tensor) {
  return cast<RankedTensorType>(tensor.getType()).getDimSize(1);
}

/// x * sigmoid(x) = x / (1 + exp(-x)).
static Value silu(OpBuilder &b, Location loc, Value x) {
  Value one = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(1));
  Value denominator = b.create<arith::AddFOp>(
      loc, one, b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x)));
  return b.create<arith::DivFOp>(loc, x, denominator);
}

/// Widens a weight element to f32.
static Value toF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return b.create<arith::ExtFOp>(loc, b.getF32Type(), v);
}

Value LLMLowering::index(Location loc, int64_t value) {
  return b.create<arith::ConstantIndexOp>(loc, value);
}

Value LLMLowering::allocate(Location loc, Value rowCount, int64_t cols) {
  int64_t offset = arenaBytes;
  int64_t bytes = maxTokens * std::max<int64_t>(cols, 1) * 4;
  arenaBytes += llvm::alignTo(bytes, kSlotAlignment);
  MemRefType type =
      cols > 0 ? MemRefType::get({ShapedType::kDynamic, cols}, b.getF32Type())
               : MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  return b.create<memref::ViewOp>(loc, type, abi.scratch, index(loc, offset),
                                  ValueRange{rowCount});
}

Value LLMLowering::bufferOf(Value tensor) {
  Value buffer = buffers.lookup(tensor);
  if (!buffer) {
    if (Operation *def = tensor.getDefiningOp())
      def->emitError("convert-llm-to-linalg: value has no buffer");
    else
      module.emitError("convert-llm-to-linalg: block argument has no buffer");
  }
  return buffer;
}

void LLMLowering::define(Value tensor, Value buffer, Value rowCount) {
  buffers[tensor] = buffer;
  if (rowCount)
    rows[tensor] = rowCount;
}

void LLMLowering::copy(Location loc, Value from, Value to) {
  b.create<linalg::CopyOp>(loc, from, to);
}

/// Identity maps over `rank` loops for `count` operands.
static SmallVector<AffineMap> identityMaps(MLIRContext *ctx, unsigned rank,
                                           unsigned count) {
  return SmallVector<AffineMap>(count,
                                AffineMap::getMultiDimIdentityMap(rank, ctx));
}

static SmallVector<utils::IteratorType> parallel(unsigned rank) {
  return SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);
}

LogicalResult LLMLowering::lowerOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<WeightOp>([&](auto op) { return lowerWeight(op); })
      .Case<EmbeddingOp>([&](auto op) { return lowerEmbedding(op); })
      .Case<RMSInvOp>([&](auto op) { return lowerRMSInv(op); })
      .Case<RMSNormOp>([&](auto op) { return lowerRMSNorm(op); })
      .Case<LinearOp>([&](auto op) { return lowerLinear(op); })
      .Case<RoPEOp>([&](auto op) { return lowerRoPE(op); })
      .Case<AttentionOp>([&](auto op) { return lowerAttention(op); })
      .Case<SwiGLUOp>([&](auto op) { return lowerSwiGLU(op); })
      .Case<AddOp, MulOp, SiLUOp>([&](Operation *op) {
        return lowerElementwise(op);
      })
      .Case<SliceOp>([&](SliceOp op) {
        Value input = bufferOf(op.getInput());
        if (!input)
          return failure();
        Value rowCount = rows.lookup(op.getInput());
        Location loc = op.getLoc();
        Value view = b.create<memref::SubViewOp>(
            loc, input,
            ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(op.getOffset())},
            ArrayRef<OpFoldResult>{rowCount, b.getIndexAttr(columnsOf(op))},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
        define(op, view, rowCount);
        return success();
      })
      .Case<LastRowsOp>([&](LastRowsOp op) {
        Value input = bufferOf(op.getInput());
        if (!input)
          return failure();
        Location loc = op.getLoc();
        Value total = rows.lookup(op.getInput());
        Value first = b.create<arith::SubIOp>(loc, total, op.getCount());
        Value view = b.create<memref::SubViewOp>(
            loc, input, ArrayRef<OpFoldResult>{first, b.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{op.getCount(),
                                   b.getIndexAttr(columnsOf(op))},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
        define(op, view, op.getCount());
        return success();
      })
      .Default([&](Operation *op) {
        return op->emitError("convert-llm-to-linalg: no lowering for ")
               << op->getName();
      });
}

LogicalResult LLMLowering::lowerWeight(WeightOp op) {
  ParamOp param = op.getParamOp();
  PackedLayoutAttr layout = param ? param.getLayout() : PackedLayoutAttr();
  if (!layout || !layout.isPlaced())
    return op.emitError("parameter has no place in the weight blob; run "
                        "llm-plan-weights first");
  Location loc = op.getLoc();
  Value offset = index(loc, *layout.getOffset());
  if (Value layer = op.getLayer()) {
    Value stride = index(loc, *layout.getLayerStride());
    offset = b.create<arith::AddIOp>(
        loc, offset, b.create<arith::MulIOp>(loc, layer, stride));
  }
  RankedTensorType type = param.getTensorType();
  SmallVector<int64_t> shape(type.getShape());
  if (std::optional<int64_t> block = layout.getBlock())
    shape = {static_cast<int64_t>(llvm::divideCeil(shape[0], *block)), shape[1],
             *block};
  auto viewType = MemRefType::get(shape, type.getElementType());
  define(op, b.create<memref::ViewOp>(loc, viewType, abi.weights, offset,
                                      ValueRange{}),
         Value());
  return success();
}

LogicalResult LLMLowering::lowerEmbedding(EmbeddingOp op) {
  Value ids = bufferOf(op.getIds());
  Value table = bufferOf(op.getTable());
  if (!ids || !table)
    return failure();
  Location loc = op.getLoc();
  Value rowCount = b.create<memref::DimOp>(loc, ids, 0);
  Value out = allocate(loc, rowCount, columnsOf(op));
  auto tableType = cast<MemRefType>(table.getType());
  MLIRContext *ctx = b.getContext();
  AffineMap idMap = AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, ctx);
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(2, ctx);
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, ValueRange{ids}, ValueRange{out},
      ArrayRef<AffineMap>{idMap, outMap}, parallel(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value id = nb.create<arith::IndexCastOp>(nloc, nb.getIndexType(),
                                                 args[0]);
        Value col = nb.create<linalg::IndexOp>(nloc, 1);
        Value element;
        if (tableType.getRank() == 3) {
          // Blocked [vocab / block, hidden, block] layout shared with lm_head.
          Value block = nb.create<arith::ConstantIndexOp>(
              nloc, tableType.getDimSize(2));
          Value outer = nb.create<arith::DivUIOp>(nloc, id, block);
          Value inner = nb.create<arith::RemUIOp>(nloc, id, block);
          element = nb.create<memref::LoadOp>(nloc, table,
                                              ValueRange{outer, col, inner});
        } else {
          element = nb.create<memref::LoadOp>(nloc, table, ValueRange{id, col});
        }
        nb.create<linalg::YieldOp>(nloc, toF32(nb, nloc, element));
      });
  define(op, out, rowCount);
  return success();
}

Value LLMLowering::emitRMSInv(Location loc, Value x, Value rowCount,
                              double eps) {
  MLIRContext *ctx = b.getContext();
  int64_t width = cast<MemRefType>(x.getType()).getDimSize(1);
  Value sums = allocate(loc, rowCount, 0);
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
      loc, TypeRange{}, ValueRange{}, ValueRange{sums},
      identityMaps(ctx, 1, 1), parallel(1),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
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

LogicalResult LLMLowering::lowerRMSInv(RMSInvOp op) {
  Value x = bufferOf(op.getInput());
  if (!x)
    return failure();
  Value rowCount = rows.lookup(op.getInput());
  define(op, emitRMSInv(op.getLoc(), x, rowCount, op.getEps().convertToDouble()),
         rowCount);
  return success();
}

LogicalResult LLMLowering::lowerRMSNorm(RMSNormOp op) {
  Value x = bufferOf(op.getInput());
  Value weight = bufferOf(op.getWeight());
  if (!x || !weight)
    return failure();
  Location loc = op.getLoc();
  Value rowCount = rows.lookup(op.getInput());
  Value inv = emitRMSInv(loc, x, rowCount, op.getEps().convertToDouble());
  Value out = allocate(loc, rowCount, columnsOf(op));
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap rowMap = AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, ctx);
  AffineMap colMap = AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, ctx);
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, ValueRange{x, inv, weight}, ValueRange{out},
      ArrayRef<AffineMap>{id, rowMap, colMap, id}, parallel(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value scaled = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
        nb.create<linalg::YieldOp>(
            nloc, ValueRange{nb.create<arith::MulFOp>(
                      nloc, scaled, toF32(nb, nloc, args[2]))});
      });
  define(op, out, rowCount);
  return success();
}

LogicalResult LLMLowering::lowerLinear(LinearOp op) {
  Value x = bufferOf(op.getInput());
  Value weight = bufferOf(op.getWeight());
  if (!x || !weight)
    return failure();
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Value rowCount = rows.lookup(op.getInput());
  auto weightType = cast<MemRefType>(weight.getType());
  int64_t outputs = columnsOf(op);
  bool blocked = weightType.getRank() == 3;
  int64_t block = blocked ? weightType.getDimSize(2) : 1;
  int64_t padded = blocked ? weightType.getDimSize(0) * block : outputs;
  Value out = allocate(loc, rowCount, padded);
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  b.create<linalg::FillOp>(loc, zero, out);

  // acc += x * w.
  auto body = [&](OpBuilder &nb, Location nloc, ValueRange args) {
    Value product =
        nb.create<arith::MulFOp>(nloc, args[0], toF32(nb, nloc, args[1]));
    nb.create<linalg::YieldOp>(
        nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args.back(), product)});
  };
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  SmallVector<Value> inputs = {x, weight};
  linalg::GenericOp matmul;
  if (blocked) {
    // out[m, b, r] += x[m, k] * w[b, k, r]; loops (m, b, r, k).
    Value outBlocked = b.create<memref::ExpandShapeOp>(
        loc,
        MemRefType::get({ShapedType::kDynamic, weightType.getDimSize(0), block},
                        b.getF32Type()),
        out, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
        ArrayRef<OpFoldResult>{rowCount,
                               b.getIndexAttr(weightType.getDimSize(0)),
                               b.getIndexAttr(block)});
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {d(0), d(3)}, ctx),
                                   AffineMap::get(4, 0, {d(1), d(3), d(2)}, ctx)};
    maps.push_back(AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx));
    matmul = b.create<linalg::GenericOp>(
        loc, TypeRange{}, inputs, ValueRange{outBlocked}, maps,
        ArrayRef<utils::IteratorType>{
            utils::IteratorType::parallel, utils::IteratorType::parallel,
            utils::IteratorType::parallel, utils::IteratorType::reduction},
        body);
  } else {
    // out[m, n] += x[m, k] * w[n, k]; loops (m, n, k).
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                                   AffineMap::get(3, 0, {d(1), d(2)}, ctx)};
    maps.push_back(AffineMap::get(3, 0, {d(0), d(1)}, ctx));
    matmul = b.create<linalg::GenericOp>(
        loc, TypeRange{}, inputs, ValueRange{out}, maps,
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                      utils::IteratorType::parallel,
                                      utils::IteratorType::reduction},
        body);
  }
  LLMDialect::LoweringConfigAttrHelper configAttr(ctx);
  if (LoweringConfigAttr config = configAttr.getAttr(op))
    configAttr.setAttr(matmul, config);

  if (Value rowScale = op.getRowScale()) {
    Value scale = bufferOf(rowScale);
    if (!scale)
      return failure();
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap rowMap = AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, ctx);
    b.create<linalg::GenericOp>(
        loc, TypeRange{}, ValueRange{scale}, ValueRange{out},
        ArrayRef<AffineMap>{rowMap, id}, parallel(2),
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          nb.create<linalg::YieldOp>(
              nloc, ValueRange{nb.create<arith::MulFOp>(nloc, args[0], args[1])});
        });
  }
  Value result = out;
  if (padded != outputs)
    result = b.create<memref::SubViewOp>(
        loc, out, ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rowCount, b.getIndexAttr(outputs)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  define(op, result, rowCount);
  return success();
}

Value LLMLowering::constantTable(Location loc, StringRef name,
                                 ArrayRef<double> values) {
  auto type = MemRefType::get({static_cast<int64_t>(values.size())},
                              b.getF64Type());
  if (!module.lookupSymbol(name)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto tensorType =
        RankedTensorType::get({static_cast<int64_t>(values.size())},
                              b.getF64Type());
    b.create<memref::GlobalOp>(loc, name, b.getStringAttr("private"), type,
                               DenseElementsAttr::get(tensorType, values),
                               /*constant=*/true, IntegerAttr());
  }
  return b.create<memref::GetGlobalOp>(loc, type, name);
}

LogicalResult LLMLowering::lowerRoPE(RoPEOp op) {
  Value x = bufferOf(op.getInput());
  if (!x)
    return failure();
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Value rowCount = rows.lookup(op.getInput());
  int64_t headDim = op.getHeadDim();
  int64_t half = headDim / 2;
  SmallVector<double> frequencies = op.getInverseFrequencies();
  // One table per distinct frequency set; the name encodes its parameters.
  StringRef bits(reinterpret_cast<const char *>(frequencies.data()),
                 frequencies.size() * sizeof(double));
  std::string name = "__llm_rope_inv_freq_" + std::to_string(headDim) + "_" +
                     std::to_string(static_cast<size_t>(llvm::hash_value(bits)));
  Value table = constantTable(loc, name, frequencies);
  Value out = allocate(loc, rowCount, columnsOf(op));
  Value start = op.getStart();
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, ValueRange{x}, ValueRange{out},
      identityMaps(ctx, 2, 2), parallel(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        auto cidx = [&](int64_t v) {
          return nb.create<arith::ConstantIndexOp>(nloc, v);
        };
        Value m = nb.create<linalg::IndexOp>(nloc, 0);
        Value c = nb.create<linalg::IndexOp>(nloc, 1);
        Value i = nb.create<arith::RemUIOp>(nloc, c, cidx(headDim));
        Value first = nb.create<arith::CmpIOp>(nloc, arith::CmpIPredicate::ult,
                                               i, cidx(half));
        Value j = nb.create<arith::SelectOp>(
            nloc, first, i, nb.create<arith::SubIOp>(nloc, i, cidx(half)));
        Value partner = nb.create<arith::SelectOp>(
            nloc, first, nb.create<arith::AddIOp>(nloc, c, cidx(half)),
            nb.create<arith::SubIOp>(nloc, c, cidx(half)));
        // angle = position * inv_freq in f64, reduced to [0, 2pi) before the
        // f32 cos/sin so that long contexts keep their precision.
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
        Value narrow =
            nb.create<arith::TruncFOp>(nloc, nb.getF32Type(), reduced);
        Value cos = nb.create<math::CosOp>(nloc, narrow);
        Value sin = nb.create<math::SinOp>(nloc, narrow);
        Value other = nb.create<memref::LoadOp>(nloc, x, ValueRange{m, partner});
        // Rotate-half: first half gets -x[i + half] sin, second +x[i - half].
        Value rotated = nb.create<arith::SelectOp>(
            nloc, first, nb.create<arith::NegFOp>(nloc, other), other);
        Value result = nb.create<arith::AddFOp>(
            nloc, nb.create<arith::MulFOp>(nloc, args[0], cos),
            nb.create<arith::MulFOp>(nloc, rotated, sin));
        nb.create<linalg::YieldOp>(nloc, ValueRange{result});
      });
  define(op, out, rowCount);
  return success();
}

LogicalResult LLMLowering::lowerElementwise(Operation *op) {
  SmallVector<Value> inputs;
  for (Value operand : op->getOperands()) {
    Value buffer = bufferOf(operand);
    if (!buffer)
      return failure();
    inputs.push_back(buffer);
  }
  Location loc = op->getLoc();
  Value rowCount = rows.lookup(op->getOperand(0));
  Value out = allocate(loc, rowCount, columnsOf(op->getResult(0)));
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, inputs, ValueRange{out},
      identityMaps(b.getContext(), 2, inputs.size() + 1), parallel(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value result;
        if (isa<AddOp>(op)) {
          result = nb.create<arith::AddFOp>(nloc, args[0], args[1]);
        } else if (isa<MulOp>(op)) {
          result = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
        } else {
          result = silu(nb, nloc, args[0]);
        }
        nb.create<linalg::YieldOp>(nloc, ValueRange{result});
      });
  define(op->getResult(0), out, rowCount);
  return success();
}

LogicalResult LLMLowering::lowerSwiGLU(SwiGLUOp op) {
  Value x = bufferOf(op.getInput());
  if (!x)
    return failure();
  Location loc = op.getLoc();
  Value rowCount = rows.lookup(op.getInput());
  int64_t width = columnsOf(op);
  auto half = [&](int64_t offset) -> Value {
    return b.create<memref::SubViewOp>(
        loc, x, ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(offset)},
        ArrayRef<OpFoldResult>{rowCount, b.getIndexAttr(width)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  };
  Value gate = half(0), up = half(width);
  Value out = allocate(loc, rowCount, width);
  b.create<linalg::GenericOp>(
      loc, TypeRange{}, ValueRange{gate, up}, ValueRange{out},
      identityMaps(b.getContext(), 2, 3), parallel(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(
            nloc, ValueRange{nb.create<arith::MulFOp>(
                      nloc, silu(nb, nloc, args[0]), args[1])});
      });
  define(op, out, rowCount);
  return success();
}
