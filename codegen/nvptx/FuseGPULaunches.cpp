//===- FuseGPULaunches.cpp - Independent neighbouring launches as one ----===//
//
// Two neighbouring launches of the same block shape become one when neither
// writes what the other reads or writes: the merged grid is the sum of the
// two, blocks below the first grid run the first body, the others the
// second with their block index shifted. Every launch costs a few
// microseconds even replayed from a CUDA graph, and a decode step has
// hundreds (a fill before a projection next to the kernel before it, RoPE
// of the queries next to RoPE of the keys, ...).
//
// Independence is decided on byte ranges: a buffer is traced through
// views, subviews and reshapes to its root (the function's weights, KV
// cache or scratch arena, a global, or anything else) and, for a
// `memref.view` at a constant byte shift, to a range whose size is bounded
// by the module's max_tokens rows. The weights, cache and arena are
// distinct buffers; any other root (a view passed in as an argument) may
// alias every buffer but the weights, except the arena slots the function
// itself places and does not return: the scratch planner gives every
// allocation of the module its own slot, so a caller can only pass its own
// slots or what an earlier call of the function returned (a layer's output
// is the next layer's input).
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/nvptx/NVPTXPasses.h"
#include "dialects/llm/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

/// Where a buffer lives: its root and, when known, its byte range there.
struct Place {
  Value root;
  Attribute global;
  std::optional<std::pair<int64_t, int64_t>> bytes;
  /// Without constant bytes: the view bounding the range (its byte shift
  /// and size may be symbolic, as a layer's keys and values in the cache).
  memref::ViewOp view;
};

/// One buffer access of a kernel.
struct Access {
  Place place;
  bool write;
};

class FuseGPULaunchesPass
    : public PassWrapper<FuseGPULaunchesPass, OperationPass<func::FuncOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseGPULaunchesPass)

  StringRef getArgument() const override { return "llm-fuse-gpu-launches"; }
  StringRef getDescription() const override {
    return "Merge neighbouring independent GPU launches into one";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, scf::SCFDialect>();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    auto module = func->getParentOfType<ModuleOp>();
    IntegerAttr maxTokensAttr =
        module ? llm::LLMDialect::MaxTokensAttrHelper(&getContext())
                     .getAttr(module)
               : IntegerAttr();
    maxTokens = maxTokensAttr ? maxTokensAttr.getInt() : 0;
    weights = kv = scratch = Value();
    returned.clear();
    returnedKnown = false;
    if (!func.isExternal()) {
      // A function without llmc's calling convention is not an error here:
      // its buffers are then all taken to alias.
      ScopedDiagnosticHandler quiet(&getContext(),
                                    [](Diagnostic &) { return success(); });
      FailureOr<llm::ABIArguments> abi =
          llm::ABIArguments::of(&func.getBody().front().front());
      if (succeeded(abi)) {
        weights = abi->weights;
        kv = abi->kv;
        scratch = abi->scratch;
      }
      returnedKnown = static_cast<bool>(scratch);
      func.walk([&](func::ReturnOp ret) {
        for (Value value : ret.getOperands()) {
          if (!isa<MemRefType>(value.getType()))
            continue;
          Place at = place(value);
          if (at.root == scratch && at.bytes)
            returned.push_back(*at.bytes);
          else if (!isArgument(at.root))
            returnedKnown = false;
        }
      });
    }

    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<gpu::LaunchOp> launches;
      func.walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
      for (gpu::LaunchOp launch : launches) {
        gpu::LaunchOp next = nextLaunch(launch);
        if (next && mergeable(launch, next)) {
          merge(launch, next);
          changed = true;
          break;
        }
      }
    }
  }

