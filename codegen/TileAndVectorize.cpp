//===- TileAndVectorize.cpp - Register tiles for packed matmuls -----------===//
//
// A packed matmul has loops (m, b, r, k): rows, weight blocks, lanes of a
// block, reduction. Its `llm.lowering_config` (tiles = [rows, block, depth
// step]) comes from the target strategy. The loops are tiled to (rows x 1 block
// x all lanes x one depth step), ordered blocks, steps, rows. Rows are peeled
// so the main loop's tiles are static and the remainder runs one row at a time,
// and every static tile becomes a loop over its depth step of vector FMAs whose
// `rows` accumulators stay in registers; the weight vector is widened to f32 in
// registers, or, where a row loop runs many tiles (prefill), the block's panel
// is widened (dequantized) to f32 once before it, and the row chunk's inputs
// are packed tile by tile ([column, row]) once before the blocks' loop. Rows
// whose inputs would not leave room for many tiles in half of the L2 are
// chunked, by depth too.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/Target.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "llvm/Support/Debug.h"

#include <functional>
#include <numeric>

#define DEBUG_TYPE "llm-tile-and-vectorize"

namespace mlir::llm {
#define GEN_PASS_DEF_TILEANDVECTORIZEPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Tiles `op` with `sizes` (0 = untiled) in loop order `interchange`.
static FailureOr<scf::SCFTilingResult>
tile(RewriterBase &rewriter, linalg::LinalgOp op, ArrayRef<int64_t> sizes,
     ArrayRef<int64_t> interchange) {
  scf::SCFTilingOptions options;
  SmallVector<OpFoldResult> tileSizes;
  for (int64_t size : sizes)
    tileSizes.push_back(rewriter.getIndexAttr(size));
  options.setTileSizes(tileSizes);
  options.setInterchange(interchange);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (succeeded(tiled))
    rewriter.eraseOp(op);
  return tiled;
}

/// The strategy's tiles for `op`, or null.
static LoweringConfigAttr getConfig(Operation *op) {
  return LLMDialect::LoweringConfigAttrHelper(op->getContext()).getAttr(op);
}

/// A packed matmul as convert-llm-to-linalg builds it: inputs x [m, k] and
/// w [b, k, r], output [m, b, r], loops (m, b, r, k); or, interleaved by n,
/// w [b, k / n, r, n] and loops (m, b, r, kk, p).
/// Quantized, inputs x [m, k], w [b, k / g, g, r] (i8) and its scales s
/// [b, k / g, r], loops (m, b, r, kg, ki). In 4 bits, w [b, k / g, g, r / 2]
/// (bytes of two nibbles: lanes j and r / 2 + j), s [b, k / g, 2, r / 2] and
/// out [m, b, 2, r / 2], loops (m, b, h, j, kg, ki).
/// On the 8-bit dot product, inputs xq [m, k] i8, w [b, k / g, g / 4, r,
/// 4] i8, s [b, k / g, r], xs and xsum [m, k / g], loops (m, b, r, kg, kq,
/// p); in 4 bits w [b, k / g, g / 4, r / 2, 4] bytes, s [b, k / g, 2, r /
/// 2] and out [m, b, 2, r / 2], loops (m, b, h, j, kg, kq, p).
static bool isPackedMatmul(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !getConfig(op) || linalgOp.getNumDpsInits() != 1)
    return false;
  unsigned loops = linalgOp.getNumLoops(), inputs = linalgOp.getNumDpsInputs();
  return ((loops == 4 || loops == 5) && inputs == 2) ||
         ((loops == 5 || loops == 6) && inputs == 3) ||
         (loops >= 6 && loops <= 8 && inputs >= 5 && inputs <= 7);
}

/// Multiplied on the 8-bit dot product: quantized inputs, their scales and
/// sums are inputs too (and the weights' group offsets, when asymmetric,
/// and their top two bits, in 6 bits).
static bool isQuantizedDot(linalg::LinalgOp op) {
  return op.getNumDpsInputs() >= 5 && op.getNumDpsInputs() <= 7;
}

/// The element type of input `i` of `op`.
static Type inputElement(linalg::LinalgOp op, unsigned i) {
  return cast<ShapedType>(op.getDpsInputOperand(i)->get().getType())
      .getElementType();
}

/// An 8-bit dot-product matmul whose weight groups have offsets (a sixth
/// input, f16).
static bool hasGroupOffsets(linalg::LinalgOp op) {
  return isQuantizedDot(op) && op.getNumDpsInputs() >= 6 &&
         inputElement(op, 5).isF16();
}

/// An 8-bit dot-product matmul on 6-bit weights: their top two bits are
/// the last input (i8, after the offsets if any).
static bool hasCrumbs(linalg::LinalgOp op) {
  return isQuantizedDot(op) && op.getNumDpsInputs() >= 6 &&
         inputElement(op, op.getNumDpsInputs() - 1).isInteger(8);
}

/// Quantized in 4 bits, two lanes to a byte (the output's lanes are two
/// dimensions).
static bool isNibbles(linalg::LinalgOp op) {
  if (isQuantizedDot(op))
    return cast<ShapedType>(op.getDpsInitOperand(0)->get().getType())
               .getRank() == 4;
  return op.getNumLoops() == 6;
}

/// The 8-bit limbs of an 8-bit dot-product matmul's inputs: 2 for 16-bit
/// inputs (a last loop over them), 1 otherwise.
static int64_t inputLimbs(linalg::LinalgOp op) {
  if (!isQuantizedDot(op))
    return 1;
  return op.getNumLoops() == (isNibbles(op) ? 8u : 7u) ? 2 : 1;
}

/// The first loop of the reduction: the group index kg.
static unsigned groupLoop(linalg::LinalgOp op) {
  return isNibbles(op) ? 4 : 3;
}

/// Quantized by groups: the weight's scales are a third input.
static bool isGrouped(linalg::LinalgOp op) {
  return op.getNumDpsInputs() == 3;
}

/// Columns per group of a grouped matmul (w [b, k / g, g, r]).
static int64_t groupColumns(linalg::LinalgOp op) {
  return cast<ShapedType>(op.getDpsInputOperand(1)->get().getType())
      .getDimSize(2);
}

static bool isInterleaved(linalg::LinalgOp op) {
  return op.getNumLoops() == 5 && !isGrouped(op);
}

/// The product the body adds to its accumulator (the last argument) and
/// yields: yield(out + p) with p a mulf, in either order; null otherwise.
static arith::MulFOp accumulatedProduct(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  Value acc = body->getArguments().back();
  if (!add || (add.getLhs() != acc && add.getRhs() != acc))
    return {};
  return (add.getLhs() == acc ? add.getRhs() : add.getLhs())
      .getDefiningOp<arith::MulFOp>();
}

/// Whether `mul` multiplies `a` and `b`, in either order, each possibly
/// widened by an extf.
static bool multipliesWidened(arith::MulFOp mul, Value a, Value b) {
  auto source = [](Value v) {
    if (auto ext = v.getDefiningOp<arith::ExtFOp>())
      return ext.getIn();
    return v;
  };
  Value lhs = source(mul.getLhs()), rhs = source(mul.getRhs());
  return (lhs == a && rhs == b) || (lhs == b && rhs == a);
}

/// Whether `v` is the body's weight integer: the weight argument, or in 4
/// bits unpacked from its byte by integer ops with constants and the loop
/// index only.
static bool isWeightInteger(linalg::LinalgOp op, Value v) {
  Block *body = op.getBlock();
  bool crumbs = hasCrumbs(op);
  if (v == body->getArgument(1) ||
      (crumbs && v == body->getArgument(op.getNumDpsInputs() - 1)))
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || !isNibbles(op) ||
      !(isa<arith::SubIOp, arith::AndIOp, arith::ShRUIOp, arith::SelectOp>(
            def) ||
        (crumbs && isa<arith::OrIOp, arith::ShLIOp>(def))))
    return false;
  // In 6 bits the top bits' shift is computed from the loop indices.
  std::function<bool(Value)> fromIndices = [&](Value index) {
    Operation *d = index.getDefiningOp();
    return d &&
           (isa<arith::ConstantOp, linalg::IndexOp>(d) ||
            (isa<arith::IndexCastOp, arith::MulIOp, arith::AddIOp,
                 arith::RemUIOp>(d) &&
             llvm::all_of(d->getOperands(), fromIndices)));
  };
  return llvm::any_of(def->getOperands(),
                      [&](Value operand) {
                        return isWeightInteger(op, operand);
                      }) &&
         llvm::all_of(def->getOperands(), [&](Value operand) {
           Operation *d = operand.getDefiningOp();
           return isWeightInteger(op, operand) ||
                  (d && isa<arith::ConstantOp, arith::CmpIOp>(d)) ||
                  (crumbs && fromIndices(operand));
         });
}

/// Whether the body is yield(out + sitofp(extsi(xq) * extsi(w)) * (ext(s) *
/// xs)), each product's operands in either order.
static bool isQuantizedDotBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  arith::MulFOp term = accumulatedProduct(op);
  if (hasGroupOffsets(op)) {
    // yield(out + (product term + offset term)): the offset term is
    // sitofp(extsi(xq)) times the offset and the input scale.
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
    Value acc = body->getArguments().back();
    if (!add || (add.getLhs() != acc && add.getRhs() != acc))
      return false;
    auto sum = (add.getLhs() == acc ? add.getRhs() : add.getLhs())
                   .getDefiningOp<arith::AddFOp>();
    if (!sum)
      return false;
    term = sum.getLhs().getDefiningOp<arith::MulFOp>();
    auto offsetTerm = sum.getRhs().getDefiningOp<arith::MulFOp>();
    if (!offsetTerm)
      return false;
    auto isInput = [&](Value v) {
      auto convert = v.getDefiningOp<arith::SIToFPOp>();
      auto ext = convert ? convert.getIn().getDefiningOp<arith::ExtSIOp>()
                         : arith::ExtSIOp();
      return ext && ext.getIn() == body->getArgument(0);
    };
    // offset x the input scale (times the limb factor with 16-bit inputs).
    auto isOffsetScale = [&](Value v) {
      auto mul = v.getDefiningOp<arith::MulFOp>();
      if (!mul)
        return false;
      Value offset = body->getArgument(5), scale = body->getArgument(3);
      auto limbScaled = [&](Value s) {
        auto m = s.getDefiningOp<arith::MulFOp>();
        return s == scale ||
               (m && (m.getLhs() == scale || m.getRhs() == scale));
      };
      auto widened = [](Value w) {
        auto ext = w.getDefiningOp<arith::ExtFOp>();
        return ext ? ext.getIn() : w;
      };
      return (widened(mul.getLhs()) == offset && limbScaled(mul.getRhs())) ||
             (widened(mul.getRhs()) == offset && limbScaled(mul.getLhs()));
    };
    if (!((isInput(offsetTerm.getLhs()) &&
           isOffsetScale(offsetTerm.getRhs())) ||
          (isInput(offsetTerm.getRhs()) && isOffsetScale(offsetTerm.getLhs()))))
      return false;
  }
  if (!term)
    return false;
  auto isProduct = [&](Value v) {
    auto convert = v.getDefiningOp<arith::SIToFPOp>();
    auto mul = convert ? convert.getIn().getDefiningOp<arith::MulIOp>()
                       : arith::MulIOp();
    if (!mul)
      return false;
    auto source = [](Value v) -> Value {
      auto ext = v.getDefiningOp<arith::ExtSIOp>();
      return ext ? ext.getIn() : Value();
    };
    Value a = source(mul.getLhs()), b = source(mul.getRhs());
    return (a == body->getArgument(0) && b && isWeightInteger(op, b)) ||
           (b == body->getArgument(0) && a && isWeightInteger(op, a));
  };
  // With 16-bit inputs the scale is times select(l == 0, kInputLimbBase, 1).
  auto isLimbFactor = [&](Value v) {
    auto select = v.getDefiningOp<arith::SelectOp>();
    if (!select)
      return false;
    auto cmp = select.getCondition().getDefiningOp<arith::CmpIOp>();
    auto index = cmp ? cmp.getLhs().getDefiningOp<linalg::IndexOp>()
                     : linalg::IndexOp();
    auto isConstant = [](Value c, double value) {
      auto constant = c.getDefiningOp<arith::ConstantFloatOp>();
      return constant && constant.value().convertToDouble() == value;
    };
    return index && index.getDim() == op.getNumLoops() - 1 &&
           cmp.getPredicate() == arith::CmpIPredicate::eq &&
           matchPattern(cmp.getRhs(), m_Zero()) &&
           isConstant(select.getTrueValue(), kInputLimbBase) &&
           isConstant(select.getFalseValue(), 1);
  };
  std::function<bool(Value)> isScale = [&](Value v) -> bool {
    auto mul = v.getDefiningOp<arith::MulFOp>();
    if (!mul)
      return false;
    if (inputLimbs(op) == 2) {
      if (isLimbFactor(mul.getRhs()) || isLimbFactor(mul.getLhs())) {
        Value rest = isLimbFactor(mul.getRhs()) ? mul.getLhs() : mul.getRhs();
        auto inner = rest.getDefiningOp<arith::MulFOp>();
        if (!inner)
          return false;
        mul = inner;
      } else {
        return false;
      }
    }
    return multipliesWidened(mul, body->getArgument(2), body->getArgument(3));
  };
  return (isProduct(term.getLhs()) && isScale(term.getRhs())) ||
         (isProduct(term.getRhs()) && isScale(term.getLhs()));
}

/// Whether the body is yield(out + x * (sitofp(w) * ext(s))), the product's
/// operands in either order.
static bool isGroupedMultiplyAdd(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  arith::MulFOp product = accumulatedProduct(op);
  if (!product)
    return false;
  Value x = body->getArgument(0);
  Value scaledValue = product.getLhs() == x ? product.getRhs()
                      : product.getRhs() == x ? product.getLhs()
                                              : Value();
  auto scaled =
      scaledValue ? scaledValue.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!scaled)
    return false;
  auto isWeight = [&](Value v) {
    auto convert = v.getDefiningOp<arith::SIToFPOp>();
    return convert && isWeightInteger(op, convert.getIn());
  };
  auto isScale = [&](Value v) {
    if (auto ext = v.getDefiningOp<arith::ExtFOp>())
      v = ext.getIn();
    return v == body->getArgument(2);
  };
  return (isWeight(scaled.getLhs()) && isScale(scaled.getRhs())) ||
         (isWeight(scaled.getRhs()) && isScale(scaled.getLhs()));
}

/// Whether the body is yield(out + ext(x) * ext(w)), the extensions
/// optional.
static bool isMultiplyAdd(linalg::LinalgOp op) {
  arith::MulFOp mul = accumulatedProduct(op);
  Block *body = op.getBlock();
  return mul &&
         multipliesWidened(mul, body->getArgument(0), body->getArgument(1));
}

