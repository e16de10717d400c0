//===- GPUArgmax.cpp - Greedy decoding's argmax as GPU kernels -----------===//
//
// A GPU model decoding greedily needs only the id of the largest logit, not
// the 0.5 MB of logits: llm-gpu-argmax adds the entry point
//
//   void _mlir_ciface_llmc_argmax(LlmcMemRef1D *logits, LlmcMemRef1D *key);
//
// whose kernels write to key[0] the largest of
//
//   order(logit[i] + 0) << 32 | (0xffffffff - i)
//
// over the logits that are not NaN, `order` mapping a float's bits to an
// unsigned integer in the float order (0 when every logit is NaN). The
// largest key is the first index of the largest logit, as the runtime's
// argmax picks it (runtime/abi/ModelABI.h says how to decode it). Threads
// take strided elements (coalesced), keep their largest key, combine a
// warp's keys with shuffles (where the module's target has warps; the
// emulation on the CPU has none) and merge them with an atomic unsigned
// max.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/nvptx/NVPTXPasses.h"
#include "codegen/nvptx/NVPTXTarget.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

constexpr StringLiteral kArgmaxEntry = "llmc_argmax";
constexpr int64_t kThreads = 256, kPerThread = 32, kMaxBlocks = 128;
constexpr int64_t kWarp = 32;

