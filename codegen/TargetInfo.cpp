//===- TargetInfo.cpp - Target descriptions --------------------------------===//

#include "codegen/TargetInfo.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/AArch64TargetParser.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/TargetParser/X86TargetParser.h"

using namespace mlir;
using namespace mlir::llm;

DictionaryAttr TargetDesc::toAttr(MLIRContext *context) const {
  Builder b(context);
  return b.getDictionaryAttr({
      b.getNamedAttr("triple", b.getStringAttr(triple)),
      b.getNamedAttr("cpu", b.getStringAttr(cpu)),
      b.getNamedAttr("features", b.getStringAttr(features)),
      b.getNamedAttr("vector_bits", b.getI64IntegerAttr(vectorBits)),
      b.getNamedAttr("vector_registers", b.getI64IntegerAttr(vectorRegisters)),
      b.getNamedAttr("scalable", b.getBoolAttr(scalable)),
      b.getNamedAttr("l1_bytes", b.getI64IntegerAttr(l1Bytes)),
      b.getNamedAttr("l2_bytes", b.getI64IntegerAttr(l2Bytes)),
  });
}

llvm::Expected<TargetDesc> TargetDesc::fromAttr(DictionaryAttr attr) {
  if (!attr)
    return llvm::createStringError("module has no llm.target attribute");
  TargetDesc desc;
  auto str = [&](StringRef name, std::string &out) -> bool {
    auto value = attr.getAs<StringAttr>(name);
    if (value)
      out = value.str();
    return static_cast<bool>(value);
  };
  auto num = [&](StringRef name, int64_t &out) -> bool {
    auto value = attr.getAs<IntegerAttr>(name);
    if (value)
      out = value.getInt();
    return static_cast<bool>(value);
  };
  if (!str("triple", desc.triple) || !str("cpu", desc.cpu) ||
      !str("features", desc.features) || !num("vector_bits", desc.vectorBits) ||
      !num("vector_registers", desc.vectorRegisters) ||
      !num("l1_bytes", desc.l1Bytes) || !num("l2_bytes", desc.l2Bytes))
    return llvm::createStringError(
        "llm.target needs triple, cpu, features, vector_bits, "
        "vector_registers, l1_bytes and l2_bytes");
  if (auto scalable = attr.getAs<BoolAttr>("scalable"))
    desc.scalable = scalable.getValue();
  return desc;
}

/// Size of a cache level of the host in bytes, from sysfs; 0 if unknown.
static int64_t hostCacheBytes(int level) {
  for (int index = 0; index < 8; ++index) {
    std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    auto levelBuf = llvm::MemoryBuffer::getFile(dir + "/level");
    auto typeBuf = llvm::MemoryBuffer::getFile(dir + "/type");
    auto sizeBuf = llvm::MemoryBuffer::getFile(dir + "/size");
    if (!levelBuf || !typeBuf || !sizeBuf)
      break;
    if ((*levelBuf)->getBuffer().trim() != std::to_string(level) ||
        (*typeBuf)->getBuffer().trim() == "Instruction")
      continue;
    StringRef size = (*sizeBuf)->getBuffer().trim();
    int64_t scale = 1;
    if (size.consume_back("K"))
      scale = 1024;
    else if (size.consume_back("M"))
      scale = 1024 * 1024;
    int64_t value = 0;
    if (!size.getAsInteger(10, value))
      return value * scale;
  }
  return 0;
}

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

/// x86-64: vector width and registers from the features the CPU implies.
static llvm::Error describeX86(TargetDesc &desc, bool host) {
  llvm::StringMap<bool> features;
  if (host) {
    features = llvm::sys::getHostCPUFeatures();
  } else {
    if (desc.cpu != "generic" &&
        llvm::X86::parseArchX86(desc.cpu, /*Only64Bit=*/true) ==
        llvm::X86::CK_None)
      return llvm::createStringError(
          "--mcpu '" + desc.cpu +
          "' is not an x86-64 CPU LLVM knows (e.g. x86-64-v3, skylake-avx512, "
          "sapphirerapids, znver4)");
    llvm::SmallVector<llvm::StringRef> implied;
    llvm::X86::getFeaturesForCPU(desc.cpu, implied);
    for (llvm::StringRef feature : implied)
      features[feature] = true;
  }
  // Explicit --mattr entries override what the CPU implies.
  llvm::SmallVector<llvm::StringRef> explicitFeatures;
  llvm::StringRef(desc.features).split(explicitFeatures, ',', -1, false);
  for (llvm::StringRef feature : explicitFeatures)
    features[feature.drop_front()] = feature[0] == '+';
  desc.features = joinFeatures(features);
  auto has = [&](llvm::StringRef name) {
    auto it = features.find(name);
    return it != features.end() && it->second;
  };
  desc.vectorBits = has("avx512f") ? 512 : has("avx") ? 256 : 128;
  desc.vectorRegisters = has("avx512f") ? 32 : 16;
  if (host) {
    if (int64_t l1 = hostCacheBytes(1))
      desc.l1Bytes = l1;
    if (int64_t l2 = hostCacheBytes(2))
      desc.l2Bytes = l2;
  } else {
    desc.l1Bytes = 32 * 1024;
    desc.l2Bytes = has("avx512f") ? 1024 * 1024 : 512 * 1024;
  }
  return llvm::Error::success();
}