/// The tiles describe a packed matmul, and the vector code replaces its body
/// by FMAs: an op carrying them must be exactly out[m, b, r] += x[m, k] *
/// w[b, k, r] (or out[m, b, r] += x[m, n * kk + p] * w[b, kk, r, p]), the
/// operands possibly widened, nothing else.
static LogicalResult verifyPackedMatmul(linalg::LinalgOp op) {
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> expected = {
      AffineMap::get(4, 0, {d(0), d(3)}, ctx),
      AffineMap::get(4, 0, {d(1), d(3), d(2)}, ctx),
      AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)};
  if (isPackedMatmul(op) && isQuantizedDot(op)) {
    // Loops (m, b, r, kg, kq, p), the lanes r being (h, j) in 4 bits.
    auto wType =
        dyn_cast<MemRefType>(op.getDpsInputOperand(1)->get().getType());
    int64_t n = wType && wType.getRank() == 5 ? wType.getDimSize(4) : 0;
    int64_t g = n * (wType && wType.getRank() == 5 ? wType.getDimSize(2) : 0);
    unsigned loops = op.getNumLoops(), kg = groupLoop(op);
    SmallVector<AffineExpr> lanes = {d(2)};
    if (isNibbles(op))
      lanes = {d(2), d(3)};
    auto map = [&](ArrayRef<AffineExpr> front, ArrayRef<AffineExpr> back) {
      SmallVector<AffineExpr> results(front);
      llvm::append_range(results, back);
      return AffineMap::get(loops, 0, results, ctx);
    };
    SmallVector<AffineExpr> xIndex = {d(0),
                                      d(kg) * g + d(kg + 1) * n + d(kg + 2)};
    if (inputLimbs(op) == 2)
      xIndex = {d(0), d(kg), d(kg + 3), d(kg + 1) * n + d(kg + 2)};
    expected = {
        map(xIndex, {}),
        map({d(1), d(kg), d(kg + 1), lanes.back(), d(kg + 2)}, {}),
        map({d(1), d(kg)}, lanes),
        map({d(0), d(kg)}, {}),
        map({d(0), d(kg)}, {}),
        map({d(0), d(1)}, lanes)};
    if (hasGroupOffsets(op))
      expected.insert(expected.end() - 1, map({d(1), d(kg)}, lanes));
    // 6 bits: the top two bits c[b, kg, kq / 2, j, p].
    if (hasCrumbs(op))
      expected.insert(expected.end() - 1,
                      map({d(1), d(kg), d(kg + 1).floorDiv(2), lanes.back(),
                           d(kg + 2)},
                          {}));
    if (op.getIndexingMapsArray() != expected || !isQuantizedDotBody(op))
      return op->emitError(
          "llm-tile-and-vectorize: an 8-bit dot-product matmul must be "
          "out[m, b, r] += xq[m, g * kg + n * kq + p] * w[b, kg, kq, r, p] * "
          "(s[b, kg, r] * xs[m, kg]) with the sums xsum[m, kg] (in 4 bits r "
          "= (h, j), the weight nibble h of w[b, kg, kq, j, p]; with 16-bit "
          "inputs xq[m, kg, l, n * kq + p], times 256 for l = 0; "
          "n = 4 or 8)");
    return success();
  }
  if (isPackedMatmul(op) && isGrouped(op)) {
    // Loops (m, b, r, kg, ki); in 4 bits the lanes r are (h, j) and the
    // depth loops shift by one.
    auto wType =
        dyn_cast<MemRefType>(op.getDpsInputOperand(1)->get().getType());
    int64_t g = wType && wType.getRank() == 4 ? wType.getDimSize(2) : 0;
    unsigned loops = op.getNumLoops(), kg = loops - 2, ki = loops - 1;
    SmallVector<AffineExpr> lanes = {d(2)};
    if (isNibbles(op))
      lanes = {d(2), d(3)};
    auto map = [&](ArrayRef<AffineExpr> front, ArrayRef<AffineExpr> back) {
      SmallVector<AffineExpr> results(front);
      llvm::append_range(results, back);
      return AffineMap::get(loops, 0, results, ctx);
    };
    expected = {map({d(0), d(kg) * g + d(ki)}, {}),
                map({d(1), d(kg), d(ki)}, isNibbles(op)
                                              ? ArrayRef<AffineExpr>{d(3)}
                                              : ArrayRef<AffineExpr>{d(2)}),
                map({d(1), d(kg)}, lanes), map({d(0), d(1)}, lanes)};
    if (op.getIndexingMapsArray() != expected || !isGroupedMultiplyAdd(op))
      return op->emitError(isNibbles(op)
                               ? "llm-tile-and-vectorize: a 4-bit matmul must "
                                 "be out[m, b, h, j] += x[m, g * kg + ki] * "
                                 "(nibble h of w[b, kg, ki, j] * s[b, kg, h, "
                                 "j])"
                               : "llm-tile-and-vectorize: a quantized matmul "
                                 "must be out[m, b, r] += x[m, g * kg + ki] * "
                                 "(w[b, kg, ki, r] * s[b, kg, r])");
    return success();
  }
  if (isPackedMatmul(op) && isInterleaved(op)) {
    auto wType =
        dyn_cast<MemRefType>(op.getDpsInputOperand(1)->get().getType());
    int64_t n = wType && wType.getRank() == 4 ? wType.getDimSize(3) : 0;
    expected = {AffineMap::get(5, 0, {d(0), d(3) * n + d(4)}, ctx),
                AffineMap::get(5, 0, {d(1), d(3), d(2), d(4)}, ctx),
                AffineMap::get(5, 0, {d(0), d(1), d(2)}, ctx)};
  }
  if (!isPackedMatmul(op) || op.getIndexingMapsArray() != expected ||
      !isMultiplyAdd(op))
    return op->emitError("llm-tile-and-vectorize: an op with an "
                         "llm.lowering_config must be a packed multiply-add "
                         "out[m, b, r] += x[m, k] * w[b, k, r] or, "
                         "interleaved, x[m, n * kk + p] * w[b, kk, r, p]");
  return success();
}

/// The operands of a static register tile: x [rows, depth], w [1, depth,
/// lanes], out [rows, 1, lanes]; interleaved, x [rows, n * depth] and w [1,
/// depth, lanes, n].
/// Quantized, w [1, depth, group, lanes] (i8) and s [1, depth, lanes]: the
/// depth counts groups.
/// In 4 bits, w [1, depth, group, lanes] bytes, s [1, depth, 2, lanes] and
/// out [rows, 1, 2, lanes]: each byte's two nibbles are a lane of each half.
/// On the 8-bit dot product, x [rows, depth * group] i8 ([rows, depth, 2,
/// group] for 16-bit inputs), w [1, depth, group / n, lanes, n] for the
/// interleave n (4, or 8 for 2 x 8 matrix products), s as above, xs and
/// xsum [rows, depth].
struct Tile {
  Value x, w, out;
  int64_t rows, depth, lanes;
  Value scales;
  int64_t group = 0;
  bool nibbles = false;
  Value inputScales, inputSums;
  /// The weights' group offsets, laid out as the scales (or null).
  Value offsets;
  /// In 6 bits, the weights' top two bits [1, depth, group / 8, lanes, 4]
  /// (or null): w holds their low four as nibbles.
  Value crumbs;
  int64_t limbs = 1;
  int64_t interleave = 4;
  /// x is the packed inputs' view [depth, rows]: row i's column k at x[k,
  /// i] (see packInputs).
  bool xByDepth = false;
  /// How far ahead a single row also prefetches its weights into the L2
  /// (TargetBackend::getFarPrefetchBytes; 0: not).
  int64_t farPrefetchBytes = kFarPrefetchBytes;
  /// Several rows reading f32 weights in place: each prefetches the next
  /// panel into the L2 (see versionForWidePanel).
  bool prefetchNextPanel = false;
};

static std::optional<Tile> matchStaticTile(linalg::LinalgOp op) {
  Tile t{op.getDpsInputOperand(0)->get(), op.getDpsInputOperand(1)->get(),
         op.getDpsInitOperand(0)->get(), 0, 0, 0};
  auto xType = cast<MemRefType>(t.x.getType());
  auto wType = cast<MemRefType>(t.w.getType());
  auto outType = cast<MemRefType>(t.out.getType());
  if (!xType.hasStaticShape() || !wType.hasStaticShape() ||
      !outType.hasStaticShape() || wType.getDimSize(0) != 1 ||
      outType.getDimSize(1) != 1)
    return std::nullopt;
  t.rows = xType.getDimSize(0);
  t.depth = wType.getDimSize(1);
  t.lanes = wType.getDimSize(2);
  if (isQuantizedDot(op)) {
    t.scales = op.getDpsInputOperand(2)->get();
    t.inputScales = op.getDpsInputOperand(3)->get();
    t.inputSums = op.getDpsInputOperand(4)->get();
    for (Value v : {t.scales, t.inputScales, t.inputSums})
      if (!cast<MemRefType>(v.getType()).hasStaticShape())
        return std::nullopt;
    if (hasGroupOffsets(op)) {
      t.offsets = op.getDpsInputOperand(5)->get();
      if (!cast<MemRefType>(t.offsets.getType()).hasStaticShape())
        return std::nullopt;
    }
    if (hasCrumbs(op)) {
      t.crumbs = op.getDpsInputOperand(op.getNumDpsInputs() - 1)->get();
      if (!cast<MemRefType>(t.crumbs.getType()).hasStaticShape())
        return std::nullopt;
    }
    t.interleave = wType.getDimSize(4);
    t.group = t.interleave * wType.getDimSize(2);
    t.lanes = wType.getDimSize(3);
    t.nibbles = isNibbles(op);
    t.limbs = inputLimbs(op);
  } else if (isGrouped(op)) {
    t.scales = op.getDpsInputOperand(2)->get();
    if (!cast<MemRefType>(t.scales.getType()).hasStaticShape())
      return std::nullopt;
    t.group = wType.getDimSize(2);
    t.lanes = wType.getDimSize(3);
    t.nibbles = isNibbles(op);
  }
  return t;
}

/// bf16 -> f32 is exact as bits: the bf16 is the upper half of the f32.
/// Spelled as integer ops because LLVM 19 cannot select a scalable bf16
/// extension on SVE without +bf16, and they are what x86 selects anyway.
static Value widenBF16(OpBuilder &b, Location loc, Value v, VectorType f32Type) {
  auto shape = [&](Type element) {
    return VectorType::get(f32Type.getShape(), element,
                           f32Type.getScalableDims());
  };
  Value bits = b.create<arith::BitcastOp>(loc, shape(b.getI16Type()), v);
  Value wide = b.create<arith::ExtUIOp>(loc, shape(b.getI32Type()), bits);
  Value sixteen = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(shape(b.getI32Type()),
                                  b.getI32IntegerAttr(16)));
  return b.create<arith::BitcastOp>(
      loc, f32Type, b.create<arith::ShLIOp>(loc, wide, sixteen));
}

/// How many accumulator chains per row a depth loop keeps: 4 for a single
/// row (its FMAs would otherwise wait on one another), 1 otherwise (the rows
/// already give independent chains).
static int64_t splitChains(int64_t rows, int64_t depth) {
  return rows == 1 && depth % 4 == 0 ? 4 : 1;
}

/// The sum of row `row`'s `split` chains in `values` (chain u of row i at
/// u * rows + i), pairwise.
static Value sumChains(OpBuilder &b, Location loc, ValueRange values,
                       int64_t rows, int64_t row, int64_t split) {
  SmallVector<Value> parts;
  for (int64_t u = 0; u < split; ++u)
    parts.push_back(values[u * rows + row]);
  while (parts.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < parts.size(); i += 2)
      next.push_back(b.create<arith::AddFOp>(loc, parts[i], parts[i + 1]));
    if (parts.size() % 2)
      next.push_back(parts.back());
    parts = std::move(next);
  }
  return parts.front();
}

/// Appends to `next`, for every row of the tile, its chain `u` of
/// `carried` plus its broadcast input at column `k` times `w`.
static void addRowProducts(OpBuilder &b, Location loc, const Tile &t,
                           VectorType accType, Value k, Value w,
                           ValueRange carried, int64_t u,
                           SmallVectorImpl<Value> &next) {
  for (int64_t i = 0; i < t.rows; ++i) {
    Value row = b.create<arith::ConstantIndexOp>(loc, i);
    Value xs = b.create<memref::LoadOp>(
        loc, t.x, t.xByDepth ? ValueRange{k, row} : ValueRange{row, k});
    Value splat = b.create<vector::SplatOp>(loc, accType, xs);
    next.push_back(
        b.create<vector::FMAOp>(loc, splat, w, carried[u * t.rows + i]));
  }
}

/// Stores row `row`'s accumulator `value` into the tile's output lanes.
static void storeRow(OpBuilder &b, Location loc, const Tile &t, int64_t row,
                     Value lane, Value mask, Value value) {
  Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
  Value r = b.create<arith::ConstantIndexOp>(loc, row);
  if (mask)
    b.create<vector::MaskedStoreOp>(loc, t.out, ValueRange{r, c0, lane}, mask,
                                    value);
  else
    b.create<vector::StoreOp>(loc, value, t.out, ValueRange{r, c0, lane});
}

using VectorLoader = llvm::function_ref<Value(
    OpBuilder &, Location, Value, ValueRange, VectorType, Value)>;

