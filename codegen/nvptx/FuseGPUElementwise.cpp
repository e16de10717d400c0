//===- FuseGPUElementwise.cpp - Elementwise ops into their neighbours -----===//
//
// On a GPU every loop nest is a launch, and at batch 1 a launch costs about
// as much as streaming a projection's weights for a few microseconds. Many
// of a layer's loop nests only touch a row of floats: RMSNorm's scaling,
// SwiGLU, the residual adds, the copy of the keys into the KV cache. This
// pass, on linalg ops on buffers (before scratch planning, so that every
// temporary is its own `memref.alloc`), gives their work to a neighbour:
//
// - **Prologues**: an elementwise op whose result only a packed projection
//   reads is computed by the projection as it reads its input (RMSNorm's
//   scaling, and the in-place finalization of the sum of squares before
//   it; SwiGLU before the down projection). The projection's kernel then
//   computes per-row values once per thread and per-depth values once per
//   depth (llm-distribute-to-gpu).
// - **Residuals**: a projection whose zero-filled output is then added to
//   a residual starts from a copy of the residual instead (its partial sums
//   are added atomically anyway); the add is gone.
// - **Destinations**: an elementwise op whose result is only copied writes
//   the copy's destination (RoPE of the keys straight into the KV cache).
//
// Each rewrite checks that the buffers it makes an op read at a later
// point are not written in between, and that the temporaries it removes
// have no other reader.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/nvptx/NVPTXPasses.h"
#include "codegen/nvptx/PackedProjection.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

/// The buffer `value` is a view of (through views, subviews, reshapes and
/// casts), or `value` itself.
Value rootOf(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      value = view.getViewSource();
    else if (auto cast = dyn_cast<memref::CastOp>(def))
      value = cast.getSource();
    else
      break;
  }
  return value;
}

/// Whether an op strictly between `from` and `to` (in one block) may write
/// a buffer whose root is in `roots`.
bool writtenBetween(Operation *from, Operation *to, ArrayRef<Value> roots) {
  for (Operation *op = from->getNextNode(); op && op != to;
       op = op->getNextNode()) {
    if (isMemoryEffectFree(op))
      continue;
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects || op->getNumRegions() != 0) {
      // Linalg ops have regions but report their effects on operands.
      if (!effects || !isa<linalg::LinalgOp>(op))
        return true;
    }
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &instance : instances) {
      if (!isa<MemoryEffects::Write>(instance.getEffect()))
        continue;
      Value written = instance.getValue();
      if (!written || llvm::is_contained(roots, rootOf(written)))
        return true;
    }
  }
  return false;
}

/// Whether `a` comes before `b` in their (common) block.
bool before(Operation *a, Operation *b) {
  return a->getBlock() == b->getBlock() && a->isBeforeInBlock(b);
}

/// An elementwise op on buffers: parallel loops only, one output with the
/// identity map, inputs read through projected permutations, a body of
/// pure ops; with `allowReads` also loop indices and loads (RoPE reads its
/// input's partner element and the frequency table).
bool isElementwise(linalg::GenericOp op, bool allowReads = false) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return false;
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation())
      return false;
  for (Operation &inner : op.getRegion().front().without_terminator()) {
    if (allowReads && isa<linalg::IndexOp, memref::LoadOp>(inner))
      continue;
    if (!isPure(&inner) || inner.getNumRegions() != 0 ||
        isa<linalg::IndexOp>(inner))
      return false;
  }
  return true;
}

/// The users of `buffer` other than `memref.dim`s.
SmallVector<Operation *> accessesOf(Value buffer) {
  SmallVector<Operation *> users;
  for (Operation *user : buffer.getUsers())
    if (!isa<memref::DimOp>(user))
      users.push_back(user);
  return users;
}

/// Whether `value` exists at `at`: an argument of a block around it or
/// the result of an op before it in its block.
bool availableAt(Value value, Operation *at) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    return arg.getOwner()->getParentOp()->isAncestor(at);
  return before(value.getDefiningOp(), at);
}