struct GPUArgmaxPass
    : public PassWrapper<GPUArgmaxPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GPUArgmaxPass)

  StringRef getArgument() const override { return "llm-gpu-argmax"; }
  StringRef getDescription() const override {
    return "Add llmc_argmax, greedy decoding's argmax as GPU launches";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, func::FuncDialect, gpu::GPUDialect,
                    memref::MemRefDialect, scf::SCFDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (module.lookupSymbol(kArgmaxEntry))
      return;
    bool warpShuffles = llm::hasWarps(
        llm::LLMDialect::TargetAttrHelper(&getContext()).getAttr(module));
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    Location loc = module.getLoc();
    Type f32 = builder.getF32Type(), i32 = builder.getI32Type(),
         i64 = builder.getI64Type();
    auto logitsType = MemRefType::get({ShapedType::kDynamic}, f32);
    auto keyType = MemRefType::get({ShapedType::kDynamic}, i64);
    auto func = builder.create<func::FuncOp>(
        loc, kArgmaxEntry, builder.getFunctionType({logitsType, keyType}, {}));
    func->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
    Block *entry = func.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    Value logits = entry->getArgument(0), key = entry->getArgument(1);
    auto index = [&](int64_t v) -> Value {
      return builder.create<arith::ConstantIndexOp>(loc, v);
    };
    Value zero = index(0), one = index(1);

    // key[0] = 0.
    {
      auto launch =
          builder.create<gpu::LaunchOp>(loc, one, one, one, one, one, one);
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPointToStart(&launch.getBody().front());
      builder.create<memref::StoreOp>(
          loc, builder.create<arith::ConstantIntOp>(loc, 0, i64), key, zero);
      builder.create<gpu::TerminatorOp>(loc);
    }

    // One thread per kPerThread logits, in at most kMaxBlocks blocks.
    Value count = builder.create<memref::DimOp>(loc, logits, zero);
    Value blocks = builder.create<arith::MinUIOp>(
        loc,
        builder.create<arith::MaxUIOp>(
            loc,
            builder.create<arith::CeilDivUIOp>(loc, count,
                                               index(kThreads * kPerThread)),
            one),
        index(kMaxBlocks));
    auto launch = builder.create<gpu::LaunchOp>(loc, blocks, one, one,
                                                index(kThreads), one, one);
    builder.setInsertionPointToStart(&launch.getBody().front());
    Value id = builder.create<arith::AddIOp>(
        loc,
        builder.create<arith::MulIOp>(loc, launch.getBlockIds().x,
                                      index(kThreads)),
        launch.getThreadIds().x);
    Value stride = builder.create<arith::MulIOp>(loc, launch.getGridSize().x,
                                                 index(kThreads));
    auto constant = [&](OpBuilder &b, int64_t v, Type type) -> Value {
      return b.create<arith::ConstantIntOp>(loc, v, type);
    };
    auto loop = builder.create<scf::ForOp>(
        loc, id, count, stride, ValueRange{constant(builder, 0, i64)},
        [&](OpBuilder &b, Location, Value i, ValueRange best) {
          Value logit = b.create<memref::LoadOp>(loc, logits, i);
          // + 0 makes -0 the same key as 0: equal logits, first index.
          Value canonical = b.create<arith::AddFOp>(
              loc, logit, b.create<arith::ConstantOp>(loc, b.getZeroAttr(f32)));
          Value bits = b.create<arith::BitcastOp>(loc, i32, canonical);
          // Non-negative floats above every negative one, negative ones in
          // reverse order of their bits.
          Value negative = b.create<arith::CmpIOp>(
              loc, arith::CmpIPredicate::slt, bits, constant(b, 0, i32));
          Value order = b.create<arith::SelectOp>(
              loc, negative,
              b.create<arith::XOrIOp>(loc, bits, constant(b, -1, i32)),
              b.create<arith::OrIOp>(loc, bits, constant(b, INT32_MIN, i32)));
          Value position = b.create<arith::IndexCastUIOp>(loc, i64, i);
          Value candidate = b.create<arith::OrIOp>(
              loc,
              b.create<arith::ShLIOp>(loc,
                                      b.create<arith::ExtUIOp>(loc, i64, order),
                                      constant(b, 32, i64)),
              b.create<arith::SubIOp>(loc, constant(b, 0xffffffffLL, i64),
                                      position));
          Value isNumber = b.create<arith::CmpFOp>(
              loc, arith::CmpFPredicate::ORD, logit, logit);
          Value better = b.create<arith::MaxUIOp>(loc, best[0], candidate);
          b.create<scf::YieldOp>(loc, ValueRange{b.create<arith::SelectOp>(
                                          loc, isNumber, better, best[0])});
        });
    Value best = loop.getResult(0);
    if (warpShuffles) {
      // Every thread of the launch reaches the shuffles (no bounds check).
      Value width = constant(builder, kWarp, i32);
      for (int64_t offset = 1; offset < kWarp; offset *= 2) {
        Value mask = constant(builder, offset, i32);
        Value low = builder.create<arith::TruncIOp>(loc, i32, best);
        Value high = builder.create<arith::TruncIOp>(
            loc, i32,
            builder.create<arith::ShRUIOp>(loc, best,
                                           constant(builder, 32, i64)));
        auto shuffle = [&](Value v) {
          return builder
              .create<gpu::ShuffleOp>(loc, v, mask, width,
                                      gpu::ShuffleMode::XOR)
              .getShuffleResult();
        };
        Value other = builder.create<arith::OrIOp>(
            loc,
            builder.create<arith::ShLIOp>(
                loc, builder.create<arith::ExtUIOp>(loc, i64, shuffle(high)),
                constant(builder, 32, i64)),
            builder.create<arith::ExtUIOp>(loc, i64, shuffle(low)));
        best = builder.create<arith::MaxUIOp>(loc, best, other);
      }
      Value lane = builder.create<arith::RemUIOp>(loc, launch.getThreadIds().x,
                                                  index(kWarp));
      Value first = builder.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                                  lane, zero);
      auto owner = builder.create<scf::IfOp>(loc, first, /*withElse=*/false);
      builder.setInsertionPointToStart(&owner.getThenRegion().front());
    }
    builder.create<memref::AtomicRMWOp>(loc, arith::AtomicRMWKind::maxu, best,
                                        key, ValueRange{zero});
    builder.setInsertionPointToEnd(&launch.getBody().front());
    builder.create<gpu::TerminatorOp>(loc);
    builder.setInsertionPointToEnd(entry);
    builder.create<func::ReturnOp>(loc);
  }
};

} // namespace

std::unique_ptr<Pass> mlir::llm::createGPUArgmaxPass() {
  return std::make_unique<GPUArgmaxPass>();
}

void mlir::llm::registerGPUArgmaxPass() { PassRegistration<GPUArgmaxPass>(); }