/// The depth loop of a quantized tile: per group, the lanes' scales are
/// widened to f32 once; per column of the group, the integers are converted
/// in registers and every row adds its broadcast input times them into the
/// group's sums, scaled once into the accumulators at the group's end. In 4
/// bits one load of the block's bytes gives both halves of its lanes (low
/// nibbles, then high, less 8), each with its own accumulators (fixed-width
/// vectors only). Loads the accumulators and stores them back.
static void emitGroupedDepthLoop(OpBuilder &b, Location loc, const Tile &t,
                                 VectorType accType, Value lane, Value mask,
                                 VectorLoader load) {
  auto shaped = [&](Type element) {
    return VectorType::get(accType.getShape(), element,
                           accType.getScalableDims());
  };
  VectorType qType = shaped(b.getI8Type()), sType = shaped(b.getF16Type());
  auto splat = [&](VectorType type, Attribute value) -> Value {
    return b.create<arith::ConstantOp>(loc,
                                       DenseElementsAttr::get(type, value));
  };
  Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
  Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
  Value qZero = splat(qType, b.getI8IntegerAttr(0));
  Value sZero = splat(sType, b.getF16FloatAttr(0));
  Value zero = splat(accType, b.getF32FloatAttr(0));
  Value lowMask = splat(qType, b.getI8IntegerAttr(15));
  Value four = splat(qType, b.getI8IntegerAttr(4));
  Value eight = splat(qType, b.getI8IntegerAttr(8));
  // Halves of the lanes (2 in 4 bits): accumulator of half h, row i at
  // h * rows + i; the output and scale indices gain the half.
  int64_t halves = t.nibbles ? 2 : 1;
  auto at = [&](OpBuilder &nb, Location nloc, Value first, Value second,
                int64_t h) -> SmallVector<Value> {
    if (!t.nibbles)
      return {first, second, lane};
    return {first, second, nb.create<arith::ConstantIndexOp>(nloc, h), lane};
  };
  SmallVector<Value> accs;
  for (int64_t h = 0; h < halves; ++h)
    for (int64_t i = 0; i < t.rows; ++i)
      accs.push_back(load(b, loc, t.out,
                          at(b, loc, b.create<arith::ConstantIndexOp>(loc, i),
                             c0, h),
                          accType, zero));
  Value groups = b.create<arith::ConstantIndexOp>(loc, t.depth);
  Value group = b.create<arith::ConstantIndexOp>(loc, t.group);
  int64_t split = splitChains(t.rows, t.group);
  Value step = b.create<arith::ConstantIndexOp>(loc, split);
  // The weights two groups ahead are prefetched once per group step (1B
  // model at Q8_0 on Zen 5: prefill 512 114-120 -> 126-132 tok/s, decode
  // within the noise).
  Value ahead = b.create<arith::ConstantIndexOp>(loc, 2);
  int64_t chains = halves * t.rows;
  auto outer = b.create<scf::ForOp>(
      loc, c0, groups, c1, accs,
      [&](OpBuilder &ob, Location oloc, Value kg, ValueRange outerAccs) {
        SmallVector<Value> scales;
        for (int64_t h = 0; h < halves; ++h)
          scales.push_back(ob.create<arith::ExtFOp>(
              oloc, accType,
              load(ob, oloc, t.scales, at(ob, oloc, c0, kg, h), sType,
                   sZero)));
        Value first = ob.create<arith::MulIOp>(oloc, kg, group);
        // Chain u of half h, row i at (u * halves + h) * rows + i.
        SmallVector<Value> partials(split * chains, zero);
        auto inner = ob.create<scf::ForOp>(
            oloc, c0, group, step, partials,
            [&](OpBuilder &nb, Location nloc, Value k0, ValueRange carried) {
              SmallVector<Value> next;
              for (int64_t u = 0; u < split; ++u) {
                Value ki = nb.create<arith::AddIOp>(
                    nloc, k0, nb.create<arith::ConstantIndexOp>(nloc, u));
                Value q =
                    load(nb, nloc, t.w, {c0, kg, ki, lane}, qType, qZero);
                if (u == 0)
                  nb.create<memref::PrefetchOp>(
                      nloc, t.w,
                      ValueRange{c0, nb.create<arith::AddIOp>(nloc, kg, ahead),
                                 ki, lane},
                      /*isWrite=*/false, /*localityHint=*/3,
                      /*isDataCache=*/true);
                SmallVector<Value> integers = {q};
                if (t.nibbles)
                  integers = {
                      nb.create<arith::SubIOp>(
                          nloc, nb.create<arith::AndIOp>(nloc, q, lowMask),
                          eight),
                      nb.create<arith::SubIOp>(
                          nloc, nb.create<arith::ShRUIOp>(nloc, q, four),
                          eight)};
                Value k = nb.create<arith::AddIOp>(nloc, first, ki);
                for (int64_t h = 0; h < halves; ++h)
                  addRowProducts(
                      nb, nloc, t, accType, k,
                      nb.create<arith::SIToFPOp>(nloc, accType, integers[h]),
                      carried, u * halves + h, next);
              }
              nb.create<scf::YieldOp>(nloc, next);
            });
        SmallVector<Value> scaled;
        for (int64_t h = 0; h < halves; ++h)
          for (int64_t i = 0; i < t.rows; ++i)
            scaled.push_back(ob.create<vector::FMAOp>(
                oloc,
                sumChains(ob, oloc, inner.getResults(), chains,
                          h * t.rows + i, split),
                scales[h], outerAccs[h * t.rows + i]));
        ob.create<scf::YieldOp>(oloc, scaled);
      });
  for (int64_t h = 0; h < halves; ++h)
    for (int64_t i = 0; i < t.rows; ++i) {
      SmallVector<Value> indices =
          at(b, loc, b.create<arith::ConstantIndexOp>(loc, i), c0, h);
      Value value = outer.getResult(h * t.rows + i);
      if (mask)
        b.create<vector::MaskedStoreOp>(loc, t.out, indices, mask, value);
      else
        b.create<vector::StoreOp>(loc, value, t.out, indices);
    }
}

/// How far ahead a single row's depth loop prefetches its weights into the
/// L1; the target's getFarPrefetchBytes says how far further into the L2.
/// Two threads of the Xeon streaming 1 GiB as decode does (a bf16 vector
/// widened and multiplied per 64 bytes): 24.0 and 23.3 GB/s with the first
/// only, 28.0 and 27.5 with both (8 KiB to the L2; 4 KiB 27.5 and 26.2; 16
/// KiB 28.6 and 27.1), a plain sum with a page prefetched at a time 26.8 and
/// 26.2.
constexpr int64_t kPrefetchBytes = 2048;

/// Prefetches `memref` at `indices` with index `dim` moved `steps` ahead,
/// for reading, into the cache level `locality` names (3: L1, 2: L2).
static void prefetchAhead(OpBuilder &b, Location loc, Value memref,
                          ValueRange indices, unsigned dim, int64_t steps,
                          int64_t locality) {
  SmallVector<Value> ahead(indices.begin(), indices.end());
  ahead[dim] = b.create<arith::AddIOp>(
      loc, ahead[dim], b.create<arith::ConstantIndexOp>(loc, steps));
  b.create<memref::PrefetchOp>(loc, memref, ahead, /*isWrite=*/false, locality,
                               /*isDataCache=*/true);
}

/// Moves `op` into the then-block of a new `scf.if (condition)` in its place
/// and a clone of it into the else-block; returns the clone.
static Operation *versionOn(OpBuilder &b, Operation *op, Value condition) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op);
  auto ifOp = b.create<scf::IfOp>(op->getLoc(), condition,
                                  /*withElseRegion=*/true);
  b.setInsertionPointToStart(ifOp.elseBlock());
  Operation *clone = b.clone(*op);
  op->moveBefore(ifOp.thenBlock(), ifOp.thenBlock()->begin());
  return clone;
}

/// The depth loop of a single row (decode) on bf16 weights: each step loads
/// the weights' whole vector once and takes its even lanes (shifted into the
/// high half) and its odd lanes (the high half already, the low one masked
/// off) as f32, multiplied into accumulators of the even and of the odd
/// lanes, interleaved back at the end: two integer ops a vector instead of
/// two widening loads and a shift, the same sums. Decode of the 1B model on
/// the Xeon, 2 threads, seven alternating pairs: 27.4-29.8 GB/s against
/// 25.5-29.5. Prefetches and chains as emitDepthLoop's.
static void emitSplitBF16DepthLoop(OpBuilder &b, Location loc, const Tile &t,
                                   Value acc, Value lane, int64_t split,
                                   int64_t nearSteps, int64_t farSteps) {
  auto accType = cast<VectorType>(acc.getType());
  int64_t lanes = accType.getNumElements();
  auto halfType = VectorType::get({lanes / 2}, b.getF32Type());
  auto wordType = VectorType::get({lanes / 2}, b.getI32Type());
  auto wType = VectorType::get({lanes}, b.getBF16Type());
  SmallVector<int64_t> evens, odds, interleaved;
  for (int64_t i = 0; i < lanes / 2; ++i) {
    evens.push_back(2 * i);
    odds.push_back(2 * i + 1);
    interleaved.append({i, lanes / 2 + i});
  }
  Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
  Value zero = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(halfType, b.getF32FloatAttr(0)));
  // Chain u's even and odd accumulators at 2u and 2u + 1.
  SmallVector<Value> initial;
  for (int64_t u = 0; u < split; ++u) {
    initial.push_back(
        u ? zero
          : b.create<vector::ShuffleOp>(loc, acc, acc, evens).getResult());
    initial.push_back(
        u ? zero
          : b.create<vector::ShuffleOp>(loc, acc, acc, odds).getResult());
  }
  auto words = [&](OpBuilder &nb, Location nloc, uint32_t value) -> Value {
    return nb.create<arith::ConstantOp>(
        nloc,
        DenseElementsAttr::get(wordType, nb.getI32IntegerAttr(int32_t(value))));
  };
  auto loop = b.create<scf::ForOp>(
      loc, c0, b.create<arith::ConstantIndexOp>(loc, t.depth),
      b.create<arith::ConstantIndexOp>(loc, split), initial,
      [&](OpBuilder &nb, Location nloc, Value k0, ValueRange carried) {
        SmallVector<Value> next;
        for (int64_t u = 0; u < split; ++u) {
          Value k = nb.create<arith::AddIOp>(
              nloc, k0, nb.create<arith::ConstantIndexOp>(nloc, u));
          prefetchAhead(nb, nloc, t.w, {c0, k, lane}, 1, nearSteps, 3);
          if (farSteps)
            prefetchAhead(nb, nloc, t.w, {c0, k, lane}, 1, farSteps, 2);
          Value pairs = nb.create<vector::BitCastOp>(
              nloc, wordType,
              nb.create<vector::LoadOp>(nloc, wType, t.w,
                                        ValueRange{c0, k, lane}));
          Value even = nb.create<vector::BitCastOp>(
              nloc, halfType,
              nb.create<arith::ShLIOp>(nloc, pairs, words(nb, nloc, 16)));
          Value odd = nb.create<vector::BitCastOp>(
              nloc, halfType,
              nb.create<arith::AndIOp>(nloc, pairs,
                                       words(nb, nloc, 0xFFFF0000u)));
          Value x = nb.create<vector::SplatOp>(
              nloc, halfType,
              nb.create<memref::LoadOp>(nloc, t.x, ValueRange{c0, k}));
          next.push_back(
              nb.create<vector::FMAOp>(nloc, x, even, carried[2 * u]));
          next.push_back(
              nb.create<vector::FMAOp>(nloc, x, odd, carried[2 * u + 1]));
        }
        nb.create<scf::YieldOp>(nloc, next);
      });
  Value even = sumChains(b, loc, loop.getResults(), 2, 0, split);
  Value odd = sumChains(b, loc, loop.getResults(), 2, 1, split);
  storeRow(b, loc, t, 0, lane, Value(),
           b.create<vector::ShuffleOp>(loc, even, odd, interleaved));
}

/// Emits the depth loop of a tile over lanes [lane, lane + vector width):
/// the rows' accumulators are loaded, carried in registers through the loop
/// (each step: one weight vector widened to f32, one FMA per row with the
/// broadcast input element) and stored. `mask` (scalable chunks) guards the
/// lanes past the block's end.
static void emitDepthLoop(OpBuilder &b, Location loc, const Tile &t,
                          VectorType accType, Value lane, Value mask) {
  Type wElement = cast<MemRefType>(t.w.getType()).getElementType();
  auto wVecType = VectorType::get(accType.getShape(), wElement,
                                  accType.getScalableDims());
  Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
  Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
  Value zero = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0)));
  Value wZero =
      t.group ? Value()
              : b.create<arith::ConstantOp>(
                    loc, DenseElementsAttr::get(wVecType,
                                                b.getFloatAttr(wElement, 0)));
  auto load = [&](OpBuilder &nb, Location nloc, Value base, ValueRange indices,
                  VectorType type, Value passThru) -> Value {
    if (mask)
      return nb.create<vector::MaskedLoadOp>(nloc, type, base, indices, mask,
                                             passThru);
    return nb.create<vector::LoadOp>(nloc, type, base, indices);
  };
  if (t.group) {
    emitGroupedDepthLoop(b, loc, t, accType, lane, mask, load);
    return;
  }
  SmallVector<Value> accs;
  for (int64_t i = 0; i < t.rows; ++i) {
    Value row = b.create<arith::ConstantIndexOp>(loc, i);
    accs.push_back(load(b, loc, t.out, {row, c0, lane}, accType, zero));
  }
  Value end = b.create<arith::ConstantIndexOp>(loc, t.depth);
  // A single row (decode) has one FMA chain per vector: split the depth
  // over `split` chains (step k adds into chain k % split), summed at the
  // end, so that FMAs overlap instead of waiting on each other.
  int64_t split = splitChains(t.rows, t.depth);
  SmallVector<Value> initial;
  for (int64_t u = 0; u < split; ++u)
    for (int64_t i = 0; i < t.rows; ++i)
      initial.push_back(u == 0 ? accs[i] : zero);
  Value step = b.create<arith::ConstantIndexOp>(loc, split);
  // A single row streams its weights once (decode): each step prefetches
  // the weights kPrefetchBytes ahead into the L1 and kFarPrefetchBytes
  // ahead into the L2, past the end of this depth tile into
  // the next (the block's depth is contiguous, then the next block's), so
  // that the stream does not stall at each 4 KiB page, where the hardware
  // prefetchers stop. Prefetches past the weights never fault.
  int64_t stepBytes =
      accType.getNumElements() *
      std::max<int64_t>(wElement.getIntOrFloatBitWidth() / 8, 1);
  int64_t prefetchSteps = t.rows == 1 && !mask && !accType.isScalable()
                              ? std::max<int64_t>(1, kPrefetchBytes / stepBytes)
                              : 0;
  int64_t farPrefetchSteps =
      prefetchSteps && t.farPrefetchBytes
          ? std::max<int64_t>(prefetchSteps + 1, t.farPrefetchBytes / stepBytes)
          : 0;
  if (prefetchSteps && wElement.isBF16() && accType.getNumElements() % 2 == 0) {
    emitSplitBF16DepthLoop(b, loc, t, accs[0], lane, split, prefetchSteps,
                           farPrefetchSteps);
    return;
  }
  auto loop = b.create<scf::ForOp>(
      loc, c0, end, step, initial,
      [&](OpBuilder &nb, Location nloc, Value k0, ValueRange carried) {
        SmallVector<Value> next;
        for (int64_t u = 0; u < split; ++u) {
          Value k = nb.create<arith::AddIOp>(
              nloc, k0, nb.create<arith::ConstantIndexOp>(nloc, u));
          if (t.prefetchNextPanel) {
            // The next panel's place, one depth step on: a 64-byte line at
            // a time (this block's next step, or the next block's first).
            int64_t perLine =
                std::max<int64_t>(1, 512 / wElement.getIntOrFloatBitWidth());
            for (int64_t l = 0; l < accType.getNumElements(); l += perLine)
              prefetchAhead(nb, nloc, t.w,
                            {c0, k,
                             nb.create<arith::AddIOp>(
                                 nloc, lane,
                                 nb.create<arith::ConstantIndexOp>(nloc, l))},
                            1, t.depth, 2);
          }
          if (prefetchSteps) {
            prefetchAhead(nb, nloc, t.w, {c0, k, lane}, 1, prefetchSteps, 3);
            if (farPrefetchSteps)
              prefetchAhead(nb, nloc, t.w, {c0, k, lane}, 1, farPrefetchSteps,
                            2);
          }
          Value wVec = load(nb, nloc, t.w, {c0, k, lane}, wVecType, wZero);
          if (wElement.isBF16())
            wVec = widenBF16(nb, nloc, wVec, accType);
          else if (wVecType != accType)
            wVec = nb.create<arith::ExtFOp>(nloc, accType, wVec);
          addRowProducts(nb, nloc, t, accType, k, wVec, carried, u, next);
        }
        nb.create<scf::YieldOp>(nloc, next);
      });
  for (int64_t i = 0; i < t.rows; ++i)
    storeRow(b, loc, t, i, lane, mask,
             sumChains(b, loc, loop.getResults(), t.rows, i, split));
}

/// Row tiles a loop must run for its tile's weight panel to be widened
/// once (see `versionForWidePanel`). Fewer, the widening's stores and its
/// burst of memory reads ahead of the FMAs cost more than they save: the
/// 1B model's down projection (then in chunks of 32 rows, 4 tiles) ran 13%
/// slower with it on a Xeon, gate/up (chunks of 128 rows) 28% faster.
constexpr int64_t kWidePanelTiles = 8;

