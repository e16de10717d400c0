//===- X86Target.cpp - The x86-64 target backend --------------------------===//
//
// One 512-bit register holds 16 f32 lanes. A packed block of 2 registers (32
// output columns) times 6 rows uses 12 accumulators, leaving room for the
// weight vectors and the broadcast input among AVX-512's 32 registers; with
// 16 registers (AVX2) 4 rows of 2 vectors fit.
//
//===----------------------------------------------------------------------===//

#include "codegen/x86/X86Target.h"
#include "codegen/Pipelines.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

using namespace mlir;
using namespace mlir::llm;

/// Joins an LLVM feature map into "+a,-b".
static std::string joinFeatures(const llvm::StringMap<bool> &features) {
  std::vector<std::string> parts;
  for (const auto &feature : features)
    parts.push_back((feature.second ? "+" : "-") + feature.first().str());
  llvm::sort(parts);
  std::string out;
  for (const std::string &part : parts)
    out += (out.empty() ? "" : ",") + part;
  return out;
}

/// Whether the "+a,-b" feature list of `target` enables `name`.
static bool hasFeature(TargetAttr target, StringRef name) {
  SmallVector<StringRef> features;
  target.getFeatures().split(features, ',', -1, false);
  return llvm::is_contained(features, ("+" + name).str());
}

namespace {

class X86Backend final : public TargetBackend {
public:
  StringRef getName() const override { return "x86_64"; }

  bool handles(const llvm::Triple &triple) const override {
    return triple.getArch() == llvm::Triple::x86_64;
  }

  /// Vector width and registers from the features the CPU implies (or the
  /// host has), overridden by --mattr.
  llvm::Expected<TargetAttr>
  describe(MLIRContext *context, const TargetRequest &request) const override {
    llvm::StringMap<bool> features;
    if (request.host) {
      features = llvm::sys::getHostCPUFeatures();
    } else {
      if (request.cpu != "generic" &&
          llvm::X86::parseArchX86(request.cpu, /*Only64Bit=*/true) ==
              llvm::X86::CK_None)
        return llvm::createStringError(
            "--mcpu '" + request.cpu +
            "' is not an x86-64 CPU LLVM knows (e.g. x86-64-v3, "
            "skylake-avx512, sapphirerapids, znver4)");
      llvm::SmallVector<StringRef> implied;
      llvm::X86::getFeaturesForCPU(request.cpu, implied);
      for (StringRef feature : implied)
        features[feature] = true;
    }
    llvm::SmallVector<StringRef> explicitFeatures;
    StringRef(request.features).split(explicitFeatures, ',', -1, false);
    for (StringRef feature : explicitFeatures)
      features[feature.drop_front()] = feature[0] == '+';
    auto has = [&](StringRef name) {
      auto it = features.find(name);
      return it != features.end() && it->second;
    };
    bool avx512 = has("avx512f");
    int64_t l1 = 32 * 1024, l2 = avx512 ? 1024 * 1024 : 512 * 1024;
    if (request.host) {
      if (int64_t bytes = hostCacheBytes(1))
        l1 = bytes;
      if (int64_t bytes = hostCacheBytes(2))
        l2 = bytes;
    }
    return TargetAttr::get(context, request.triple.str(), request.cpu,
                           joinFeatures(features),
                           /*vectorBits=*/
                               avx512   ? 512
                           : has("avx") ? 256
                                        : 128,
                           /*vectorRegisters=*/avx512 ? 32 : 16, l1, l2,
                           /*scalable=*/false, /*smCount=*/0,
                           /*sharedMemoryBytes=*/0);
  }

  LinearTileChoice chooseLinearTile(TargetAttr target,
                                    ParamOp param) const override {
    int64_t lanes = target.getVectorBits() / 32;
    int64_t outputs = param.getTensorType().getDimSize(0);
    LinearTileChoice choice;
    choice.rows = target.getVectorRegisters() >= 32 ? 6 : 4;
    // Two registers per block unless the matrix is too narrow to fill them.
    choice.block = outputs >= 2 * lanes ? 2 * lanes : lanes;
    // bf16 weights: 8 rows, 16 accumulators, a weight load (and on the f32
    // FMA its widening, two shuffles and two shifts) per 8 products instead
    // of 6. Prefill 512 of the 1B model, four alternating runs each: on
    // `vdpbf16ps` on Zen 5 245-256 tok/s against 229-246 with 6 rows (10
    // and 12 rows: no faster; f32 weights: no faster with 8); widened to
    // f32 on a Xeon (Emerald Rapids) 84-98 against 76-89. f32 and f16
    // weights too: 8 rows (a power of two) let a prefill pack its inputs
    // (llm-tile-and-vectorize); f32 on the Xeon 110.9 against 99.2.
    if (target.getVectorRegisters() >= 32 && !param.isQuantized() &&
        isa<FloatType>(param.getTensorType().getElementType()))
      choice.rows = 8;
    // i8 weights: blocks of 4 registers, 64 bytes per column as bf16's
    // two. A depth step costs about the same whatever the weight's type, so
    // twice the bytes per step streams twice as fast: decode of the 1B model
    // went from 18 to 25 tok/s on Zen 5 (block 8 registers: no faster, and
    // half the prefill). With 16 registers, 2 rows keep 8 accumulators.
    if (param.isQuantized() && outputs >= 4 * lanes) {
      choice.block = 4 * lanes;
      if (target.getVectorRegisters() < 32)
        choice.rows = 2;
    }
    return choice;
  }

  /// `vdpbf16ps` (AVX512-BF16) on 512-bit vectors, or 256/128 with VL.
  bool hasBF16Dot(TargetAttr target) const override {
    return hasFeature(target, "avx512bf16") && hasFeature(target, "avx512vl");
  }