/// Erases `alloc` if only `memref.dim`s of it are left, replacing each by
/// the same dimension of `sameShape` (otherwise the buffer is kept).
void eraseIfDead(RewriterBase &rewriter, memref::AllocOp alloc,
                 Value sameShape) {
  if (!accessesOf(alloc).empty() || !sameShape)
    return;
  SmallVector<memref::DimOp> dims;
  for (Operation *user : alloc->getUsers())
    dims.push_back(cast<memref::DimOp>(user));
  if (!llvm::all_of(dims, [&](memref::DimOp dim) {
        return availableAt(sameShape, dim);
      }))
    return;
  for (memref::DimOp dim : dims) {
    rewriter.setInsertionPoint(dim);
    rewriter.replaceOpWithNewOp<memref::DimOp>(dim, sameShape, dim.getIndex());
  }
  rewriter.eraseOp(alloc);
}

/// An input of the projection `op` with the identity map, for shapes.
Value inputWithIdentityMap(linalg::GenericOp op, int64_t rank) {
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (map.isIdentity() && map.getNumResults() == rank)
      return input->get();
  }
  return Value();
}

/// Computes the elementwise producer of input `input` of `projection` in
/// its body. The producer either overwrites the input (which then goes
/// away) or updates it in place (which then stays an input, read before
/// the update).
FailureOr<linalg::GenericOp> fusePrologue(RewriterBase &rewriter,
                                          linalg::GenericOp projection,
                                          OpOperand *input) {
  Value x = input->get();
  auto alloc = x.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return failure();
  // The last writer of x before the projection, and nothing else after it
  // but the projection.
  linalg::GenericOp producer;
  for (Operation *user : accessesOf(x)) {
    if (user == projection)
      continue;
    if (!before(user, projection))
      return failure();
    auto generic = dyn_cast<linalg::GenericOp>(user);
    bool writes = generic && llvm::is_contained(generic.getDpsInits(), x);
    if (writes && (!producer || before(producer, generic)))
      producer = generic;
  }
  if (!producer || !isElementwise(producer))
    return failure();
  for (Operation *user : accessesOf(x))
    if (user != projection && before(producer, user))
      return failure();
  if (llvm::count(projection->getOperands(), x) != 1)
    return failure();
  OpOperand *init = producer.getDpsInitOperand(0);
  bool inPlace = producer.payloadUsesValueFromOperand(init);
  SmallVector<Value> roots;
  for (Value value : producer.getDpsInputs())
    roots.push_back(rootOf(value));
  if (inPlace)
    roots.push_back(x);
  if (writtenBetween(producer, projection, roots))
    return failure();

  AffineMap xMap = projection.getMatchingIndexingMap(input);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *other : projection.getDpsInputOperands()) {
    if (other == input && !inPlace)
      continue;
    inputs.push_back(other->get());
    maps.push_back(projection.getMatchingIndexingMap(other));
  }
  for (OpOperand *other : producer.getDpsInputOperands()) {
    inputs.push_back(other->get());
    maps.push_back(producer.getMatchingIndexingMap(other).compose(xMap));
  }
  maps.push_back(projection.getMatchingIndexingMap(
      projection.getDpsInitOperand(0)));

  Block &projectionBody = projection.getRegion().front();
  Block &producerBody = producer.getRegion().front();
  rewriter.setInsertionPoint(projection);
  auto fused = rewriter.create<linalg::GenericOp>(
      projection.getLoc(), TypeRange(), inputs, projection.getDpsInits(), maps,
      projection.getIteratorTypesArray(),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        IRMapping mapping;
        unsigned next = 0;
        for (OpOperand *other : projection.getDpsInputOperands()) {
          if (other == input && !inPlace)
            continue;
          Value arg = args[next++];
          if (other == input)
            mapping.map(producerBody.getArgument(init->getOperandNumber()),
                        arg);
          else
            mapping.map(projectionBody.getArgument(other->getOperandNumber()),
                        arg);
        }
        for (OpOperand *other : producer.getDpsInputOperands())
          mapping.map(producerBody.getArgument(other->getOperandNumber()),
                      args[next++]);
        for (Operation &inner : producerBody.without_terminator())
          b.clone(inner, mapping);
        Value produced = mapping.lookupOrDefault(
            cast<linalg::YieldOp>(producerBody.getTerminator()).getValues()[0]);
        mapping.map(projectionBody.getArgument(input->getOperandNumber()),
                    produced);
        mapping.map(projectionBody.getArguments().back(), args.back());
        for (Operation &inner : projectionBody)
          b.clone(inner, mapping);
      });
  for (NamedAttribute attr : projection->getDiscardableAttrs())
    fused->setAttr(attr.getName(), attr.getValue());
  Value shape = inputWithIdentityMap(producer, xMap.getNumResults());
  rewriter.eraseOp(projection);
  rewriter.eraseOp(producer);
  eraseIfDead(rewriter, alloc, shape);
  return fused;
}