/// The largest value the index `size` takes: a constant, or the smallest
/// constant of an affine.min (a row chunk's rows: min(chunk, rows - first)).
static std::optional<int64_t> constantUpperBound(OpFoldResult size) {
  if (std::optional<int64_t> c = getConstantIntValue(size))
    return c;
  auto min = cast<Value>(size).getDefiningOp<affine::AffineMinOp>();
  if (!min)
    return std::nullopt;
  std::optional<int64_t> bound;
  for (AffineExpr e : min.getAffineMap().getResults())
    if (auto c = dyn_cast<AffineConstantExpr>(e))
      bound = std::min(bound.value_or(c.getValue()), c.getValue());
  return bound;
}

/// Transposes `rows` vectors of `width` f32 columns each (rows a power of
/// two, at most width) into rows vectors of whole columns: vector c holds
/// columns [c * n, (c + 1) * n) (n = width / rows), each column's rows in
/// order. log2(rows) rounds of interleaving pairs of vectors by 1, 2, 4, ...
/// elements; the element order is checked as the shuffles are built.
static SmallVector<Value> transposeRows(OpBuilder &b, Location loc,
                                        ArrayRef<Value> rowVectors,
                                        int64_t width) {
  int64_t rows = rowVectors.size();
  // grid[g][p]: part p (a range of columns) of row group g, and the (row,
  // column) of each of its elements.
  using Labels = SmallVector<std::pair<int64_t, int64_t>>;
  SmallVector<SmallVector<std::pair<Value, Labels>>> grid;
  for (int64_t i = 0; i < rows; ++i) {
    Labels labels;
    for (int64_t k = 0; k < width; ++k)
      labels.push_back({i, k});
    grid.push_back({{rowVectors[i], labels}});
  }
  for (int64_t chunk = 1; grid.size() > 1; chunk *= 2) {
    SmallVector<SmallVector<std::pair<Value, Labels>>> next;
    for (size_t g = 0; g + 1 < grid.size(); g += 2) {
      next.emplace_back();
      for (size_t p = 0; p < grid[g].size(); ++p) {
        auto &[a, aLabels] = grid[g][p];
        auto &[c, cLabels] = grid[g + 1][p];
        for (int64_t half = 0; half < 2; ++half) {
          SmallVector<int64_t> mask;
          Labels labels;
          int64_t chunks = width / chunk / 2;
          for (int64_t j = half * chunks; j < (half + 1) * chunks; ++j)
            for (int64_t source = 0; source < 2; ++source)
              for (int64_t e = 0; e < chunk; ++e) {
                int64_t index = j * chunk + e;
                mask.push_back(source * width + index);
                labels.push_back(source ? cLabels[index] : aLabels[index]);
              }
          next.back().push_back(
              {b.create<vector::ShuffleOp>(loc, a, c, mask), labels});
        }
      }
    }
    grid = std::move(next);
  }
  SmallVector<Value> columns;
  int64_t n = width / rows;
  for (int64_t p = 0; p < rows; ++p) {
    const Labels &labels = grid[0][p].second;
    for (int64_t e = 0; e < width; ++e)
      if (labels[e] != std::make_pair(e % rows, p * n + e / rows))
        return {};
    columns.push_back(grid[0][p].first);
  }
  return columns;
}

/// The fewest rows a tile packs its inputs for: with 4 (AVX2's tiles) the
/// 1B model's bf16 prefill 512 was no faster packed, running AVX2 code on
/// the Xeon (medians 57.9 against 59.2 tok/s, 8 alternating runs).
constexpr int64_t kPackedRows = 8;

/// Bytes of stack a row chunk's packed inputs may take.
constexpr int64_t kPackedInputBytes = 1 << 20;

/// The packed inputs of a wide panel's row tiles: for a tile of `rows` (a
/// power of two, at least kPackedRows) rows whose inputs are a view of a row
/// chunk (f32, static depth), the chunk's whole tiles are copied once into a
/// buffer on the stack, [tiles, depth, rows] (each tile's rows side by side per
/// column), before the loop over the weight blocks, and every block's tiles
/// then read one contiguous stream instead of `rows` rows 4 or 8 KiB apart. A
/// register-tile loop of the 1B model's shape (8 x 32, depth steps of 128,
/// a 128-row chunk in the L2), Xeon, one core, medians of 15: 148-159
/// against 118-126 GFLOP/s. With `perWord` = 2 the chunk holds bf16 pairs
/// (the dot product's inputs) and the words packed are its pairs, as f32
/// bits: [tiles, depth / 2, rows]. Returns the buffer and the condition
/// under which it is filled (the chunk has at least kWidePanelTiles tiles),
/// or nothing.
static std::optional<std::pair<Value, Value>>
packInputs(OpBuilder &b, const Tile &t, scf::ForOp loop, TargetAttr target,
           int64_t perWord) {
  auto view = t.x.getDefiningOp<memref::SubViewOp>();
  if (!target || !view || !view.hasUnitStride())
    return std::nullopt;
  Value chunk = view.getSource();
  auto chunkType = cast<MemRefType>(chunk.getType());
  int64_t width = target.getVectorBits() / 32;
  int64_t rows = t.rows;
  Type element = chunkType.getElementType();
  bool words =
      perWord == 1 ? element.isF32() : perWord == 2 && element.isBF16();
  if (chunkType.getRank() != 2 || !words || chunkType.isDynamicDim(1) ||
      width < 2 || rows < kPackedRows || rows > width ||
      !llvm::isPowerOf2_64(rows) ||
      chunkType.getDimSize(1) % (width * perWord) != 0)
    return std::nullopt;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(getStridesAndOffset(chunkType, strides, offset)) ||
      strides[1] != 1)
    return std::nullopt;
  // The row tiles' loop counts from 0 by tiles.
  if (getConstantIntValue(loop.getLowerBound()) != 0 ||
      getConstantIntValue(loop.getStep()) != rows)
    return std::nullopt;
  std::optional<int64_t> maxRows;
  if (!chunkType.isDynamicDim(0))
    maxRows = chunkType.getDimSize(0);
  else if (auto chunkView = chunk.getDefiningOp<memref::SubViewOp>())
    maxRows = constantUpperBound(chunkView.getMixedSizes()[0]);
  int64_t depth = chunkType.getDimSize(1) / perWord;
  if (!maxRows || *maxRows / rows < kWidePanelTiles ||
      *maxRows / rows * depth * rows * 4 > kPackedInputBytes)
    return std::nullopt;
  // Packed before the first loop around `loop` in the chunk's block.
  Operation *anchor = loop;
  while (anchor->getBlock() != chunk.getParentBlock()) {
    anchor = anchor->getParentOp();
    if (!anchor || isa<func::FuncOp>(anchor))
      return std::nullopt;
  }
  Location loc = loop.getLoc();
  OpBuilder::InsertionGuard guard(b);
  // One kPackedInputBytes buffer per function, viewed as each pack's shape
  // (a pack is filled and read before the next one starts), so a kernel's
  // frame holds one.
  auto func = loop->getParentOfType<func::FuncOp>();
  Block &entry = func.getBody().front();
  auto bytesType = MemRefType::get({kPackedInputBytes}, b.getI8Type());
  memref::AllocaOp bytes;
  for (auto alloca : entry.getOps<memref::AllocaOp>())
    if (alloca.getType() == bytesType)
      bytes = alloca;
  b.setInsertionPointToStart(&entry);
  if (!bytes)
    bytes = b.create<memref::AllocaOp>(loc, bytesType, b.getI64IntegerAttr(64));
  b.setInsertionPointAfter(bytes);
  Value buffer = b.create<memref::ViewOp>(
      loc, MemRefType::get({*maxRows / rows, depth, rows}, b.getF32Type()),
      bytes, b.create<arith::ConstantIndexOp>(loc, 0), ValueRange{});
  b.setInsertionPoint(anchor);
  auto cidx = [&](OpBuilder &nb, Location nloc, int64_t v) -> Value {
    return nb.create<arith::ConstantIndexOp>(nloc, v);
  };
  Value c0 = cidx(b, loc, 0), c1 = cidx(b, loc, 1);
  Value tiles = b.create<arith::DivUIOp>(
      loc, b.create<memref::DimOp>(loc, chunk, 0), cidx(b, loc, rows));
  Value enough = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, tiles,
                                         cidx(b, loc, kWidePanelTiles));
  auto vectorType = VectorType::get({width}, b.getF32Type());
  auto loadType = VectorType::get({width * perWord}, element);
  bool built = true;
  auto ifOp = b.create<scf::IfOp>(loc, enough, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifOp.thenBlock());
  b.create<scf::ForOp>(
      loc, c0, tiles, c1, ValueRange{},
      [&](OpBuilder &ob, Location oloc, Value tile, ValueRange) {
        Value first =
            ob.create<arith::MulIOp>(oloc, tile, cidx(ob, oloc, rows));
        ob.create<scf::ForOp>(
            oloc, c0, cidx(ob, oloc, depth), cidx(ob, oloc, width),
            ValueRange{},
            [&](OpBuilder &nb, Location nloc, Value k, ValueRange) {
              SmallVector<Value> rowVectors;
              Value column = perWord == 1
                                 ? k
                                 : nb.create<arith::MulIOp>(
                                       nloc, k, cidx(nb, nloc, perWord));
              for (int64_t i = 0; i < rows; ++i) {
                Value row = nb.create<vector::LoadOp>(
                    nloc, loadType, chunk,
                    ValueRange{nb.create<arith::AddIOp>(nloc, first,
                                                        cidx(nb, nloc, i)),
                               column});
                if (perWord != 1)
                  row = nb.create<vector::BitCastOp>(nloc, vectorType, row);
                rowVectors.push_back(row);
              }
              SmallVector<Value> columns =
                  transposeRows(nb, nloc, rowVectors, width);
              built &= !columns.empty();
              for (auto [c, column] : llvm::enumerate(columns))
                nb.create<vector::StoreOp>(
                    nloc, column, buffer,
                    ValueRange{tile,
                               nb.create<arith::AddIOp>(
                                   nloc, k, cidx(nb, nloc, c * (width / rows))),
                               c0});
              nb.create<scf::YieldOp>(nloc);
            });
        ob.create<scf::YieldOp>(oloc);
      });
  if (!built) {
    ifOp.erase();
    return std::nullopt;
  }
  return std::make_pair(buffer, enough);
}

/// The view of the packed inputs `buffer` that the tile whose inputs are
/// the chunk's view `x` reads: [depth, rows] (words of `perWord` inputs).
static Value packedTileInputs(OpBuilder &b, Location loc, Value x, Value buffer,
                              int64_t rows, int64_t depth, int64_t perWord) {
  auto view = x.getDefiningOp<memref::SubViewOp>();
  SmallVector<OpFoldResult> at = view.getMixedOffsets();
  Value first = getValueOrCreateConstantIndexOp(b, loc, at[0]);
  Value tile = b.create<arith::DivUIOp>(
      loc, first, b.create<arith::ConstantIndexOp>(loc, rows));
  OpFoldResult column = at[1];
  if (perWord != 1)
    column = b.create<arith::DivUIOp>(
                  loc, getValueOrCreateConstantIndexOp(b, loc, at[1]),
                  b.create<arith::ConstantIndexOp>(loc, perWord))
                 .getResult();
  SmallVector<OpFoldResult> offsets = {tile, column, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(depth),
                                     b.getIndexAttr(rows)};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  auto type = memref::SubViewOp::inferRankReducedResultType(
      {depth, rows}, cast<MemRefType>(buffer.getType()), offsets, sizes,
      strides);
  return b.create<memref::SubViewOp>(loc, cast<MemRefType>(type), buffer,
                                     offsets, sizes, strides);
}

/// For a static tile of several rows on float or quantized weights (with
/// f32 inputs; not interleaved, fixed-width) in a loop over row tiles
/// whose panel does not depend on the row: versions the loop on its trip
/// count. With at least kWidePanelTiles tiles, the panel is first widened
/// (dequantized: integers times their group's scale) to f32 into a buffer
/// on the stack (64-byte aligned; the next panel prefetched meanwhile), and
/// that loop's tile reads the buffer: the FMA ports then do FMAs only (an 8
/// x 32 tile on L1 data, Xeon: 207 GFLOP/s against 163 widening bf16 in
/// the loop). Fewer rows (decode's single row never reaches the loop) keep
/// the original loop. The widened version's tiles also read their inputs
/// packed (see packInputs) where they can. f32 weights get the version only
/// where their inputs are packed, and are read in place, each tile
/// prefetching the next panel into the L2 (Tile::prefetchNextPanel). They
/// were copied into the buffer before, for the next panel's prefetch: on
/// the Xeon, 8-row tiles with packed inputs and copied panels ran the 1B
/// model's f32 prefill 512 at 110.9 tok/s against 99.2 for 6-row tiles
/// reading the weights in place without packed inputs (medians, 8
/// alternating runs); on Zen 5, 2 threads, reading them in place with the
/// L2 prefetch against copying them: prefill 128 +11.5%, 512 +13% (each run
/// over the mean of the runs before and after it).
struct WidePanel {
  /// The tile in the widened version.
  linalg::LinalgOp op;
  /// The widened panel (or the f32 weights themselves, read in place; null
  /// for bf16 pairs, read in place too), and the packed inputs (or null).
  Value panel, inputs;
};

/// For a static tile of bf16 pairs (interleaved by 2, on the target's bf16
/// dot product) in a loop over row tiles: versions the loop on the row
/// chunk having at least kWidePanelTiles tiles, and in that version the
/// tiles read their input pairs packed as 32-bit words (see packInputs):
/// each depth step's broadcasts come from one contiguous stream instead of
/// `rows` rows 4 KiB apart. The weights are read in place, as they are.
static std::optional<WidePanel>
versionForPackedPairs(OpBuilder &b, linalg::LinalgOp op, TargetAttr target) {
  std::optional<Tile> t = matchStaticTile(op);
  auto loop = dyn_cast<scf::ForOp>(op->getParentOp());
  if (!t || t->rows < 2 || !loop)
    return std::nullopt;
  auto wType = cast<MemRefType>(t->w.getType());
  if (wType.getRank() != 4 || wType.getDimSize(3) != 2)
    return std::nullopt;
  (void)moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
  if (!loop.isDefinedOutsideOfLoop(loop.getUpperBound()))
    return std::nullopt;
  std::optional<std::pair<Value, Value>> inputs =
      packInputs(b, *t, loop, target, 2);
  if (!inputs)
    return std::nullopt;
  // The packing's condition (the chunk has kWidePanelTiles tiles) is the
  // row loop's too.
  versionOn(b, loop, inputs->second);
  return WidePanel{op, Value(), inputs->first};
}