/// Cache sizes of AArch64 cores by LLVM CPU name (per core L1D, L2).
static std::pair<int64_t, int64_t> aarch64Caches(llvm::StringRef cpu) {
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

/// AArch64: NEON (128-bit, 32 registers) everywhere; with SVE the code is
/// vector-length agnostic and 128 bits is the minimum. Features come from
/// the CPU name plus --mattr, as LLVM's subtarget resolves them.
static llvm::Error describeAArch64(TargetDesc &desc, const llvm::Target &t) {
  // Checked before creating the subtarget, which would only warn.
  if (desc.cpu != "generic" && !llvm::AArch64::parseCpu(desc.cpu))
    return llvm::createStringError("--mcpu '" + desc.cpu +
                                   "' is not an AArch64 CPU LLVM knows "
                                   "(e.g. neoverse-n1, neoverse-v1, "
                                   "cortex-a76, apple-m1)");
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      t.createMCSubtargetInfo(desc.triple, desc.cpu, desc.features));
  if (!subtarget)
    return llvm::createStringError("--mcpu '" + desc.cpu +
                                   "' is not an AArch64 CPU LLVM knows "
                                   "(e.g. neoverse-n1, neoverse-v1, "
                                   "cortex-a76, apple-m1)");
  desc.scalable = subtarget->checkFeatures("+sve");
  desc.vectorBits = 128;
  desc.vectorRegisters = 32;
  std::tie(desc.l1Bytes, desc.l2Bytes) = aarch64Caches(desc.cpu);
  return llvm::Error::success();
}

llvm::Expected<TargetDesc> mlir::llm::describeTarget(llvm::StringRef triple,
                                                     llvm::StringRef cpu,
                                                     llvm::StringRef features) {
  TargetDesc desc;
  bool host = triple.empty() && cpu.empty();
  llvm::Triple parsed(triple.empty() ? llvm::sys::getDefaultTargetTriple()
                                     : llvm::Triple::normalize(triple));
  desc.triple = parsed.str();
  desc.cpu = cpu.empty() ? (host ? llvm::sys::getHostCPUName().str()
                                 : std::string("generic"))
                         : cpu.str();
  if (cpu == "native" &&
      parsed.getArch() !=
          llvm::Triple(llvm::sys::getDefaultTargetTriple()).getArch())
    return llvm::createStringError("--mcpu=native names this machine's CPU, "
                                   "which cannot run " + desc.triple +
                                   " code: name the target's CPU");
  if (cpu == "native") {
    desc.cpu = llvm::sys::getHostCPUName().str();
    host = true;
  }
  desc.features = features.str();
  llvm::SmallVector<llvm::StringRef> explicitFeatures;
  features.split(explicitFeatures, ',', -1, false);
  for (llvm::StringRef feature : explicitFeatures)
    if (feature.size() < 2 || (feature[0] != '+' && feature[0] != '-'))
      return llvm::createStringError("--mattr: '" + feature.str() +
                                     "' must start with + or -");

  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargetMCs();
  std::string error;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(desc.triple, error);
  if (!t)
    return llvm::createStringError("--target '" + desc.triple +
                                   "': " + error);
  switch (parsed.getArch()) {
  case llvm::Triple::x86_64:
    if (llvm::Error err = describeX86(desc, host))
      return std::move(err);
    return desc;
  case llvm::Triple::aarch64:
    if (llvm::Error err = describeAArch64(desc, *t))
      return std::move(err);
    return desc;
  default:
    return llvm::createStringError("--target '" + desc.triple +
                                   "': llmc has no code generator for this "
                                   "architecture yet (supported: x86_64, "
                                   "aarch64)");
  }
}