/// Whether `op` is `out = a + b` of two inputs read with the identity map.
bool isAddOfTwo(linalg::GenericOp op) {
  if (!isElementwise(op) || op.getNumDpsInputs() != 2)
    return false;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!op.getMatchingIndexingMap(input).isIdentity())
      return false;
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 2)
    return false;
  auto add = dyn_cast<arith::AddFOp>(body.front());
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  return add && yield.getValues().size() == 1 &&
         yield.getValues()[0] == add.getResult() &&
         ((add.getLhs() == body.getArgument(0) &&
           add.getRhs() == body.getArgument(1)) ||
          (add.getLhs() == body.getArgument(1) &&
           add.getRhs() == body.getArgument(0)));
}

/// `fill(0, o); projection(outs o); z = r + o` becomes
/// `copy(r, o); projection(outs o)` with z replaced by o.
LogicalResult fuseResidual(RewriterBase &rewriter,
                           linalg::GenericOp projection) {
  Value y = projection.getDpsInits()[0];
  auto expand = y.getDefiningOp<memref::ExpandShapeOp>();
  Value o = expand ? expand.getSrc() : y;
  if (!o.getDefiningOp<memref::AllocOp>() || (expand && !expand->hasOneUse()))
    return failure();
  linalg::FillOp fill;
  linalg::GenericOp add;
  for (Operation *user : accessesOf(o)) {
    if (user == projection || (expand && user == expand))
      continue;
    if (auto f = dyn_cast<linalg::FillOp>(user); f && !fill &&
                                                 before(f, projection) &&
                                                 f.getOutputs()[0] == o) {
      fill = f;
      continue;
    }
    if (auto g = dyn_cast<linalg::GenericOp>(user);
        g && !add && before(projection, g) && isAddOfTwo(g)) {
      add = g;
      continue;
    }
    return failure();
  }
  if (!fill || !add || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return failure();
  Value r = add.getDpsInputs()[0] == o ? add.getDpsInputs()[1]
                                       : add.getDpsInputs()[0];
  Value z = add.getDpsInits()[0];
  auto zAlloc = z.getDefiningOp<memref::AllocOp>();
  if (r == o || !zAlloc || z.getType() != o.getType() ||
      r.getType() != o.getType() || rootOf(r) == o)
    return failure();
  // r must exist at the fill and keep its value until the add.
  if (!availableAt(r, fill))
    return failure();
  if (writtenBetween(fill, add, {rootOf(r)}))
    return failure();
  for (Operation *user : z.getUsers())
    if (user != add && !before(add, user))
      return failure();
  // A returned z comes back as an argument of the next call (a layer's
  // output is the next layer's input), in the same bytes: o, now written
  // from the fill on, must then not be written while an argument may
  // still be read.
  bool returned = llvm::any_of(z.getUsers(), [](Operation *user) {
    return isa<func::ReturnOp>(user);
  });
  if (returned) {
    // The weights, cache, arena and logits are never a returned buffer.
    SmallVector<Value> abiBuffers;
    {
      ScopedDiagnosticHandler quiet(projection.getContext(),
                                    [](Diagnostic &) { return success(); });
      FailureOr<llm::ABIArguments> abi = llm::ABIArguments::of(projection);
      if (succeeded(abi))
        abiBuffers = {abi->weights, abi->kv, abi->scratch, abi->logits};
    }
    for (Operation *op = fill; op != add; op = op->getNextNode())
      for (Value operand : op->getOperands())
        if (auto arg = dyn_cast<BlockArgument>(rootOf(operand));
            arg && isa<MemRefType>(arg.getType()) &&
            !llvm::is_contained(abiBuffers, Value(arg)))
          return failure();
  }

  rewriter.setInsertionPoint(fill);
  rewriter.replaceOpWithNewOp<linalg::CopyOp>(fill, r, o);
  rewriter.eraseOp(add);
  rewriter.replaceAllUsesWith(z, o);
  rewriter.eraseOp(zAlloc);
  return success();
}

/// `producer(outs a); copy(a, d)` becomes `producer(outs d)`.
LogicalResult fuseDestination(RewriterBase &rewriter, linalg::CopyOp copy) {
  Value a = copy.getInputs()[0], d = copy.getOutputs()[0];
  auto alloc = a.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return failure();
  linalg::GenericOp producer;
  for (Operation *user : accessesOf(a)) {
    if (user == copy)
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (producer || !generic || !before(generic, copy) ||
        generic.getDpsInits()[0] != a)
      return failure();
    producer = generic;
  }
  // Loop indices and loads are fine: the producer keeps its iteration
  // space, and only moves to where nothing it reads has changed.
  if (!producer || !isElementwise(producer, /*allowReads=*/true) ||
      producer.payloadUsesValueFromOperand(producer.getDpsInitOperand(0)))
    return failure();
  auto aType = cast<MemRefType>(a.getType());
  auto dType = cast<MemRefType>(d.getType());
  if (aType.getShape() != dType.getShape() ||
      aType.getElementType() != dType.getElementType())
    return failure();
  SmallVector<Value> roots;
  for (Value value : producer.getDpsInputs())
    roots.push_back(rootOf(value));
  producer.getRegion().walk([&](memref::LoadOp load) {
    roots.push_back(rootOf(load.getMemRef()));
  });
  if (llvm::is_contained(roots, rootOf(d)))
    return failure();
  if (writtenBetween(producer, copy, roots))
    return failure();
  // Dynamic sizes of d are the same as a's (the copy needs them equal);
  // the producer moves down to the copy, where d exists.
  rewriter.moveOpBefore(producer, copy);
  rewriter.modifyOpInPlace(producer,
                           [&] { producer.getDpsInitOperand(0)->set(d); });
  rewriter.eraseOp(copy);
  eraseIfDead(rewriter, alloc, inputWithIdentityMap(producer, aType.getRank()));
  return success();
}

class FuseGPUElementwisePass
    : public PassWrapper<FuseGPUElementwisePass,
                         OperationPass<func::FuncOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseGPUElementwisePass)

  StringRef getArgument() const override { return "llm-fuse-gpu-elementwise"; }
  StringRef getDescription() const override {
    return "Fuse elementwise ops into the projections that read them "
           "(prologues), residual adds into the projections before them, "
           "and copies into the ops that produce what they copy (GPU "
           "targets, on linalg ops on buffers before scratch planning)";
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());

    SmallVector<linalg::GenericOp> projections;
    func.walk([&](linalg::GenericOp op) {
      if (llm::matchPackedProjection(op))
        projections.push_back(op);
    });
    for (linalg::GenericOp projection : projections)
      (void)fuseResidual(rewriter, projection);
    for (linalg::GenericOp projection : projections) {
      // Each fusion replaces the projection; its producers' producers may
      // follow (the in-place finalization before a scaling).
      bool changed = true;
      while (changed) {
        changed = false;
        for (OpOperand *input : projection.getDpsInputOperands()) {
          FailureOr<linalg::GenericOp> fused =
              fusePrologue(rewriter, projection, input);
          if (succeeded(fused)) {
            projection = *fused;
            changed = true;
            break;
          }
        }
      }
    }
    SmallVector<linalg::CopyOp> copies;
    func.walk([&](linalg::CopyOp copy) { copies.push_back(copy); });
    for (linalg::CopyOp copy : copies)
      (void)fuseDestination(rewriter, copy);
  }
};

} // namespace

std::unique_ptr<Pass> mlir::llm::createFuseGPUElementwisePass() {
  return std::make_unique<FuseGPUElementwisePass>();
}

void mlir::llm::registerFuseGPUElementwisePass() {
  PassRegistration<FuseGPUElementwisePass>();
}