  /// Measured (docs/performance.md, NOTES.md): on Zen 4 and Zen 5
  /// `vdpbf16ps` does about twice the f32 FMA's flops; on the Xeons seen so
  /// far half of them.
  bool prefersBF16Dot(TargetAttr target) const override {
    return hasBF16Dot(target) && target.getCpu().starts_with("znver");
  }

  /// Zen 5's L2 prefetchers keep up with a weight stream alone: decode of
  /// the 1B model (2 threads, each tok/s over the mean of the runs just
  /// before and after without) gained 6.7% at bf16 and 4-7% at Q8_0
  /// without the far prefetch, 9% at Q4_0. Other CPUs (the Xeons, where it
  /// gained 6-8%; Zen 3 and 4, not measured) keep it.
  int64_t getFarPrefetchBytes(TargetAttr target) const override {
    return target.getCpu() == "znver5"
               ? 0
               : TargetBackend::getFarPrefetchBytes(target);
  }

  Value createBF16Dot(OpBuilder &b, Location loc, Value acc, Value x,
                      Value w) const override {
    auto type = cast<VectorType>(acc.getType());
    StringRef name;
    switch (type.getNumElements()) {
    case 16:
      name = "llvm.x86.avx512bf16.dpbf16ps.512";
      break;
    case 8:
      name = "llvm.x86.avx512bf16.dpbf16ps.256";
      break;
    case 4:
      name = "llvm.x86.avx512bf16.dpbf16ps.128";
      break;
    default:
      return nullptr;
    }
    return b
        .create<LLVM::CallIntrinsicOp>(loc, TypeRange{type},
                                       b.getStringAttr(name),
                                       ValueRange{acc, w, x})
        ->getResult(0);
  }

  /// VNNI's `vpdpbusd` (AVX512-VNNI, or AVX-VNNI's 256-bit form) takes
  /// unsigned weights; AVX2 multiplies signed pairs with `vpmaddubsw`.
  Int8DotKind getInt8Dot(TargetAttr target) const override {
    if (hasFeature(target, "avx512vnni") || hasFeature(target, "avxvnni"))
      return Int8DotKind::UnsignedWeights;
    if (hasFeature(target, "avx2"))
      return Int8DotKind::Signed;
    return Int8DotKind::None;
  }

  int64_t getInt8DotLanes(TargetAttr target) const override {
    if (getInt8Dot(target) == Int8DotKind::None)
      return 0;
    return hasFeature(target, "avx512vnni") ? 16 : 8;
  }

  /// Both accumulators of a tile stay in registers: with 32 registers 6
  /// rows of 2 vectors (24 accumulators), with 16 registers 2 rows.
  LinearTileChoice chooseInt8DotTile(TargetAttr target,
                                     ParamOp param) const override {
    int64_t lanes = target.getVectorBits() / 32;
    LinearTileChoice choice;
    choice.rows = target.getVectorRegisters() >= 32 ? 6 : 2;
    choice.block =
        param.getTensorType().getDimSize(0) >= 2 * lanes ? 2 * lanes : lanes;
    return choice;
  }

  Value createInt8Dot(OpBuilder &b, Location loc, TargetAttr target,
                      Value acc, Value w, Value x) const override {
    auto type = cast<VectorType>(acc.getType());
    int64_t lanes = type.getNumElements();
    auto call = [&](StringRef name, Type result, ValueRange operands) {
      return b
          .create<LLVM::CallIntrinsicOp>(loc, TypeRange{result},
                                         b.getStringAttr(name), operands)
          ->getResult(0);
    };
    auto words = [&](Value bytes) {
      return b.create<vector::BitCastOp>(loc, type, bytes).getResult();
    };
    if (lanes > getInt8DotLanes(target) || (lanes != 4 && lanes != 8 &&
                                            lanes != 16))
      return nullptr;
    if (getInt8Dot(target) == Int8DotKind::UnsignedWeights)
      return call(lanes == 16  ? "llvm.x86.avx512.vpdpbusd.512"
                  : lanes == 8 ? "llvm.x86.avx512.vpdpbusd.256"
                               : "llvm.x86.avx512.vpdpbusd.128",
                  type, {acc, words(w), words(x)});
    // AVX2: |x| (unsigned) times w with x's sign, adjacent pairs summed to
    // i16 (at most 2 * 127 * 127, no saturation), then pairs of those.
    bool ymm = lanes == 8;
    auto bytesType = cast<VectorType>(x.getType());
    auto halfType = VectorType::get({2 * lanes}, b.getI16Type());
    StringRef sign = ymm ? "llvm.x86.avx2.psign.b" : "llvm.x86.ssse3.psign.b.128";
    Value magnitude = call(sign, bytesType, {x, x});
    Value signedW = call(sign, bytesType, {w, x});
    Value pairs = call(ymm ? "llvm.x86.avx2.pmadd.ub.sw"
                           : "llvm.x86.ssse3.pmadd.ub.sw.128",
                       halfType, {magnitude, signedW});
    Value ones = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(halfType, b.getI16IntegerAttr(1)));
    Value quads = call(ymm ? "llvm.x86.avx2.pmadd.wd" : "llvm.x86.sse2.pmadd.wd",
                       type, {pairs, ones});
    return b.create<arith::AddIOp>(loc, acc, quads);
  }

  void buildLoweringPipeline(OpPassManager &pm) const override {
    buildCPULoweringPipeline(pm);
  }

  std::optional<CrossLinkRecipe> getCrossLinkRecipe() const override {
    return std::nullopt;
  }
};

} // namespace

const TargetBackend &mlir::llm::getX86Backend() {
  static const X86Backend backend;
  return backend;
}