private:
  /// The launch after `launch` in its block with only host ops without
  /// memory effects (which can move above `launch`) between them, or null.
  static gpu::LaunchOp nextLaunch(gpu::LaunchOp launch) {
    for (Operation *op = launch->getNextNode(); op; op = op->getNextNode()) {
      if (auto next = dyn_cast<gpu::LaunchOp>(op))
        return next;
      if (!isMemoryEffectFree(op) || op->getNumRegions() != 0)
        return nullptr;
    }
    return nullptr;
  }

  static bool isOne(Value v) { return matchPattern(v, m_One()); }

  static bool sameValue(Value a, Value b) {
    if (a == b)
      return true;
    APInt x, y;
    return matchPattern(a, m_ConstantInt(&x)) &&
           matchPattern(b, m_ConstantInt(&y)) && x == y;
  }

  /// 1-D launches of equal blocks, synchronous, without dynamic shared
  /// memory, whose bodies are one block each. Workgroup memory (a tiled
  /// projection's staged tiles) is private to a block and goes along.
  static bool fusible(gpu::LaunchOp launch) {
    return !launch.getAsyncToken() && launch.getAsyncDependencies().empty() &&
           !launch.getDynamicSharedMemorySize() && !launch.hasClusterSize() &&
           launch.getBody().hasOneBlock() && isOne(launch.getGridSizeY()) &&
           isOne(launch.getGridSizeZ()) && isOne(launch.getBlockSizeY()) &&
           isOne(launch.getBlockSizeZ()) &&
           launch.getPrivateAttributions().empty();
  }

  bool mergeable(gpu::LaunchOp first, gpu::LaunchOp second) {
    if (!fusible(first) || !fusible(second) ||
        !sameValue(first.getBlockSizeX(), second.getBlockSizeX()))
      return false;
    std::optional<SmallVector<Access>> a = accesses(first);
    std::optional<SmallVector<Access>> b = accesses(second);
    if (!a || !b)
      return false;
    for (const Access &x : *a)
      for (const Access &y : *b)
        if ((x.write || y.write) && mayOverlap(x.place, y.place))
          return false;
    return true;
  }

  /// The buffers `launch` reads and writes; none when a memory effect is
  /// not understood.
  std::optional<SmallVector<Access>> accesses(gpu::LaunchOp launch) {
    SmallVector<Access> result;
    bool unknown = false;
    launch.getBody().walk([&](Operation *op) {
      if (isa<gpu::TerminatorOp, scf::YieldOp>(op) || isMemoryEffectFree(op))
        return;
      auto add = [&](Value buffer, bool write) {
        // The block's own workgroup memory is no other launch's.
        if (llvm::is_contained(launch.getWorkgroupAttributions(), buffer))
          return;
        result.push_back(Access{place(buffer), write});
      };
      if (auto load = dyn_cast<memref::LoadOp>(op))
        add(load.getMemRef(), false);
      else if (auto store = dyn_cast<memref::StoreOp>(op))
        add(store.getMemRef(), true);
      else if (auto rmw = dyn_cast<memref::AtomicRMWOp>(op))
        add(rmw.getMemref(), true);
      else if (auto load = dyn_cast<vector::LoadOp>(op))
        add(load.getBase(), false);
      else if (auto store = dyn_cast<vector::StoreOp>(op))
        add(store.getBase(), true);
      else if (auto read = dyn_cast<vector::TransferReadOp>(op))
        add(read.getSource(), false);
      else if (auto write = dyn_cast<vector::TransferWriteOp>(op))
        add(write.getSource(), true);
      else if (isa<gpu::ShuffleOp, gpu::BarrierOp, scf::ForOp, scf::IfOp,
                   scf::WhileOp, scf::ConditionOp, memref::AllocaOp>(op))
        return;
      else
        unknown = true;
    });
    if (unknown)
      return std::nullopt;
    return result;
  }

  /// Traces `buffer` to its root and byte range.
  Place place(Value buffer) {
    Place result;
    std::optional<std::pair<int64_t, int64_t>> bytes;
    bool exact = true;
    while (true) {
      Operation *def = buffer.getDefiningOp();
      if (auto view = dyn_cast_or_null<memref::ViewOp>(def)) {
        // The outermost view at a constant shift bounds the range.
        APInt shift;
        std::optional<int64_t> size =
            llm::boundedBufferBytes(view.getType(), maxTokens);
        if (exact && !bytes && size &&
            matchPattern(view.getByteShift(), m_ConstantInt(&shift)))
          bytes = {shift.getSExtValue(), shift.getSExtValue() + *size};
        else if (!bytes)
          exact = false;
        if (!result.view && !bytes)
          result.view = view;
        buffer = view.getSource();
      } else if (isa_and_nonnull<memref::SubViewOp, memref::ExpandShapeOp,
                                 memref::CollapseShapeOp, memref::CastOp>(
                     def)) {
        // Inside its source.
        buffer = def->getOperand(0);
      } else if (auto global = dyn_cast_or_null<memref::GetGlobalOp>(def)) {
        result.global = global.getNameAttr();
        return result;
      } else {
        result.root = buffer;
        if (exact)
          result.bytes = bytes;
        return result;
      }
    }
  }

  /// A buffer argument of the function (not its weights, cache or arena).
  /// A caller passes one of its own arena slots or a buffer an earlier call
  /// returned: a slot the function returns, or such an argument again (a
  /// layer that writes its output over its input, llm-residual-in-place).
  bool isArgument(Value root) const {
    auto arg = dyn_cast_or_null<BlockArgument>(root);
    return arg && !isDistinct(root) && arg.getOwner()->isEntryBlock() &&
           isa<func::FuncOp>(arg.getOwner()->getParentOp());
  }

  bool isDistinct(Value root) const {
    return root && (root == weights || root == kv || root == scratch);
  }

  bool mayOverlap(const Place &x, const Place &y) const {
    if (x.global && y.global)
      return x.global == y.global;
    // A global is none of the weights, cache and arena; an unknown root
    // might be a view of it.
    if (x.global || y.global)
      return !isDistinct(x.global ? y.root : x.root);
    if (x.root != y.root) {
      if (isDistinct(x.root) && isDistinct(y.root))
        return false;
      // An argument and a slot of the arena this function does not return.
      auto ownSlot = [&](const Place &p) {
        return returnedKnown && p.root == scratch && p.bytes &&
               llvm::none_of(returned, [&](std::pair<int64_t, int64_t> r) {
                 return p.bytes->first < r.second && r.first < p.bytes->second;
               });
      };
      if ((isArgument(x.root) && ownSlot(y)) ||
          (isArgument(y.root) && ownSlot(x)))
        return false;
      // An unknown root may be a view of any buffer but the weights, which
      // nothing writes.
      return x.root != weights && y.root != weights;
    }
    if (!x.bytes || !y.bytes)
      return !(x.view && y.view &&
               (followsView(x.view, y.view) || followsView(y.view, x.view)));
    return x.bytes->first < y.bytes->second && y.bytes->first < x.bytes->second;
  }

  /// Whether `later` starts where `earlier` ends: its byte shift is
  /// earlier's shift plus earlier's size, rows x row bytes (a layer's
  /// values after its keys in the cache: `[n x r] at s` and `[...] at
  /// s + n * r`).
  static bool followsView(memref::ViewOp earlier, memref::ViewOp later) {
    MemRefType type = earlier.getType();
    if (earlier.getSource() != later.getSource() ||
        !type.getLayout().isIdentity() ||
        !type.getElementType().isIntOrFloat() || type.getRank() == 0 ||
        earlier.getSizes().size() != 1 || !type.isDynamicDim(0))
      return false;
    int64_t rowBytes = std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
    for (int64_t dim : type.getShape().drop_front())
      rowBytes *= dim;
    auto sum = later.getByteShift().getDefiningOp<arith::AddIOp>();
    if (!sum)
      return false;
    Value size;
    if (sum.getLhs() == earlier.getByteShift())
      size = sum.getRhs();
    else if (sum.getRhs() == earlier.getByteShift())
      size = sum.getLhs();
    auto product = size ? size.getDefiningOp<arith::MulIOp>() : nullptr;
    if (!product)
      return false;
    Value rows = earlier.getSizes()[0];
    APInt factor;
    return (product.getLhs() == rows &&
            matchPattern(product.getRhs(), m_ConstantInt(&factor)) &&
            factor == rowBytes) ||
           (product.getRhs() == rows &&
            matchPattern(product.getLhs(), m_ConstantInt(&factor)) &&
            factor == rowBytes);
  }

  /// Replaces `first` and `second` by one launch.
  void merge(gpu::LaunchOp first, gpu::LaunchOp second) {
    // The host ops computing `second`'s operands move above `first`.
    for (Operation *op = first->getNextNode(); op != second.getOperation();) {
      Operation *next = op->getNextNode();
      op->moveBefore(first);
      op = next;
    }
    OpBuilder builder(first);
    Location loc = first.getLoc();
    Value firstBlocks = first.getGridSizeX();
    Value blocks =
        builder.create<arith::AddIOp>(loc, firstBlocks, second.getGridSizeX());
    Value one = builder.create<arith::ConstantIndexOp>(loc, 1);
    // A block runs one of the two bodies: the second's workgroup buffers
    // reuse the first's of the same type, so the merged launch needs no more
    // shared memory than the larger of the two.
    SmallVector<Type> workgroup;
    for (BlockArgument buffer : first.getWorkgroupAttributions())
      workgroup.push_back(buffer.getType());
    SmallVector<unsigned> secondSlots;
    SmallVector<bool> claimed(workgroup.size(), false);
    for (BlockArgument buffer : second.getWorkgroupAttributions()) {
      unsigned slot = 0;
      while (slot < workgroup.size() &&
             (claimed[slot] || workgroup[slot] != buffer.getType()))
        ++slot;
      if (slot == workgroup.size()) {
        workgroup.push_back(buffer.getType());
        claimed.push_back(false);
      }
      claimed[slot] = true;
      secondSlots.push_back(slot);
    }
    auto launch = builder.create<gpu::LaunchOp>(
        loc, blocks, one, one, first.getBlockSizeX(), one, one,
        /*dynamicSharedMemorySize=*/Value(), /*asyncTokenType=*/Type(),
        /*asyncDependencies=*/ValueRange(), workgroup);
    Block &body = launch.getBody().front();
    builder.setInsertionPointToStart(&body);
    builder.create<gpu::TerminatorOp>(loc);
    builder.setInsertionPointToStart(&body);
    Value blockId = launch.getBlockIds().x;
    Value inFirst = builder.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::ult, blockId, firstBlocks);
    auto branch = builder.create<scf::IfOp>(loc, inFirst, /*withElse=*/true);

    auto inline_ = [&](gpu::LaunchOp source, Block &into, Value block,
                       Value grid) {
      OpBuilder inner = OpBuilder::atBlockBegin(&into);
      IRMapping mapping;
      gpu::KernelDim3 ids = source.getBlockIds();
      gpu::KernelDim3 threads = source.getThreadIds();
      gpu::KernelDim3 gridSize = source.getGridSize();
      gpu::KernelDim3 blockSize = source.getBlockSize();
      mapping.map(ids.x, block);
      mapping.map(ids.y, launch.getBlockIds().y);
      mapping.map(ids.z, launch.getBlockIds().z);
      mapping.map(threads.x, launch.getThreadIds().x);
      mapping.map(threads.y, launch.getThreadIds().y);
      mapping.map(threads.z, launch.getThreadIds().z);
      mapping.map(gridSize.x, grid);
      mapping.map(gridSize.y, launch.getGridSize().y);
      mapping.map(gridSize.z, launch.getGridSize().z);
      mapping.map(blockSize.x, launch.getBlockSize().x);
      mapping.map(blockSize.y, launch.getBlockSize().y);
      mapping.map(blockSize.z, launch.getBlockSize().z);
      for (auto [i, buffer] :
           llvm::enumerate(source.getWorkgroupAttributions()))
        mapping.map(buffer, launch.getWorkgroupAttributions()
                                [source == first ? i : secondSlots[i]]);
      inner.setInsertionPoint(into.getTerminator());
      for (Operation &op : source.getBody().front().without_terminator())
        inner.clone(op, mapping);
    };
    inline_(first, branch.getThenRegion().front(), blockId, firstBlocks);
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPointToStart(&branch.getElseRegion().front());
      Value shifted = builder.create<arith::SubIOp>(loc, blockId, firstBlocks);
      inline_(second, branch.getElseRegion().front(), shifted,
              second.getGridSizeX());
    }
    first.erase();
    second.erase();
  }

  int64_t maxTokens = 0;
  /// The function's weights, KV cache and arena: distinct buffers.
  Value weights, kv, scratch;
  /// The arena bytes the function returns (which a caller may pass back as
  /// an argument), when every returned buffer is a known slot.
  SmallVector<std::pair<int64_t, int64_t>> returned;
  bool returnedKnown = false;
};

} // namespace

std::unique_ptr<Pass> mlir::llm::createFuseGPULaunchesPass() {
  return std::make_unique<FuseGPULaunchesPass>();
}

void mlir::llm::registerFuseGPULaunchesPass() {
  PassRegistration<FuseGPULaunchesPass>();
}