static std::optional<WidePanel>
versionForWidePanel(OpBuilder &b, linalg::LinalgOp op, TargetAttr target) {
  if (getConfig(op).getScalableLanes() || isQuantizedDot(op))
    return std::nullopt;
  if (isInterleaved(op))
    return versionForPackedPairs(b, op, target);
  std::optional<Tile> t = matchStaticTile(op);
  auto loop = dyn_cast<scf::ForOp>(op->getParentOp());
  if (!t || t->rows < 2 || !loop)
    return std::nullopt;
  auto wType = cast<MemRefType>(t->w.getType());
  Type element = wType.getElementType();
  // f32 weights: read in place, only where the inputs are packed too
  // (below).
  bool f32Weights = !t->group && element.isF32();
  if (!t->group && !element.isBF16() && !element.isF16() && !f32Weights)
    return std::nullopt;
  // The panel's view (and what it depends on) out of the loop.
  (void)moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
  if (!loop.isDefinedOutsideOfLoop(t->w) ||
      (t->scales && !loop.isDefinedOutsideOfLoop(t->scales)) ||
      !loop.isDefinedOutsideOfLoop(loop.getUpperBound()))
    return std::nullopt;
  std::optional<std::pair<Value, Value>> inputs =
      packInputs(b, *t, loop, target, 1);
  if (f32Weights && !inputs)
    return std::nullopt;
  Value packed = inputs ? inputs->first : Value();
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop);
  Value span =
      b.create<arith::SubIOp>(loc, loop.getUpperBound(), loop.getLowerBound());
  Value enough = b.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::sge, span,
      b.create<arith::ConstantIndexOp>(loc, kWidePanelTiles * t->rows));
  // (The same condition as the packing's, from the chunk's rows: both hold
  // or neither.)
  if (inputs)
    enough = b.create<arith::AndIOp>(loc, enough, inputs->second);
  // Else: the loop as it was. Then: widen, then the loop on the buffer.
  versionOn(b, loop, enough);
  if (f32Weights)
    return WidePanel{op, t->w, packed};
  // Quantized, the panel is dequantized: [1, groups * group, lanes of both
  // halves].
  int64_t halves = t->nibbles ? 2 : 1;
  int64_t columns = t->group ? t->depth * t->group : t->depth;
  auto func = op->getParentOfType<func::FuncOp>();
  b.setInsertionPointToStart(&func.getBody().front());
  Value panel = b.create<memref::AllocaOp>(
      loc, MemRefType::get({1, columns, halves * t->lanes}, f32),
      b.getI64IntegerAttr(64));
  b.setInsertionPoint(loop);
  auto wideType = VectorType::get({t->lanes}, f32);
  auto narrowType = VectorType::get({t->lanes}, element);
  auto cidx = [&](OpBuilder &nb, Location nloc, int64_t v) -> Value {
    return nb.create<arith::ConstantIndexOp>(nloc, v);
  };
  Value c0 = cidx(b, loc, 0), c1 = cidx(b, loc, 1);
  Value depth = cidx(b, loc, t->depth);
  // The next panel (the rest of the block's depth, then the next block's:
  // one stream) is fetched while this one is widened.
  auto prefetchNext = [&](OpBuilder &nb, Location nloc, ValueRange at) {
    prefetchAhead(nb, nloc, t->w, at, 1, t->depth, 3);
  };
  if (!t->group) {
    int64_t lineLanes =
        std::max<int64_t>(1, 512 / element.getIntOrFloatBitWidth());
    b.create<scf::ForOp>(
        loc, c0, depth, c1, ValueRange{},
        [&](OpBuilder &nb, Location nloc, Value k, ValueRange) {
          // Every 64-byte line of the row.
          for (int64_t lane = 0; lane < t->lanes; lane += lineLanes)
            prefetchNext(nb, nloc, {c0, k, cidx(nb, nloc, lane)});
          Value v = nb.create<vector::LoadOp>(nloc, narrowType, t->w,
                                              ValueRange{c0, k, c0});
          Value wide =
              element.isBF16()
                  ? widenBF16(nb, nloc, v, wideType)
                  : nb.create<arith::ExtFOp>(nloc, wideType, v).getResult();
          nb.create<vector::StoreOp>(nloc, wide, panel, ValueRange{c0, k, c0});
          nb.create<scf::YieldOp>(nloc);
        });
    return WidePanel{op, panel, packed};
  }
  // Quantized: each group's integers (in 4 bits: low nibbles, then high,
  // less 8) times the lanes' scale of their half.
  auto bytesType = VectorType::get({t->lanes}, b.getI8Type());
  auto splat = [&](OpBuilder &nb, Location nloc, int64_t v) -> Value {
    return nb.create<arith::ConstantOp>(
        nloc, DenseElementsAttr::get(bytesType, nb.getI8IntegerAttr(v)));
  };
  Value group = cidx(b, loc, t->group);
  b.create<scf::ForOp>(
      loc, c0, depth, c1, ValueRange{},
      [&](OpBuilder &ob, Location oloc, Value kg, ValueRange) {
        SmallVector<Value> scales;
        for (int64_t h = 0; h < halves; ++h) {
          SmallVector<Value> at = {c0, kg};
          if (t->nibbles)
            at.push_back(cidx(ob, oloc, h));
          at.push_back(c0);
          scales.push_back(ob.create<arith::ExtFOp>(
              oloc, wideType,
              ob.create<vector::LoadOp>(
                    oloc, VectorType::get({t->lanes}, ob.getF16Type()),
                    t->scales, at)
                  .getResult()));
        }
        Value first = ob.create<arith::MulIOp>(oloc, kg, group);
        ob.create<scf::ForOp>(
            oloc, c0, group, c1, ValueRange{},
            [&](OpBuilder &nb, Location nloc, Value ki, ValueRange) {
              prefetchNext(nb, nloc, {c0, kg, ki, c0});
              Value q = nb.create<vector::LoadOp>(nloc, bytesType, t->w,
                                                  ValueRange{c0, kg, ki, c0});
              SmallVector<Value> integers = {q};
              if (t->nibbles)
                integers = {
                    nb.create<arith::SubIOp>(
                        nloc,
                        nb.create<arith::AndIOp>(nloc, q, splat(nb, nloc, 15)),
                        splat(nb, nloc, 8)),
                    nb.create<arith::SubIOp>(
                        nloc,
                        nb.create<arith::ShRUIOp>(nloc, q, splat(nb, nloc, 4)),
                        splat(nb, nloc, 8))};
              Value k = nb.create<arith::AddIOp>(nloc, first, ki);
              for (int64_t h = 0; h < halves; ++h) {
                Value value = nb.create<arith::MulFOp>(
                    nloc,
                    nb.create<arith::SIToFPOp>(nloc, wideType, integers[h]),
                    scales[h]);
                nb.create<vector::StoreOp>(
                    nloc, value, panel,
                    ValueRange{c0, k, cidx(nb, nloc, h * t->lanes)});
              }
              nb.create<scf::YieldOp>(nloc);
            });
        ob.create<scf::YieldOp>(oloc);
      });
  return WidePanel{op, panel, packed};
}

/// Emits an interleaved bf16 tile: for every pair of the depth, each chunk
/// of `chunk` lanes loads its 2 x chunk weights once and every row adds its
/// broadcast input pair's dot products (the target's instruction) into its
/// accumulator. A tile of several rows prefetches the same place of the
/// next panel into the L2 (one depth step on: the block's next step, or the
/// next block's first), which the hardware prefetchers did not bring in
/// before the first tile on it: bf16 prefill of the 1B model on Zen 5, 2
/// threads, each run over the mean of the runs just before and after it
/// without, 128 tokens +18.6% (340-368 against 265-310 tok/s), 512 tokens
/// +11.6%. Twice as far, or into the L1 or the L3, was no better.
static LogicalResult emitDotTile(OpBuilder &b, Location loc, const Tile &t,
                                 const TargetBackend &backend, Operation *op) {
  auto wType = cast<MemRefType>(t.w.getType());
  Type bf16 = b.getBF16Type();
  int64_t chunk = 0;
  for (int64_t candidate : {16, 8, 4})
    if (!chunk && t.lanes % candidate == 0)
      chunk = candidate;
  Type xElement = cast<MemRefType>(t.x.getType()).getElementType();
  if (wType.getDimSize(3) != 2 || !wType.getElementType().isBF16() ||
      !(t.xByDepth ? xElement.isF32() : xElement.isBF16()) || !chunk)
    return op->emitError("llm-tile-and-vectorize: an interleaved matmul "
                         "must multiply bf16 pairs on whole 4-lane chunks");
  int64_t chunks = t.lanes / chunk;
  auto accType = VectorType::get({chunk}, b.getF32Type());
  auto pairsType = VectorType::get({2 * chunk}, bf16);
  auto splatType = VectorType::get({chunk}, b.getI32Type());
  // The block's lanes and pairs as one contiguous dimension.
  Value w = b.create<memref::CollapseShapeOp>(
      loc, t.w, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
  Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
  Value c2 = b.create<arith::ConstantIndexOp>(loc, 2);
  auto lane = [&](OpBuilder &nb, Location nloc, int64_t c, int64_t scale) {
    return nb.create<arith::ConstantIndexOp>(nloc, c * chunk * scale);
  };
  SmallVector<Value> accs;
  for (int64_t i = 0; i < t.rows; ++i) {
    Value row = b.create<arith::ConstantIndexOp>(loc, i);
    for (int64_t c = 0; c < chunks; ++c)
      accs.push_back(b.create<vector::LoadOp>(
          loc, accType, t.out, ValueRange{row, c0, lane(b, loc, c, 1)}));
  }
  Value end = b.create<arith::ConstantIndexOp>(loc, t.depth);
  // Bytes per step of the depth (a pair of every lane).
  int64_t stepBytes = 2 * t.lanes * 2;
  int64_t nearSteps = std::max<int64_t>(1, kPrefetchBytes / stepBytes);
  int64_t farSteps =
      t.farPrefetchBytes
          ? std::max<int64_t>(nearSteps + 1, t.farPrefetchBytes / stepBytes)
          : 0;
  bool failedDot = false;
  auto loop = b.create<scf::ForOp>(
      loc, c0, end, c1, accs,
      [&](OpBuilder &nb, Location nloc, Value k, ValueRange carried) {
        SmallVector<Value> weights;
        for (int64_t c = 0; c < chunks; ++c) {
          weights.push_back(nb.create<vector::LoadOp>(
              nloc, pairsType, w, ValueRange{c0, k, lane(nb, nloc, c, 2)}));
          Value at = lane(nb, nloc, c, 2);
          // Rows of a prefill: the next panel (the block's next depth step,
          // or the next block's first) into the L2, so that the first tile
          // on it does not wait on memory.
          if (t.rows != 1) {
            prefetchAhead(nb, nloc, w, {c0, k, at}, 1, t.depth, 2);
            continue;
          }
          // A single row streams the weights (decode): prefetched ahead
          // into the L1 and further into the L2, as the widened path does.
          prefetchAhead(nb, nloc, w, {c0, k, at}, 1, nearSteps, 3);
          if (farSteps)
            prefetchAhead(nb, nloc, w, {c0, k, at}, 1, farSteps, 2);
        }
        Value col = nb.create<arith::MulIOp>(nloc, k, c2);
        SmallVector<Value> next;
        for (int64_t i = 0; i < t.rows; ++i) {
          Value row = nb.create<arith::ConstantIndexOp>(nloc, i);
          Value word;
          if (t.xByDepth) {
            // Packed: the pair is the word at [k, row].
            word = nb.create<arith::BitcastOp>(
                nloc, nb.getI32Type(),
                nb.create<memref::LoadOp>(nloc, t.x, ValueRange{k, row}));
          } else {
            Value pair = nb.create<vector::LoadOp>(
                nloc, VectorType::get({2}, bf16), t.x, ValueRange{row, col});
            word = nb.create<vector::ExtractOp>(
                nloc,
                nb.create<vector::BitCastOp>(
                    nloc, VectorType::get({1}, nb.getI32Type()), pair),
                ArrayRef<int64_t>{0});
          }
          Value inputs = nb.create<vector::BitCastOp>(
              nloc, pairsType,
              nb.create<vector::SplatOp>(nloc, splatType, word));
          for (int64_t c = 0; c < chunks; ++c) {
            Value dot = backend.createBF16Dot(nb, nloc,
                                              carried[i * chunks + c], inputs,
                                              weights[c]);
            failedDot |= !dot;
            next.push_back(dot ? dot : carried[i * chunks + c]);
          }
        }
        nb.create<scf::YieldOp>(nloc, next);
      });
  if (failedDot)
    return op->emitError("llm-tile-and-vectorize: the target has no bf16 "
                         "dot product for ")
           << chunk << " lanes";
  for (int64_t i = 0; i < t.rows; ++i) {
    Value row = b.create<arith::ConstantIndexOp>(loc, i);
    for (int64_t c = 0; c < chunks; ++c)
      b.create<vector::StoreOp>(loc, loop.getResult(i * chunks + c), t.out,
                                ValueRange{row, c0, lane(b, loc, c, 1)});
  }
  return success();
}

/// Groups ahead that an 8-bit tile prefetches its weights: into the L1,
/// two groups of 8-bit weights (4 KiB for 64 lanes), 16 KiB of 4-bit ones
/// (32 groups of 16 lanes). Decode of the 1B model on Zen 5, 2 threads:
/// Q4_0 at 1 KiB ahead 42-46 tok/s, 4 KiB 45-48, 16 KiB 53-56, 32 KiB
/// 48-50; Q8_0 at 4 KiB 38-39, 8 and 16 KiB 33-38. A single row (decode)
/// also prefetches further ahead into the L2, as for 16-bit float weights
/// (the target's far distance, twice the first at least; 0 groups for
/// none): Q8_0 decode on the Xeon +6-8%, Q4_0 +4%. (The Zen 5 numbers above
/// were measured with it, before the scales were prefetched too; without it
/// 4 to 16 KiB ahead are within 4% of each other.)
static std::pair<int64_t, int64_t> int8PrefetchGroups(const Tile &t) {
  int64_t groupBytes = t.group * t.lanes;
  int64_t ahead =
      t.nibbles ? std::max<int64_t>(2, llvm::divideCeil(16384, groupBytes)) : 2;
  int64_t far =
      t.farPrefetchBytes
          ? std::max<int64_t>(2 * ahead,
                              llvm::divideCeil(t.farPrefetchBytes, groupBytes))
          : 0;
  return {ahead, t.rows == 1 ? far : 0};
}

/// Prefetches `memref` at `at` with its group index (dimension 1) replaced
/// by `ahead` into the L1 and, unless null, by `far` into the L2.
static void prefetchGroupsAhead(OpBuilder &b, Location loc, Value memref,
                                ArrayRef<Value> at, Value ahead, Value far) {
  SmallVector<Value> there(at);
  for (auto [group, locality] : {std::pair(ahead, 3), std::pair(far, 2)}) {
    if (!group)
      continue;
    there[1] = group;
    b.create<memref::PrefetchOp>(loc, memref, there, /*isWrite=*/false,
                                 locality, /*isDataCache=*/true);
  }
}

/// Loads one vector of an 8-bit tile's weight bytes at `at` ([0, group,
/// step, lane] of the collapsed weights), prefetching the same place
/// `ahead` groups on (and `far` groups for a single row, unless null) when
/// `prefetch`;
/// returns the integers the product takes: the low and high nibbles in 4
/// bits (0..15), otherwise the bytes, their top bit flipped when the
/// weights are made unsigned (`offset` 128).
static std::pair<Value, Value>
loadInt8Weights(OpBuilder &b, Location loc, const Tile &t, Value w,
                VectorType bytesType, ArrayRef<Value> at, Value ahead,
                Value far, bool prefetch, int64_t offset) {
  Value bytes = b.create<vector::LoadOp>(loc, bytesType, w, at);
  if (prefetch)
    prefetchGroupsAhead(b, loc, w, at, ahead, far);
  auto splat = [&](int64_t value) -> Value {
    return b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(value)));
  };
  if (t.nibbles)
    return {b.create<arith::AndIOp>(loc, bytes, splat(15)),
            b.create<arith::ShRUIOp>(loc, bytes, splat(4))};
  if (offset)
    return {b.create<arith::XOrIOp>(loc, bytes, splat(-128)), Value()};
  return {bytes, Value()};
}

