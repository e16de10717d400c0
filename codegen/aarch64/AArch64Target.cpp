//===- AArch64Target.cpp - The AArch64 target backend ---------------------===//
//
// NEON has 32 128-bit registers (4 f32 lanes). A block of 4 registers (16
// output columns) times 6 rows is 24 accumulators, plus 4 weight vectors and
// the input, which fits. With SVE the code is vector-length agnostic: the
// packed block stays 16 columns (the weight file must not depend on the
// machine), and a tile walks it in chunks of 4 x vscale lanes, so one chunk
// covers it on 512-bit hardware and four on 128-bit hardware.
//
//===----------------------------------------------------------------------===//

#include "codegen/aarch64/AArch64Target.h"
#include "codegen/Pipelines.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/AArch64TargetParser.h"

using namespace mlir;
using namespace mlir::llm;

/// Cache sizes of AArch64 cores by LLVM CPU name (per core L1D, L2).
static std::pair<int64_t, int64_t> cacheSizes(StringRef cpu) {
  return llvm::StringSwitch<std::pair<int64_t, int64_t>>(cpu)
      .Cases("neoverse-n1", "neoverse-n2", "neoverse-v2",
             {64 * 1024, 1024 * 1024})
      .Case("neoverse-v1", {64 * 1024, 1024 * 1024})
      .Cases("cortex-a76", "cortex-a78", "cortex-x1", {64 * 1024, 512 * 1024})
      .Cases("cortex-a72", "cortex-a73", {32 * 1024, 1024 * 1024})
      .Cases("cortex-a53", "cortex-a55", {32 * 1024, 256 * 1024})
      .StartsWith("apple-", {128 * 1024, 4 * 1024 * 1024})
      .Default({64 * 1024, 512 * 1024});
}

static llvm::Error unknownCPU(StringRef cpu) {
  return llvm::createStringError("--mcpu '" + cpu.str() +
                                 "' is not an AArch64 CPU LLVM knows "
                                 "(e.g. neoverse-n1, neoverse-v1, "
                                 "cortex-a76, apple-m1)");
}

static bool hasFeature(TargetAttr target, StringRef feature) {
  SmallVector<StringRef> features;
  target.getFeatures().split(features, ',', -1, false);
  return llvm::is_contained(features, feature);
}

/// A call of LLVM intrinsic `name` returning `type`.
static Value callIntrinsic(OpBuilder &b, Location loc, StringRef name,
                           Type type, ValueRange operands) {
  return b
      .create<LLVM::CallIntrinsicOp>(loc, TypeRange{type},
                                     b.getStringAttr(name), operands)
      ->getResult(0);
}

namespace {

class AArch64Backend final : public TargetBackend {
public:
  StringRef getName() const override { return "aarch64"; }

  bool handles(const llvm::Triple &triple) const override {
    return triple.getArch() == llvm::Triple::aarch64;
  }

  /// NEON (128-bit, 32 registers) everywhere; with SVE the code is
  /// vector-length agnostic and 128 bits is the minimum. Features come from
  /// the CPU name plus --mattr, as LLVM's subtarget resolves them.
  llvm::Expected<TargetAttr>
  describe(MLIRContext *context, const TargetRequest &request) const override {
    // Checked before creating the subtarget, which would only warn.
    if (request.cpu != "generic" && !llvm::AArch64::parseCpu(request.cpu))
      return unknownCPU(request.cpu);
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
        request.llvmTarget->createMCSubtargetInfo(
            request.triple.str(), request.cpu, request.features));
    if (!subtarget)
      return unknownCPU(request.cpu);
    // Every feature the CPU and --mattr enable, so that the executable can
    // check them at start.
    std::string features;
    for (const llvm::SubtargetFeatureKV &feature :
         subtarget->getAllProcessorFeatures())
      if (subtarget->checkFeatures(std::string("+") + feature.Key))
        features += (features.empty() ? "+" : ",+") + std::string(feature.Key);
    auto [l1, l2] = cacheSizes(request.cpu);
    return TargetAttr::get(context, request.triple.str(), request.cpu, features,
                           /*vectorBits=*/128,
                           /*vectorRegisters=*/32, l1, l2,
                           /*scalable=*/subtarget->checkFeatures("+sve"),
                           /*smCount=*/0, /*sharedMemoryBytes=*/0);
  }

