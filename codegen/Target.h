//===- Target.h - One interface for everything target specific ---*- C++
//-*-===//
//
// Each target llmc generates code for is one `TargetBackend`, implemented in
// its own folder (codegen/x86, codegen/aarch64): it describes the machine
// from a triple, CPU and features, chooses register tiles and packed weight
// layouts, names its lowering pipeline and says how to link. The registry
// (TargetRegistry.cpp) maps a triple to its backend; it and the target
// folders are the only code that knows target names. Generic passes read the
// `#llm.target` and `#llm.lowering_config` attributes, never the triple.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_TARGET_H
#define LLMC_CODEGEN_TARGET_H

#include "dialects/llm/IR/LLMOps.h"

#include "llvm/Support/Error.h"
#include "llvm/TargetParser/Triple.h"

#include <cstdint>
#include <optional>
#include <string>

namespace llvm {
class Target;
} // namespace llvm

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace mlir::llm {

/// What the user asked for, normalized: `cpu` is never empty ("generic" when
/// unnamed), `host` is set when the code runs on this machine's CPU (its
/// features and caches may then be read from the machine).
struct TargetRequest {
  llvm::Triple triple;
  std::string cpu;
  /// Explicit --mattr entries, each "+name" or "-name".
  std::string features;
  bool host = false;
  const llvm::Target *llvmTarget = nullptr;
};

/// A backend's choice for one projection.
struct LinearTileChoice {
  /// Rows of the register tile (accumulators = rows x block / lanes).
  int64_t rows = 1;
  /// Output columns packed together; also the lanes one tile computes.
  int64_t block = 1;
  /// When > 0, the tile walks its block in chunks of this many lanes times
  /// vscale (vector-length agnostic code).
  int64_t scalableLanes = 0;
  /// Columns of a row stored together for a dot-product instruction (see
  /// `#llm.packed_layout`); set by the strategy, not the backend.
  int64_t interleave = 1;
};

/// How to link a cross-compiled executable with the runtime built for it.
struct CrossLinkRecipe {
  /// Subdirectory of the runtime directory holding this target's runtime.
  llvm::StringRef runtimeSubdir;
  /// Environment variable naming the compiler driver, and its default.
  llvm::StringRef driverEnv, defaultDriver;
  bool linkStatic = false;
  /// What to install when the driver or the runtime is missing.
  llvm::StringRef installHint;
};

/// How a target multiplies 8-bit integers four at a time into 32-bit lanes.
enum class Int8DotKind {
  None,
  /// Signed weights times signed inputs (AArch64 `sdot`; x86 AVX2's
  /// `vpmaddubsw` with the inputs' signs moved onto the weights).
  Signed,
  /// Unsigned weights times signed inputs (x86 VNNI `vpdpbusd`): signed
  /// weights are offset by 128, and 128 times the inputs' sum taken off.
  UnsignedWeights,
};

/// 16-bit inputs to the 8-bit dot product are split into two signed 8-bit
/// limbs, v = kInputLimbBase * high + low with low in [-128, 127], so a
/// group's sums combine with a shift; |v| <= kInputLimbBase * 127 + 127
/// keeps the high limb in [-127, 127].
constexpr int64_t kInputLimbBase = 256;
constexpr int64_t kInputLimbMax = kInputLimbBase * 127 + 127;

/// The L2 prefetch distance of a stream of weights read once, unless the
/// target says otherwise (TargetBackend::getFarPrefetchBytes).
constexpr int64_t kFarPrefetchBytes = 8192;

class TargetBackend {
public:
  virtual ~TargetBackend();

  /// Architecture name for messages ("x86_64").
  virtual llvm::StringRef getName() const = 0;
  /// Whether this backend generates code for `triple`.
  virtual bool handles(const llvm::Triple &triple) const = 0;
  /// Resolves the request into vector width, registers and caches. Errors
  /// name the bad --mcpu or --mattr.
  virtual llvm::Expected<TargetAttr>
  describe(MLIRContext *context, const TargetRequest &request) const = 0;
  /// Register tile and packed block for a projection with weight `param`.
  virtual LinearTileChoice chooseLinearTile(TargetAttr target,
                                            ParamOp param) const = 0;
  /// Whether `target` has an instruction that sums pairs of bf16 products
  /// into f32 lanes (x86 `vdpbf16ps`), which createBF16Dot emits.
  virtual bool hasBF16Dot(TargetAttr target) const { return false; }
  /// Whether that instruction is faster than the f32 FMA on `target`, so
  /// that rounding the projections' inputs to bf16 pays by default.
  virtual bool prefersBF16Dot(TargetAttr target) const { return false; }
  /// acc[i] + x[2i] * w[2i] + x[2i+1] * w[2i+1] for acc vector<N x f32> and
  /// x, w vector<2N x bf16>, as the target's instruction; null when the
  /// target has none for N lanes.
  virtual Value createBF16Dot(OpBuilder &b, Location loc, Value acc, Value x,
                              Value w) const {
    return nullptr;
  }
  /// How far ahead of its loads a stream of weights read once (decode's
  /// single row) also prefetches into the L2, beside the L1 prefetch a few
  /// KiB ahead; 0 for none, where the hardware's own L2 prefetchers do
  /// better alone. Two threads of the Xeon streaming bf16 weights: 28.0
  /// GB/s with it against 24.0 without (8 KiB).
  virtual int64_t getFarPrefetchBytes(TargetAttr target) const {
    return kFarPrefetchBytes;
  }
  /// Which 8-bit dot product `target` has (createInt8Dot's operands).
  virtual Int8DotKind getInt8Dot(TargetAttr target) const {
    return Int8DotKind::None;
  }
  /// The most 32-bit lanes createInt8Dot fills at once (0: none); it takes
  /// every power of two from 4 up to that.
  virtual int64_t getInt8DotLanes(TargetAttr target) const { return 0; }
  /// Register tile and block for a quantized projection multiplied on that
  /// dot product (its integer and f32 accumulators are both live).
  virtual LinearTileChoice chooseInt8DotTile(TargetAttr target,
                                             ParamOp param) const {
    return chooseLinearTile(target, param);
  }
  /// acc[i] + sum over p < 4 of w[4i+p] * x[4i+p] for acc vector<N x i32>
  /// and w, x vector<4N x i8>, w read as getInt8Dot says (x always signed);
  /// null when the target has none for N lanes.
  virtual Value createInt8Dot(OpBuilder &b, Location loc, TargetAttr target,
                              Value acc, Value w, Value x) const {
    return nullptr;
  }
  /// Whether `target` multiplies 2 x 8 by 8 x 2 signed 8-bit matrices into
  /// 2 x 2 i32 lanes (AArch64 `smmla`, +i8mm): quantized projections then
  /// interleave their weights by 8 and multiply two input rows at a time.
  virtual bool hasInt8Matmul(TargetAttr target) const { return false; }
  /// acc + a b^T for acc vector<4 x i32> (row-major 2 x 2) and a, b
  /// vector<16 x i8> (row-major 2 x 8, both signed); null when the target
  /// has no such instruction.
  virtual Value createInt8Matmul(OpBuilder &b, Location loc, TargetAttr target,
                                 Value acc, Value a, Value w) const {
    return nullptr;
  }
  /// Adds the passes that take planned, lowered-to-linalg IR to the LLVM
  /// dialect.
  virtual void buildLoweringPipeline(OpPassManager &pm) const = 0;
  /// How to link when llmc runs on another architecture; none when this
  /// target can only be linked natively.
  virtual std::optional<CrossLinkRecipe> getCrossLinkRecipe() const = 0;
  /// For a device driven by a host program (a GPU): the host's triple, for
  /// which the host code is compiled and the executable linked. None when
  /// the generated code is the whole program.
  virtual std::optional<llvm::StringRef> getHostTriple() const {
    return std::nullopt;
  }
};

/// The backend for `triple`, or null.
const TargetBackend *lookupTargetBackend(const llvm::Triple &triple);
/// The backend for `target`'s triple, emitting an error on `op` if none.
const TargetBackend *lookupTargetBackend(TargetAttr target, Operation *op);
/// "x86_64, aarch64": the architectures llmc has backends for.
std::string listTargetBackends();

/// Resolves `triple`, `cpu` and `features` (empty = the host) into a full
/// target description. Errors on a target llmc has no backend for, an
/// unknown CPU or a malformed feature list.
llvm::Expected<TargetAttr> describeTarget(MLIRContext *context,
                                          llvm::StringRef triple,
                                          llvm::StringRef cpu,
                                          llvm::StringRef features);

/// Size in bytes of this machine's data (or unified) cache at `level`, from
/// sysfs; 0 if unknown.
int64_t hostCacheBytes(int level);

/// Links `object`, compiled for `target`, with the runtime libraries for
/// that target found under `runtimeDir` into the executable `output`.
///  - The host's architecture on Linux: the runtime in `runtimeDir`, linked
///    dynamically by $LLMC_CXX, or c++.
///  - Another architecture: the backend's cross recipe (runtime in
///    `runtimeDir`/subdir, its driver, e.g. static for AArch64 so the
///    executable runs on a board or under qemu with nothing else installed).
/// A target without a recipe, a missing driver or a missing runtime is an
/// error that says what to install. `extraArchives` are more runtime
/// archives (of the same directory) that go first, such as the CUDA layer
/// of a GPU model's host program (which also links libdl).
llvm::Error linkExecutable(TargetAttr target, llvm::StringRef object,
                           llvm::StringRef output, llvm::StringRef runtimeDir,
                           llvm::ArrayRef<llvm::StringRef> extraArchives = {});

} // namespace mlir::llm

#endif // LLMC_CODEGEN_TARGET_H