/// Prefetches the f16 scales (and offsets) of group `ahead` (and `far`
/// unless null) of an 8-bit tile, each 64-byte line of them: a second
/// stream beside the weights (an eighth of their bytes in 4-bit groups of
/// 32) that was left to the hardware prefetchers. Q4_0 decode of the 1B
/// model on Zen 5, 2 threads: perf put 47% of the 4-bit kernel's samples on
/// the scale load at each group's start before; +5% with it.
static void prefetchGroupValues(OpBuilder &b, Location loc, const Tile &t,
                                Value ahead, Value far) {
  // A group's values: [halves, lanes] f16, 32 to a line.
  int64_t halves = t.nibbles ? 2 : 1, perLine = 32;
  auto cidx = [&](int64_t value) -> Value {
    return b.create<arith::ConstantIndexOp>(loc, value);
  };
  for (Value values : {t.scales, t.offsets}) {
    if (!values)
      continue;
    for (int64_t e = 0; e < halves * t.lanes; e += perLine) {
      SmallVector<Value> at = {cidx(0), ahead};
      if (t.nibbles)
        at.push_back(cidx(e / t.lanes));
      at.push_back(cidx(e % t.lanes));
      prefetchGroupsAhead(b, loc, values, at, ahead, far);
    }
  }
}

/// The integer sums a group starts from: with 16-bit inputs the high limb's
/// at zero, then the low limb's at `starts` (the corrections); otherwise
/// `starts`.
static SmallVector<Value> int8GroupStarts(OpBuilder &b, Location loc,
                                          const Tile &t, VectorType intType,
                                          ArrayRef<Value> starts) {
  SmallVector<Value> initial;
  if (t.limbs == 2)
    initial.assign(
        starts.size(),
        b.create<arith::ConstantOp>(
            loc, DenseElementsAttr::get(intType, b.getI32IntegerAttr(0))));
  llvm::append_range(initial, starts);
  return initial;
}

/// A group's integer sums (16-bit inputs: the high limb's shifted onto the
/// low limb's) converted and added into the f32 accumulators times the
/// weights' scales and the inputs'; `scaleOf(a)` gives accumulator a's
/// pair of scale vectors.
static SmallVector<Value> int8GroupEnd(
    OpBuilder &b, Location loc, const Tile &t, ValueRange results,
    ValueRange accs,
    llvm::function_ref<std::pair<Value, Value>(int64_t)> scaleOf,
    llvm::function_ref<std::pair<Value, Value>(int64_t)> offsetOf = nullptr) {
  int64_t count = accs.size();
  SmallVector<Value> sums(results.take_front(count));
  if (t.limbs == 2) {
    Value shift = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(
                 cast<VectorType>(sums[0].getType()),
                 b.getI32IntegerAttr(llvm::Log2_64(kInputLimbBase))));
    for (int64_t a = 0; a < count; ++a)
      sums[a] = b.create<arith::AddIOp>(
          loc, b.create<arith::ShLIOp>(loc, sums[a], shift),
          results[count + a]);
  }
  SmallVector<Value> scaled;
  for (int64_t a = 0; a < count; ++a) {
    auto [weightScale, inputScale] = scaleOf(a);
    Value sum = b.create<arith::SIToFPOp>(loc, accs[a].getType(), sums[a]);
    Value scale = b.create<arith::MulFOp>(loc, weightScale, inputScale);
    Value acc = accs[a];
    // The group offsets times the inputs' sum (scaled) first.
    if (offsetOf) {
      auto [offset, inputSum] = offsetOf(a);
      acc = b.create<vector::FMAOp>(loc, offset, inputSum, acc);
    }
    scaled.push_back(b.create<vector::FMAOp>(loc, sum, scale, acc));
  }
  return scaled;
}

/// Emits a tile on the 8-bit dot product: per group, each row's integer
/// accumulators start at -offset times its inputs' sum (offset 128 for
/// weights made unsigned, 8 for nibbles stored offset by 8, 0 otherwise);
/// per 4 columns of the group, each chunk of lanes loads its 4 x chunk
/// weight bytes once (in 4 bits one load gives both halves: low nibbles,
/// high nibbles) and every row adds its broadcast 4 inputs' dot products;
/// at the group's end they are converted and added into the f32
/// accumulators times the lanes' scale and the row's (asymmetric weights:
/// plus the lanes' group offsets times the row's input sum and scale).
/// 16-bit inputs take limbs (v = kInputLimbBase h + l) whose sums per group
/// combine with a
/// shift; 32-bit arithmetic wraps, so only the group's final sum must fit
/// (at most 128 x 32639 x 255 for groups of 128).
static LogicalResult emitInt8DotTile(OpBuilder &b, Location loc, const Tile &t,
                                     const TargetBackend &backend,
                                     TargetAttr target, Operation *op) {
  Int8DotKind kind = backend.getInt8Dot(target);
  int64_t widest = backend.getInt8DotLanes(target);
  int64_t chunk = 0;
  for (int64_t candidate : {16, 8, 4})
    if (!chunk && candidate <= widest && t.lanes % candidate == 0)
      chunk = candidate;
  if (kind == Int8DotKind::None || !chunk)
    return op->emitError("llm-tile-and-vectorize: the target has no 8-bit "
                         "dot product for a block of ")
           << t.lanes << " lanes";
  int64_t chunks = t.lanes / chunk, halves = t.nibbles ? 2 : 1;
  int64_t offset = t.crumbs                               ? 32
                   : t.nibbles                              ? 8
                   : kind == Int8DotKind::UnsignedWeights ? 128
                                                          : 0;
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
  auto accType = VectorType::get({chunk}, f32);
  auto intType = VectorType::get({chunk}, i32);
  auto bytesType = VectorType::get({4 * chunk}, i8);
  auto splat = [&](OpBuilder &nb, Location nloc, VectorType type,
                   Attribute value) -> Value {
    return nb.create<arith::ConstantOp>(nloc,
                                        DenseElementsAttr::get(type, value));
  };
  auto cidx = [](OpBuilder &nb, Location nloc, int64_t value) -> Value {
    return nb.create<arith::ConstantIndexOp>(nloc, value);
  };
  // A chunk's weights for 4 columns are contiguous: [1, depth, group / 4,
  // lanes * 4].
  Value w = b.create<memref::CollapseShapeOp>(
      loc, t.w, ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
  // So are their top two bits in 6 bits, a pair of steps to a byte: [1,
  // depth, group / 8, lanes * 4].
  Value crumbs =
      t.crumbs ? b.create<memref::CollapseShapeOp>(
                     loc, t.crumbs,
                     ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}})
                     .getResult()
               : Value();
  if (t.crumbs && (t.interleave != 4 || t.group % 8 != 0))
    return op->emitError("llm-tile-and-vectorize: 6-bit weights need an "
                         "interleave of 4 and groups of a multiple of 8");
  Value c0 = cidx(b, loc, 0);
  // Accumulator of half h, row i, chunk c at (h * rows + i) * chunks + c;
  // the output and scale indices gain the half in 4 bits.
  auto at = [&](OpBuilder &nb, Location nloc, Value first, Value second,
                int64_t h, int64_t c) -> SmallVector<Value> {
    SmallVector<Value> indices = {first, second};
    if (t.nibbles)
      indices.push_back(cidx(nb, nloc, h));
    indices.push_back(cidx(nb, nloc, c * chunk));
    return indices;
  };
  SmallVector<Value> accs;
  for (int64_t h = 0; h < halves; ++h)
    for (int64_t i = 0; i < t.rows; ++i)
      for (int64_t c = 0; c < chunks; ++c)
        accs.push_back(b.create<vector::LoadOp>(
            loc, accType, t.out, at(b, loc, cidx(b, loc, i), c0, h, c)));
  bool failedDot = false;
  auto outer = b.create<scf::ForOp>(
      loc, c0, cidx(b, loc, t.depth), cidx(b, loc, 1), accs,
      [&](OpBuilder &ob, Location oloc, Value kg, ValueRange outerAccs) {
        // A group's f16 values (scales, offsets) per half and chunk.
        auto chunkValues = [&](Value values) {
          SmallVector<Value> result;
          for (int64_t h = 0; h < halves; ++h)
            for (int64_t c = 0; c < chunks; ++c)
              result.push_back(ob.create<arith::ExtFOp>(
                  oloc, accType,
                  ob.create<vector::LoadOp>(
                        oloc, VectorType::get({chunk}, ob.getF16Type()), values,
                        at(ob, oloc, c0, kg, h, c))
                      .getResult()));
          return result;
        };
        SmallVector<Value> scales = chunkValues(t.scales), rowScales;
        // Asymmetric groups: their offsets, and each row's input sum times
        // its scale.
        SmallVector<Value> groupOffsets, rowSums;
        if (t.offsets)
          groupOffsets = chunkValues(t.offsets);
        // The correction -offset * sum, added where the last limb starts.
        SmallVector<Value> corrections;
        for (int64_t i = 0; i < t.rows; ++i) {
          Value row = cidx(ob, oloc, i);
          Value inputScale = ob.create<memref::LoadOp>(oloc, t.inputScales,
                                                       ValueRange{row, kg});
          rowScales.push_back(
              ob.create<vector::SplatOp>(oloc, accType, inputScale));
          if (t.offsets)
            rowSums.push_back(ob.create<vector::SplatOp>(
                oloc, accType,
                ob.create<arith::MulFOp>(
                    oloc, inputScale,
                    ob.create<arith::SIToFPOp>(
                        oloc, f32,
                        ob.create<memref::LoadOp>(oloc, t.inputSums,
                                                  ValueRange{row, kg})))));
          Value correction = splat(ob, oloc, intType, ob.getI32IntegerAttr(0));
          if (offset) {
            Value sum = ob.create<memref::LoadOp>(oloc, t.inputSums,
                                                  ValueRange{row, kg});
            correction = ob.create<vector::SplatOp>(
                oloc, intType,
                ob.create<arith::MulIOp>(
                    oloc, sum,
                    ob.create<arith::ConstantOp>(
                        oloc, ob.getI32IntegerAttr(-offset))));
          }
          corrections.push_back(correction);
        }
        Value first =
            ob.create<arith::MulIOp>(oloc, kg, cidx(ob, oloc, t.group));
        // The weights ahead (int8PrefetchGroups), one line per chunk.
        auto [aheadGroups, farGroups] = int8PrefetchGroups(t);
        Value ahead =
            ob.create<arith::AddIOp>(oloc, kg, cidx(ob, oloc, aheadGroups));
        Value far =
            farGroups
                ? ob.create<arith::AddIOp>(oloc, kg, cidx(ob, oloc, farGroups))
                : Value();
        prefetchGroupValues(ob, oloc, t, ahead, far);
        // One pass over the group; with 16-bit inputs both limbs in it, on
        // accumulators of their own (the weights loaded and unpacked once),
        // the high limb's sums shifted onto the low one's at the end. The
        // low limb's accumulators start at the correction. On the Xeon,
        // Q4_0 prefill 512 (6 rows x 2 halves): 183-192 tok/s against
        // 153-173 with a pass per limb, although the f32 accumulators no
        // longer fit the registers beside the integer ones.
        int64_t count = halves * t.rows * chunks;
        SmallVector<Value> starts;
        for (int64_t h = 0; h < halves; ++h)
          for (int64_t i = 0; i < t.rows; ++i)
            for (int64_t c = 0; c < chunks; ++c)
              starts.push_back(corrections[i]);
        SmallVector<Value> initial =
            int8GroupStarts(ob, oloc, t, intType, starts);
        // One step of 4 columns at kq: parts[h * chunks + c] is chunk c's
        // weights of half h; returns the accumulators after it.
        auto step = [&](OpBuilder &nb, Location nloc, Value kq,
                        ArrayRef<Value> parts, ValueRange carried) {
          Value quad = nb.create<arith::MulIOp>(nloc, kq, cidx(nb, nloc, 4));
          Value col = nb.create<arith::AddIOp>(nloc, first, quad);
          SmallVector<Value> next(carried.begin(), carried.end());
          for (int64_t li = 0; li < t.limbs; ++li)
            for (int64_t i = 0; i < t.rows; ++i) {
              // x [rows, depth * group], or [rows, depth, 2, group]
              // in 16 bits.
              SmallVector<Value> xAt = {cidx(nb, nloc, i), col};
              if (t.limbs == 2)
                xAt = {cidx(nb, nloc, i), kg, cidx(nb, nloc, li), quad};
              Value four = nb.create<vector::LoadOp>(
                  nloc, VectorType::get({4}, i8), t.x, xAt);
              Value word = nb.create<vector::ExtractOp>(
                  nloc,
                  nb.create<vector::BitCastOp>(
                      nloc, VectorType::get({1}, i32), four),
                  ArrayRef<int64_t>{0});
              Value inputs = nb.create<vector::BitCastOp>(
                  nloc, bytesType,
                  nb.create<vector::SplatOp>(nloc, intType, word));
              for (int64_t h = 0; h < halves; ++h)
                for (int64_t c = 0; c < chunks; ++c) {
                  int64_t a = li * count + (h * t.rows + i) * chunks + c;
                  Value dot = backend.createInt8Dot(
                      nb, nloc, target, next[a], parts[h * chunks + c], inputs);
                  failedDot |= !dot;
                  if (dot)
                    next[a] = dot;
                }
            }
          return next;
        };
        auto loadParts = [&](OpBuilder &nb, Location nloc, Value kq) {
          SmallVector<Value> parts(halves * chunks);
          for (int64_t c = 0; c < chunks; ++c) {
            auto [low, high] = loadInt8Weights(
                nb, nloc, t, w, bytesType,
                {c0, kg, kq, cidx(nb, nloc, c * chunk * 4)}, ahead, far,
                /*prefetch=*/true, offset);
            parts[c] = low;
            if (high)
              parts[chunks + c] = high;
          }
          return parts;
        };
        // In 6 bits, two steps at a time: one load of the top bits serves
        // both (bits 0-1 and 2-3 the first step's halves, 4-5 and 6-7 the
        // second's), each moved to bits 4-5 of its nibbles.
        int64_t stride = t.crumbs ? 2 : 1;
        auto inner = ob.create<scf::ForOp>(
            oloc, c0, cidx(ob, oloc, t.group / 4), cidx(ob, oloc, stride),
            initial,
            [&](OpBuilder &nb, Location nloc, Value kq, ValueRange carried) {
              if (!crumbs) {
                nb.create<scf::YieldOp>(
                    nloc, step(nb, nloc, kq, loadParts(nb, nloc, kq), carried));
                return;
              }
              Value pair =
                  nb.create<arith::DivUIOp>(nloc, kq, cidx(nb, nloc, 2));
              SmallVector<Value> tops;
              for (int64_t c = 0; c < chunks; ++c) {
                SmallVector<Value> at = {c0, kg, pair,
                                         cidx(nb, nloc, c * chunk * 4)};
                tops.push_back(
                    nb.create<vector::LoadOp>(nloc, bytesType, crumbs, at));
                prefetchGroupsAhead(nb, nloc, crumbs, at, ahead, far);
              }
              auto splat = [&](int64_t value) -> Value {
                return nb.create<arith::ConstantOp>(
                    nloc,
                    DenseElementsAttr::get(bytesType, nb.getI8IntegerAttr(
                                                          int8_t(value))));
              };
              SmallVector<Value> next(carried.begin(), carried.end());
              for (int64_t odd = 0; odd < 2; ++odd) {
                Value at = odd ? nb.create<arith::AddIOp>(nloc, kq,
                                                          cidx(nb, nloc, 1))
                               : kq;
                SmallVector<Value> parts = loadParts(nb, nloc, at);
                for (int64_t h = 0; h < 2; ++h)
                  for (int64_t c = 0; c < chunks; ++c) {
                    // Bits 2 * (2 * odd + h) to 4.
                    int64_t shift = 2 * (2 * odd + h) - 4;
                    Value top = tops[c];
                    if (shift < 0)
                      top = nb.create<arith::ShLIOp>(nloc, top,
                                                     splat(-shift));
                    else if (shift > 0)
                      top = nb.create<arith::ShRUIOp>(nloc, top,
                                                      splat(shift));
                    Value &part = parts[h * chunks + c];
                    part = nb.create<arith::OrIOp>(
                        nloc, part,
                        nb.create<arith::AndIOp>(nloc, top, splat(0x30)));
                  }
                next = step(nb, nloc, at, parts, next);
              }
              nb.create<scf::YieldOp>(nloc, next);
            });
        auto offsetOf = [&](int64_t a) {
          int64_t c = a % chunks, hi = a / chunks;
          return std::make_pair(groupOffsets[(hi / t.rows) * chunks + c],
                                rowSums[hi % t.rows]);
        };
        ob.create<scf::YieldOp>(
            oloc,
            int8GroupEnd(
                ob, oloc, t, inner.getResults(), outerAccs,
                [&](int64_t a) {
                  int64_t c = a % chunks, hi = a / chunks;
                  return std::make_pair(scales[(hi / t.rows) * chunks + c],
                                        rowScales[hi % t.rows]);
                },
                t.offsets
                    ? llvm::function_ref<std::pair<Value, Value>(int64_t)>(
                          offsetOf)
                    : nullptr));
      });
  if (failedDot)
    return op->emitError("llm-tile-and-vectorize: the target has no 8-bit "
                         "dot product for ")
           << chunk << " lanes";
  for (int64_t h = 0; h < halves; ++h)
    for (int64_t i = 0; i < t.rows; ++i)
      for (int64_t c = 0; c < chunks; ++c)
        b.create<vector::StoreOp>(
            loc, outer.getResult((h * t.rows + i) * chunks + c), t.out,
            at(b, loc, cidx(b, loc, i), c0, h, c));
  return success();
}