  LinearTileChoice chooseLinearTile(TargetAttr target,
                                    ParamOp param) const override {
    int64_t lanes = target.getVectorBits() / 32;
    int64_t outputs = param.getTensorType().getDimSize(0);
    LinearTileChoice choice;
    choice.block = outputs >= 4 * lanes ? 4 * lanes : lanes;
    // With SVE's chunks the accumulators of one chunk are live at a time.
    choice.rows = target.getScalable() ? 8 : 6;
    if (target.getScalable())
      choice.scalableLanes = lanes;
    return choice;
  }

  /// `sdot` (+dotprod: Armv8.4 and later, and most v8.2 cores).
  Int8DotKind getInt8Dot(TargetAttr target) const override {
    return hasFeature(target, "+dotprod") ? Int8DotKind::Signed
                                          : Int8DotKind::None;
  }

  /// `smmla` (+i8mm: Armv8.6, Neoverse V1/N2/V2, Cortex-A710 and later,
  /// Apple M2): twice `sdot`'s products per instruction.
  bool hasInt8Matmul(TargetAttr target) const override {
    return hasFeature(target, "+dotprod") && hasFeature(target, "+i8mm");
  }

  Value createInt8Matmul(OpBuilder &b, Location loc, TargetAttr target,
                         Value acc, Value a, Value w) const override {
    auto type = cast<VectorType>(acc.getType());
    if (type.getNumElements() != 4 || !hasInt8Matmul(target))
      return nullptr;
    return callIntrinsic(b, loc, "llvm.aarch64.neon.smmla.v4i32.v16i8", type,
                         {acc, a, w});
  }

  int64_t getInt8DotLanes(TargetAttr target) const override {
    return getInt8Dot(target) == Int8DotKind::None ? 0 : 4;
  }

  /// NEON code (4 lanes a register) on SVE machines too: 6 rows of 2
  /// vectors keep 24 accumulators in 32 registers; on `smmla` 4 rows (2
  /// pairs) of 4 pairs of lanes, whose 2 x 2 accumulators, 16 with 16-bit
  /// inputs, and 8 f32 ones leave 8 registers for the operands.
  LinearTileChoice chooseInt8DotTile(TargetAttr target,
                                     ParamOp param) const override {
    LinearTileChoice choice;
    choice.rows = hasInt8Matmul(target) ? 4 : 6;
    choice.block = param.getTensorType().getDimSize(0) >= 8 ? 8 : 4;
    return choice;
  }

  Value createInt8Dot(OpBuilder &b, Location loc, TargetAttr target,
                      Value acc, Value w, Value x) const override {
    auto type = cast<VectorType>(acc.getType());
    if (type.getNumElements() != 4 ||
        getInt8Dot(target) != Int8DotKind::Signed)
      return nullptr;
    return callIntrinsic(b, loc, "llvm.aarch64.neon.sdot.v4i32.v16i8", type,
                         {acc, w, x});
  }

  void buildLoweringPipeline(OpPassManager &pm) const override {
    buildCPULoweringPipeline(pm);
  }

  std::optional<CrossLinkRecipe> getCrossLinkRecipe() const override {
    return CrossLinkRecipe{
        "aarch64-linux-gnu", "LLMC_CXX_AARCH64", "aarch64-linux-gnu-g++",
        /*linkStatic=*/true,
        "--target aarch64-linux-gnu needs the AArch64 cross toolchain: "
        "apt-get install g++-aarch64-linux-gnu libc6-dev-arm64-cross"};
  }
};

} // namespace

const TargetBackend &mlir::llm::getAArch64Backend() {
  static const AArch64Backend backend;
  return backend;
}
