//===- NVPTXTarget.cpp - The NVPTX (NVIDIA GPU) target backend ------------===//
//
// `--mcpu` names the GPU architecture (sm_90a by default). The description
// records what the strategy needs: the SM count, the shared memory one block
// may use and the L2 size; 128-bit vectors are the widest global loads. A
// packed block is one warp's worth of output columns, so the 32 threads of a
// warp read 32 neighbouring weights at every step of the reduction.
//
//===----------------------------------------------------------------------===//

#include "codegen/nvptx/NVPTXTarget.h"
#include "codegen/Pipelines.h"

using namespace mlir;
using namespace mlir::llm;

bool mlir::llm::hasWarps(TargetAttr target) {
  return target &&
         llvm::Triple(target.getTriple()).getArch() == llvm::Triple::nvptx64;
}

namespace {

/// What llmc knows about one GPU architecture (figures of its flagship
/// data-center part).
struct GPUArch {
  StringLiteral name;
  /// The lowest PTX ISA version that has the architecture.
  StringLiteral ptx;
  int64_t smCount;
  /// Shared memory one block may use (opt-in maximum), bytes.
  int64_t sharedMemoryBytes;
  int64_t l2Bytes;
};

constexpr int64_t KiB = 1024, MiB = 1024 * 1024;
const GPUArch kArchs[] = {
    {"sm_80", "+ptx70", 108, 163 * KiB, 40 * MiB}, // A100
    {"sm_86", "+ptx71", 84, 99 * KiB, 6 * MiB},    // A40
    {"sm_89", "+ptx78", 142, 99 * KiB, 96 * MiB},  // L40S
    {"sm_90", "+ptx78", 132, 227 * KiB, 50 * MiB}, // H100 SXM
    {"sm_90a", "+ptx80", 132, 227 * KiB, 50 * MiB},
};
constexpr StringLiteral kDefaultArch = "sm_90a";

class NVPTXBackend final : public TargetBackend {
public:
  StringRef getName() const override { return "nvptx64"; }

  bool handles(const llvm::Triple &triple) const override {
    return triple.getArch() == llvm::Triple::nvptx64;
  }

  llvm::Expected<TargetAttr>
  describe(MLIRContext *context, const TargetRequest &request) const override {
    StringRef cpu = request.cpu == "generic" ? StringRef(kDefaultArch)
                                             : StringRef(request.cpu);
    const GPUArch *arch = nullptr;
    for (const GPUArch &candidate : kArchs)
      if (candidate.name == cpu)
        arch = &candidate;
    if (!arch) {
      std::string known;
      for (const GPUArch &candidate : kArchs)
        known += (known.empty() ? "" : ", ") + candidate.name.str();
      return llvm::createStringError("--mcpu '" + cpu.str() +
                                     "' is not a GPU architecture llmc "
                                     "knows (" +
                                     known + "; default " + kDefaultArch.str() +
                                     ")");
    }
    // Explicit features (a newer PTX ISA, "+ptx84") replace the default.
    std::string features =
        request.features.empty() ? arch->ptx.str() : request.features;
    return TargetAttr::get(context, request.triple.str(), cpu, features,
                           /*vectorBits=*/128, /*vectorRegisters=*/255,
                           /*l1Bytes=*/256 * KiB, arch->l2Bytes,
                           /*scalable=*/false, arch->smCount,
                           arch->sharedMemoryBytes);
  }

  LinearTileChoice chooseLinearTile(TargetAttr target,
                                    ParamOp param) const override {
    LinearTileChoice choice;
    choice.rows = 1;
    choice.block = 32; // one warp
    return choice;
  }

  void buildLoweringPipeline(OpPassManager &pm) const override {
    buildGPULoweringPipeline(pm);
  }

  std::optional<CrossLinkRecipe> getCrossLinkRecipe() const override {
    return std::nullopt;
  }

  std::optional<StringRef> getHostTriple() const override {
    return StringRef("x86_64-unknown-linux-gnu");
  }
};

} // namespace

const TargetBackend &mlir::llm::getNVPTXBackend() {
  static const NVPTXBackend backend;
  return backend;
}