/// Emits a tile on 2 x 8 by 8 x 2 matrix products (AArch64 `smmla`, the
/// weights interleaved by 8): rows in pairs (an odd last row paired with
/// itself, so decode's single row takes one half of each product), lanes
/// in pairs. Each accumulator holds a pair of rows times a pair of lanes,
/// row-major [r0 c0, r0 c1, r1 c0, r1 c1]: in i32 within a group, starting
/// at -offset times the rows' input sums (8 for nibbles, 0..15 as stored;
/// 8-bit weights are signed), and in f32 across groups, times [s c0, s c1,
/// s c0, s c1] and [x r0, x r0, x r1, x r1] at each group's end; the f32
/// ones are loaded and stored back a row's pair of lanes at a time. Per 8
/// columns of the group each pair of lanes loads its 2 x 8 weight bytes
/// once (in 4 bits both halves: low nibbles, high nibbles) and each pair of
/// rows its 2 x 8 inputs per limb; 16-bit inputs run both limbs in the one
/// pass, as on the dot product. Group offsets (asymmetric weights) add
/// [o c0, o c1, o c0, o c1] times the rows' input sums and scales at each
/// group's end.
static LogicalResult emitInt8MatmulTile(OpBuilder &b, Location loc,
                                        const Tile &t,
                                        const TargetBackend &backend,
                                        TargetAttr target, Operation *op) {
  if (t.crumbs)
    return op->emitError("llm-tile-and-vectorize: 6-bit weights have no "
                         "kernel on the 8-bit matrix product; they are "
                         "packed for the dot product only");
  if (!backend.hasInt8Matmul(target) || t.lanes % 2 != 0 || t.group % 8 != 0)
    return op->emitError("llm-tile-and-vectorize: the target has no 8-bit "
                         "matrix product for a block of ")
           << t.lanes << " lanes";
  int64_t pairs = (t.rows + 1) / 2, lanePairs = t.lanes / 2;
  int64_t halves = t.nibbles ? 2 : 1, offset = t.nibbles ? 8 : 0;
  int64_t count = halves * pairs * lanePairs;
  Type i8 = b.getI8Type(), f32 = b.getF32Type();
  auto accType = VectorType::get({4}, f32);
  auto intType = VectorType::get({4}, b.getI32Type());
  auto pairType = VectorType::get({2}, f32);
  auto bytesType = VectorType::get({16}, i8);
  auto rowType = VectorType::get({8}, i8);
  auto cidx = [](OpBuilder &nb, Location nloc, int64_t value) -> Value {
    return nb.create<arith::ConstantIndexOp>(nloc, value);
  };
  auto splatInt = [&](OpBuilder &nb, Location nloc, int64_t value) -> Value {
    return nb.create<arith::ConstantOp>(
        nloc, DenseElementsAttr::get(intType, nb.getI32IntegerAttr(value)));
  };
  // Row i of pair p; the pair of a last odd row repeats it.
  auto rowOf = [&](int64_t p, int64_t i) {
    return std::min(2 * p + i, t.rows - 1);
  };
  // The output and scale indices: (first, second[, half], lane).
  auto at = [&](OpBuilder &nb, Location nloc, Value first, Value second,
                int64_t h, int64_t lane) -> SmallVector<Value> {
    SmallVector<Value> indices = {first, second};
    if (t.nibbles)
      indices.push_back(cidx(nb, nloc, h));
    indices.push_back(cidx(nb, nloc, lane));
    return indices;
  };
  // Two values for the rows of pair p, [a, a, b, b].
  auto rowPair = [&](OpBuilder &nb, Location nloc, Value a, Value c) {
    return nb.create<vector::ShuffleOp>(
        nloc, nb.create<vector::SplatOp>(nloc, pairType, a),
        nb.create<vector::SplatOp>(nloc, pairType, c),
        ArrayRef<int64_t>{0, 1, 2, 3});
  };
  // A pair of lanes' weight bytes: [1, depth, group / 8, lanes * 8].
  Value w = b.create<memref::CollapseShapeOp>(
      loc, t.w, ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
  Value c0 = cidx(b, loc, 0);
  // Accumulator of half h, row pair p, lane pair q at (h * pairs + p) *
  // lanePairs + q.
  SmallVector<Value> accs;
  for (int64_t h = 0; h < halves; ++h)
    for (int64_t p = 0; p < pairs; ++p)
      for (int64_t q = 0; q < lanePairs; ++q) {
        Value r0 = b.create<vector::LoadOp>(
            loc, pairType, t.out,
            at(b, loc, cidx(b, loc, rowOf(p, 0)), c0, h, 2 * q));
        Value r1 = b.create<vector::LoadOp>(
            loc, pairType, t.out,
            at(b, loc, cidx(b, loc, rowOf(p, 1)), c0, h, 2 * q));
        accs.push_back(b.create<vector::ShuffleOp>(
            loc, r0, r1, ArrayRef<int64_t>{0, 1, 2, 3}));
      }
  bool failedProduct = false;
  int64_t aheadGroups, farGroups;
  std::tie(aheadGroups, farGroups) = int8PrefetchGroups(t);
  auto outer = b.create<scf::ForOp>(
      loc, c0, cidx(b, loc, t.depth), cidx(b, loc, 1), accs,
      [&](OpBuilder &ob, Location oloc, Value kg, ValueRange outerAccs) {
        // [v c0, v c1, v c0, v c1] per half and lane pair of a group's f16
        // values (scales, offsets).
        auto lanePairValues = [&](Value values) {
          SmallVector<Value> result;
          for (int64_t h = 0; h < halves; ++h)
            for (int64_t q = 0; q < lanePairs; ++q) {
              Value two = ob.create<arith::ExtFOp>(
                  oloc, pairType,
                  ob.create<vector::LoadOp>(
                        oloc, VectorType::get({2}, ob.getF16Type()), values,
                        at(ob, oloc, c0, kg, h, 2 * q))
                      .getResult());
              result.push_back(ob.create<vector::ShuffleOp>(
                  oloc, two, two, ArrayRef<int64_t>{0, 1, 0, 1}));
            }
          return result;
        };
        SmallVector<Value> scales = lanePairValues(t.scales);
        // Asymmetric groups: their offsets, and per row pair its input sums
        // times scales [a, a, b, b].
        SmallVector<Value> groupOffsets, rowSums;
        if (t.offsets)
          groupOffsets = lanePairValues(t.offsets);
        SmallVector<Value> rowScales, corrections;
        for (int64_t p = 0; p < pairs; ++p) {
          SmallVector<Value> xs, starts, sums;
          for (int64_t i = 0; i < 2; ++i) {
            Value row = cidx(ob, oloc, rowOf(p, i));
            xs.push_back(ob.create<memref::LoadOp>(oloc, t.inputScales,
                                                   ValueRange{row, kg}));
            if (t.offsets)
              sums.push_back(ob.create<arith::MulFOp>(
                  oloc, xs.back(),
                  ob.create<arith::SIToFPOp>(
                      oloc, f32,
                      ob.create<memref::LoadOp>(oloc, t.inputSums,
                                                ValueRange{row, kg}))));
            if (offset)
              starts.push_back(ob.create<arith::MulIOp>(
                  oloc,
                  ob.create<memref::LoadOp>(oloc, t.inputSums,
                                            ValueRange{row, kg}),
                  ob.create<arith::ConstantOp>(oloc,
                                               ob.getI32IntegerAttr(-offset))));
          }
          rowScales.push_back(rowPair(ob, oloc, xs[0], xs[1]));
          if (t.offsets)
            rowSums.push_back(rowPair(ob, oloc, sums[0], sums[1]));
          if (!offset) {
            corrections.push_back(splatInt(ob, oloc, 0));
            continue;
          }
          auto intPair = VectorType::get({2}, ob.getI32Type());
          corrections.push_back(ob.create<vector::ShuffleOp>(
              oloc, ob.create<vector::SplatOp>(oloc, intPair, starts[0]),
              ob.create<vector::SplatOp>(oloc, intPair, starts[1]),
              ArrayRef<int64_t>{0, 1, 2, 3}));
        }
        Value ahead =
            ob.create<arith::AddIOp>(oloc, kg, cidx(ob, oloc, aheadGroups));
        Value far =
            farGroups
                ? ob.create<arith::AddIOp>(oloc, kg, cidx(ob, oloc, farGroups))
                : Value();
        // The high limb's sums (16-bit inputs) start at zero, the last
        // limb's at the correction.
        SmallVector<Value> starts;
        for (int64_t h = 0; h < halves; ++h)
          for (int64_t p = 0; p < pairs; ++p)
            for (int64_t q = 0; q < lanePairs; ++q)
              starts.push_back(corrections[p]);
        SmallVector<Value> initial =
            int8GroupStarts(ob, oloc, t, intType, starts);
        auto inner = ob.create<scf::ForOp>(
            oloc, c0, cidx(ob, oloc, t.group / 8), cidx(ob, oloc, 1), initial,
            [&](OpBuilder &nb, Location nloc, Value ko, ValueRange carried) {
              // parts[h * lanePairs + q]: lane pair q's weights of half h.
              SmallVector<Value> parts(halves * lanePairs);
              // One prefetch per 64-byte line.
              for (int64_t q = 0; q < lanePairs; ++q) {
                auto [low, high] = loadInt8Weights(
                    nb, nloc, t, w, bytesType,
                    {c0, kg, ko, cidx(nb, nloc, q * 16)}, ahead, far,
                    /*prefetch=*/q * 16 % 64 == 0, /*offset=*/0);
                parts[q] = low;
                if (high)
                  parts[lanePairs + q] = high;
              }
              Value column =
                  nb.create<arith::MulIOp>(nloc, ko, cidx(nb, nloc, 8));
              SmallVector<Value> next(carried.begin(), carried.end());
              for (int64_t l = 0; l < t.limbs; ++l)
                for (int64_t p = 0; p < pairs; ++p) {
                  // x [rows, depth * group], or [rows, depth, 2, group] in
                  // 16 bits; the pair's two rows of 8 inputs.
                  SmallVector<Value> rows;
                  for (int64_t i = 0; i < 2; ++i) {
                    if (i == 1 && rowOf(p, 1) == rowOf(p, 0)) {
                      rows.push_back(rows[0]);
                      break;
                    }
                    Value row = cidx(nb, nloc, rowOf(p, i));
                    SmallVector<Value> xAt = {
                        row, nb.create<arith::AddIOp>(
                                 nloc,
                                 nb.create<arith::MulIOp>(
                                     nloc, kg, cidx(nb, nloc, t.group)),
                                 column)};
                    if (t.limbs == 2)
                      xAt = {row, kg, cidx(nb, nloc, l), column};
                    rows.push_back(
                        nb.create<vector::LoadOp>(nloc, rowType, t.x, xAt));
                  }
                  SmallVector<int64_t> both(16);
                  std::iota(both.begin(), both.end(), 0);
                  Value inputs = nb.create<vector::ShuffleOp>(nloc, rows[0],
                                                              rows[1], both);
                  for (int64_t h = 0; h < halves; ++h)
                    for (int64_t q = 0; q < lanePairs; ++q) {
                      int64_t a = l * count + (h * pairs + p) * lanePairs + q;
                      Value product = backend.createInt8Matmul(
                          nb, nloc, target, next[a], inputs,
                          parts[h * lanePairs + q]);
                      failedProduct |= !product;
                      if (product)
                        next[a] = product;
                    }
                }
              nb.create<scf::YieldOp>(nloc, next);
            });
        auto offsetOf = [&](int64_t a) {
          int64_t q = a % lanePairs, hp = a / lanePairs;
          return std::make_pair(groupOffsets[(hp / pairs) * lanePairs + q],
                                rowSums[hp % pairs]);
        };
        ob.create<scf::YieldOp>(
            oloc,
            int8GroupEnd(
                ob, oloc, t, inner.getResults(), outerAccs,
                [&](int64_t a) {
                  int64_t q = a % lanePairs, hp = a / lanePairs;
                  return std::make_pair(scales[(hp / pairs) * lanePairs + q],
                                        rowScales[hp % pairs]);
                },
                t.offsets
                    ? llvm::function_ref<std::pair<Value, Value>(int64_t)>(
                          offsetOf)
                    : nullptr));
      });
  if (failedProduct)
    return op->emitError("llm-tile-and-vectorize: the target has no 8-bit "
                         "matrix product");
  for (int64_t h = 0; h < halves; ++h)
    for (int64_t p = 0; p < pairs; ++p)
      for (int64_t q = 0; q < lanePairs; ++q) {
        Value acc = outer.getResult((h * pairs + p) * lanePairs + q);
        for (int64_t i = 0; i < 2 && 2 * p + i < t.rows; ++i)
          b.create<vector::StoreOp>(
              loc,
              b.create<vector::ExtractStridedSliceOp>(
                  loc, acc, ArrayRef<int64_t>{2 * i}, ArrayRef<int64_t>{2},
                  ArrayRef<int64_t>{1}),
              t.out, at(b, loc, cidx(b, loc, 2 * p + i), c0, h, 2 * q));
      }
  return success();
}

/// Replaces a static register tile (rows x 1 block x lanes, one depth step)
/// by vector code: one depth loop over the whole block with fixed-width
/// vectors, or, with `llm.scalable_lanes` = n, a loop over chunks of
/// n x vscale lanes, each with its own depth loop (vector-length agnostic).
/// Fails on a dynamic tile (left to the scalar lowering), and sets `error`
/// on one that cannot be lowered at all.
static LogicalResult vectorizeTile(RewriterBase &rewriter, linalg::LinalgOp op,
                                   const TargetBackend *backend,
                                   TargetAttr target, WidePanel wide,
                                   bool &error) {
  std::optional<Tile> t = matchStaticTile(op);
  if (!t)
    return failure();
  if (backend)
    t->farPrefetchBytes = backend->getFarPrefetchBytes(target);
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  if (isQuantizedDot(op)) {
    if (!backend) {
      error = true;
      return op->emitError("llm-tile-and-vectorize: an 8-bit dot-product "
                           "matmul needs the module's llm.target");
    }
    if (failed(
            t->interleave == 8
                ? emitInt8MatmulTile(rewriter, loc, *t, *backend, target, op)
                : emitInt8DotTile(rewriter, loc, *t, *backend, target, op))) {
      error = true;
      return failure();
    }
    rewriter.eraseOp(op);
    return success();
  }
  if (isInterleaved(op)) {
    if (!backend) {
      error = true;
      return op->emitError("llm-tile-and-vectorize: an interleaved matmul "
                           "needs the module's llm.target");
    }
    if (wide.inputs) {
      t->x = packedTileInputs(rewriter, loc, t->x, wide.inputs, t->rows,
                              t->depth, 2);
      t->xByDepth = true;
    }
    if (failed(emitDotTile(rewriter, loc, *t, *backend, op))) {
      error = true;
      return failure();
    }
    rewriter.eraseOp(op);
    return success();
  }
  Type f32 = rewriter.getF32Type();
  std::optional<int64_t> scalable = getConfig(op).getScalableLanes();
  // Scalable vectors would need a 4-bit block's halves chunked apart: such
  // a tile is left to the scalar lowering.
  if (t->nibbles && scalable)
    return failure();
  if (!scalable) {
    if (Value panel = wide.panel) {
      // The tile multiplies the widened panel: a plain f32 tile over every
      // column (quantized: the output's halves as one row of lanes).
      Tile plain{t->x, panel, t->out, t->rows, 0, 0};
      plain.farPrefetchBytes = t->farPrefetchBytes;
      plain.prefetchNextPanel = panel == t->w;
      auto panelType = cast<MemRefType>(panel.getType());
      plain.depth = panelType.getDimSize(1);
      plain.lanes = panelType.getDimSize(2);
      if (wide.inputs) {
        plain.x = packedTileInputs(rewriter, loc, t->x, wide.inputs, t->rows,
                                   plain.depth, 1);
        plain.xByDepth = true;
      }
      if (t->nibbles)
        plain.out = rewriter.create<memref::CollapseShapeOp>(
            loc, t->out, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
      *t = plain;
    }
    Value c0 = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    emitDepthLoop(rewriter, loc, *t, VectorType::get({t->lanes}, f32), c0,
                  Value());
    rewriter.eraseOp(op);
    return success();
  }
  int64_t minLanes = *scalable;
  auto accType = VectorType::get({minLanes}, f32, {true});
  Value vscale = rewriter.create<vector::VectorScaleOp>(loc);
  Value step = rewriter.create<arith::MulIOp>(
      loc, vscale, rewriter.create<arith::ConstantIndexOp>(loc, minLanes));
  Value c0 = rewriter.create<arith::ConstantIndexOp>(loc, 0);
  Value lanes = rewriter.create<arith::ConstantIndexOp>(loc, t->lanes);
  rewriter.create<scf::ForOp>(
      loc, c0, lanes, step, ValueRange{},
      [&](OpBuilder &b, Location nloc, Value lane, ValueRange) {
        Value remaining = b.create<arith::SubIOp>(nloc, lanes, lane);
        auto maskType = VectorType::get({minLanes}, b.getI1Type(), {true});
        Value mask = b.create<vector::CreateMaskOp>(nloc, maskType,
                                                    ValueRange{remaining});
        emitDepthLoop(b, nloc, *t, accType, lane, mask);
        b.create<scf::YieldOp>(nloc);
      });
  rewriter.eraseOp(op);
  return success();
}

/// Row tiles a row chunk should hold at least: a chunk of fewer rows
/// streams the weights from memory once per few rows, and is below
/// kWidePanelTiles.
constexpr int64_t kChunkTiles = 16;

/// How a packed matmul's rows (and depth) are chunked so that a chunk's
/// inputs fit in half of the L2: `rows` per chunk (a multiple of the register
/// tile's), 0 when the rows are static and fit anyway or the input row's size
/// is not known; and for a matmul on f32 or bf16-pair inputs (not on the
/// 8-bit dot product) whose input rows are so long that fewer than
/// kChunkTiles tiles would fit (the 1B model's down projection: rows of 8192
/// floats, 32 rows), the `depth` per chunk too (a divisor of the depth and a
/// multiple of `step` and of a quantized weight's group; 0 = whole). On the
/// bf16 dot product the down projection's rows of 8192 bf16 made chunks of
/// 32 rows, too few to pack their inputs, each streaming the weights again:
/// with depth chunks, the 1B model's bf16 prefill 128 on Zen 5 ran at medians
/// 333.4 against 319.7 tok/s (4 alternating runs; the down projection 693
/// against 622 GFLOP/s), logits bit-identical.
struct Chunking {
  int64_t rows = 0, depth = 0;
};
static Chunking chunkRows(linalg::LinalgOp op, int64_t rows, int64_t step,
                          TargetAttr target, bool depthChunks) {
  if (!target || target.getL2Bytes() <= 0 || op.getNumDpsInputs() == 0)
    return {};
  auto input = dyn_cast<MemRefType>(op.getDpsInputOperand(0)->get().getType());
  if (!input || input.getRank() < 2 || !input.getElementType().isIntOrFloat())
    return {};
  int64_t elementBytes =
      std::max<int64_t>(input.getElementTypeBitWidth() / 8, 1);
  int64_t rowBytes = elementBytes;
  for (int64_t dim : input.getShape().drop_front()) {
    if (ShapedType::isDynamic(dim))
      return {};
    rowBytes *= dim;
  }
  int64_t budget = target.getL2Bytes() / 2;
  auto fit = [&](int64_t bytes) {
    return std::max<int64_t>(rows, budget / bytes / rows * rows);
  };
  Chunking c;
  c.rows = fit(rowBytes);
  if (!input.isDynamicDim(0) && input.getDimSize(0) <= c.rows)
    return {};
  bool byDepth =
      depthChunks && step > 0 && !isQuantizedDot(op) && input.getRank() == 2;
  int64_t depth = input.getDimSize(1);
  if (byDepth) {
    int64_t chunkDepth = depth;
    int64_t multiple =
        std::lcm<int64_t>(step, isGrouped(op) ? groupColumns(op) : int64_t(1));
    while (fit(chunkDepth * elementBytes) < kChunkTiles * rows &&
           chunkDepth % 2 == 0 && (chunkDepth / 2) % multiple == 0)
      chunkDepth /= 2;
    if (chunkDepth < depth) {
      c.depth = chunkDepth;
      c.rows = fit(chunkDepth * elementBytes);
    }
  }
  return c;
}

static void canonicalize(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  RewritePatternSet patterns(ctx);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  (void)applyPatternsAndFoldGreedily(func, std::move(patterns));
}

struct TileAndVectorizePass
    : llm::impl::TileAndVectorizePassBase<TileAndVectorizePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);

    SmallVector<linalg::LinalgOp> matmuls;
    WalkResult checked = func.walk([&](linalg::LinalgOp op) {
      if (!getConfig(op))
        return WalkResult::advance();
      if (failed(verifyPackedMatmul(op)))
        return WalkResult::interrupt();
      matmuls.push_back(op);
      return WalkResult::advance();
    });
    if (checked.wasInterrupted())
      return signalPassFailure();
    TargetAttr machine;
    if (auto module = func->getParentOfType<ModuleOp>())
      machine = LLMDialect::TargetAttrHelper(ctx).getAttr(module);
    // (op, whether its depth may be chunked): the version for few rows of
    // a depth-chunked matmul is added with false.
    SmallVector<std::pair<linalg::LinalgOp, bool>> work;
    for (linalg::LinalgOp op : matmuls)
      work.push_back({op, true});
    for (size_t w = 0; w < work.size(); ++w) {
      auto [op, depthChunks] = work[w];
      LoweringConfigAttr config = getConfig(op);
      int64_t rows = config.getRows(), step = config.getDepthStep();
      // Rows in chunks whose inputs fit in half of the L2: the loops below
      // walk every row for each weight block, and a prefill's inputs (512
      // rows of 2048 floats: 4 MiB) read from the L3 once per block were
      // the limit where the L3 is slow (a Xeon's mesh, 20-30 GB/s per
      // core). Each chunk then streams the weights again, from memory: R
      // rows make R FLOPs per weight byte, far above what the memory bus
      // limits.
      Chunking chunk = chunkRows(op, rows, step, machine, depthChunks);
      if (chunk.depth) {
        // Depth chunks serve the prefill's panels; a stream of few rows
        // (decode) reads each block's weights in one run instead: the op
        // is versioned on its row count, the clone for few rows without
        // depth chunks (decode on quantized weights with f32 inputs lost ~10%
        // with them).
        OpBuilder::InsertionGuard guard(rewriter);
        rewriter.setInsertionPoint(op);
        Location loc = op.getLoc();
        Value x = op.getDpsInputOperand(0)->get();
        Value many = rewriter.create<arith::CmpIOp>(
            loc, arith::CmpIPredicate::sge,
            rewriter.create<memref::DimOp>(loc, x, 0),
            rewriter.create<arith::ConstantIndexOp>(loc,
                                                    kWidePanelTiles * rows));
        work.push_back(
            {cast<linalg::LinalgOp>(versionOn(rewriter, op, many)), false});
      }
      if (chunk.rows) {
        // Loops (m, b, r, k): the depth chunks inside the row chunks, so a
        // chunk's inputs stay in the L2 while every block walks them.
        SmallVector<int64_t> chunkSizes(op.getNumLoops(), 0);
        chunkSizes[0] = chunk.rows;
        // (Quantized, the depth loop counts groups.)
        if (chunk.depth)
          chunkSizes[groupLoop(op)] = isGrouped(op)
                                          ? chunk.depth / groupColumns(op)
                                      : isInterleaved(op) ? chunk.depth / 2
                                                          : chunk.depth;
        FailureOr<scf::SCFTilingResult> chunked =
            tile(rewriter, op, chunkSizes,
                 llvm::to_vector(llvm::seq<int64_t>(0, op.getNumLoops())));
        if (failed(chunked)) {
          op.emitError("llm-tile-and-vectorize: tiling failed");
          return signalPassFailure();
        }
        op = cast<linalg::LinalgOp>(chunked->tiledOps.front());
      }
      // Interleaved or quantized, the depth loop counts groups of n columns
      // (the loops after it; loop 3, or 4 in 4 bits, whose lanes are two
      // loops).
      unsigned depthLoop = groupLoop(op), loops = op.getNumLoops();
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      // (The limbs loop of 16-bit inputs is not part of the depth.)
      int64_t n = 1;
      for (unsigned i = depthLoop + 1; i < loops - (inputLimbs(op) - 1); ++i)
        n *= ranges[i];
      int64_t depth = ranges[depthLoop] * n;
      // Loops: blocks, depth steps, rows, then the rest in order; each tile
      // is rows x 1 x lanes x step, so a block's panel for one step is
      // reused by all rows.
      int64_t depthTile =
          step < depth && depth % step == 0 && step % n == 0 ? step / n : 0;
      SmallVector<int64_t> sizes(loops, 0);
      sizes[0] = rows;
      sizes[1] = 1;
      sizes[depthLoop] = depthTile;
      SmallVector<int64_t> order = {1, depthLoop, 0};
      for (unsigned i = 2; i < loops; ++i)
        if (i != depthLoop)
          order.push_back(i);
      FailureOr<scf::SCFTilingResult> tiled =
          tile(rewriter, op, sizes, order);
      if (failed(tiled)) {
        op.emitError("llm-tile-and-vectorize: tiling failed");
        return signalPassFailure();
      }
      auto rowLoop = cast<scf::ForOp>(tiled->loops.back());
      scf::ForOp remainder;
      if (rows > 1 &&
          succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, rowLoop,
                                                      remainder))) {
        // The remainder has fewer than `rows` rows: one at a time.
        SmallVector<linalg::LinalgOp> rest;
        remainder.walk([&](linalg::LinalgOp inner) {
          if (isPackedMatmul(inner))
            rest.push_back(inner);
        });
        for (linalg::LinalgOp inner : rest) {
          SmallVector<int64_t> one(inner.getNumLoops(), 0);
          one[0] = 1;
          if (failed(tile(rewriter, inner, one,
                          llvm::to_vector(llvm::seq<int64_t>(
                              0, inner.getNumLoops()))))) {
            inner.emitError("llm-tile-and-vectorize: tiling failed");
            return signalPassFailure();
          }
        }
      }
    }
    // Folds the peeled bounds so that the main tiles get static shapes.
    canonicalize(func);

    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (isPackedMatmul(op))
        candidates.push_back(op);
    });
    const TargetBackend *backend = nullptr;
    TargetAttr target;
    if (auto module = func->getParentOfType<ModuleOp>())
      if ((target = LLMDialect::TargetAttrHelper(ctx).getAttr(module)))
        backend = lookupTargetBackend(llvm::Triple(target.getTriple()));
    // Tiles of many rows on 16-bit weights get a widened panel (a second
    // version of their row loop, whose tile is a candidate too).
    DenseMap<Operation *, WidePanel> panels;
    for (size_t i = 0, e = candidates.size(); i < e; ++i)
      if (auto wide = versionForWidePanel(rewriter, candidates[i], target)) {
        panels[wide->op] = *wide;
        // The clone in the other version.
        auto ifOp = cast<scf::IfOp>(wide->op->getParentOp()->getParentOp());
        ifOp.elseBlock()->walk([&](linalg::LinalgOp inner) {
          if (isPackedMatmul(inner))
            candidates.push_back(inner);
        });
      }
    bool error = false;
    for (linalg::LinalgOp op : candidates) {
      if (failed(vectorizeTile(rewriter, op, backend, target, panels.lookup(op),
                               error)))
        LLVM_DEBUG(llvm::dbgs() << "left a dynamic tile scalar: " << op
                                << "\n");
      if (error)
        return signalPassFailure();
    }
    canonicalize(func);
  }
};

} // namespace
