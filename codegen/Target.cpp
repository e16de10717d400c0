//===- Target.cpp - Target-independent parts of describing and linking ----===//

#include "codegen/Target.h"

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::llm;

TargetBackend::~TargetBackend() = default;

int64_t mlir::llm::hostCacheBytes(int level) {
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

llvm::Expected<TargetAttr> mlir::llm::describeTarget(MLIRContext *context,
                                                     StringRef triple,
                                                     StringRef cpu,
                                                     StringRef features) {
  TargetRequest request;
  request.host = triple.empty() && cpu.empty();
  request.triple =
      llvm::Triple(triple.empty() ? llvm::sys::getDefaultTargetTriple()
                                  : llvm::Triple::normalize(triple));
  std::string name = request.triple.str();
  request.cpu = cpu.empty() ? (request.host ? llvm::sys::getHostCPUName().str()
                                            : std::string("generic"))
                            : cpu.str();
  if (cpu == "native") {
    if (request.triple.getArch() !=
        llvm::Triple(llvm::sys::getDefaultTargetTriple()).getArch())
      return llvm::createStringError("--mcpu=native names this machine's CPU, "
                                     "which cannot run " +
                                     name + " code: name the target's CPU");
    request.cpu = llvm::sys::getHostCPUName().str();
    request.host = true;
  }
  request.features = features.str();
  llvm::SmallVector<StringRef> explicitFeatures;
  features.split(explicitFeatures, ',', -1, false);
  for (StringRef feature : explicitFeatures)
    if (feature.size() < 2 || (feature[0] != '+' && feature[0] != '-'))
      return llvm::createStringError("--mattr: '" + feature.str() +
                                     "' must start with + or -");

  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargetMCs();
  std::string error;
  request.llvmTarget = llvm::TargetRegistry::lookupTarget(name, error);
  if (!request.llvmTarget)
    return llvm::createStringError("--target '" + name + "': " + error);
  // An unknown feature would be ignored with a warning per LLVM module.
  if (!explicitFeatures.empty()) {
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        request.llvmTarget->createMCSubtargetInfo(name, "", ""));
    if (info) {
      llvm::ArrayRef<llvm::SubtargetFeatureKV> known =
          info->getAllProcessorFeatures();
      for (StringRef feature : explicitFeatures) {
        StringRef bare = feature.drop_front();
        if (llvm::any_of(known, [&](const llvm::SubtargetFeatureKV &kv) {
              return bare == kv.Key;
            }))
          continue;
        std::string message =
            "--mattr: '" + bare.str() + "' is not a feature of " + name;
        StringRef nearest;
        unsigned best = ~0u;
        for (const llvm::SubtargetFeatureKV &kv : known) {
          unsigned distance = bare.edit_distance(kv.Key);
          if (distance < best) {
            best = distance;
            nearest = kv.Key;
          }
        }
        if (best <= std::max<size_t>(1, bare.size() / 3))
          message += "; did you mean '" + std::string(1, feature[0]) +
                     nearest.str() + "'?";
        return llvm::createStringError(message);
      }
    }
  }
  const TargetBackend *backend = lookupTargetBackend(request.triple);
  if (!backend)
    return llvm::createStringError(
        "--target '" + name +
        "': llmc has no code generator for this architecture yet "
        "(supported: " +
        listTargetBackends() + ")");
  return backend->describe(context, request);
}

llvm::Error mlir::llm::linkExecutable(TargetAttr target, StringRef object,
                                      StringRef output, StringRef runtimeDir,
                                      ArrayRef<StringRef> extraArchives) {
  llvm::Triple triple(target.getTriple());
  llvm::Triple host(llvm::sys::getProcessTriple());
#ifdef LLMC_LINK_CXX
  // A sanitized runtime links with the compiler that built it.
  CrossLinkRecipe recipe{"", "LLMC_CXX", LLMC_LINK_CXX, false, ""};
#else
  CrossLinkRecipe recipe{"", "LLMC_CXX", "c++", false, ""};
#endif
  if (!(triple.isOSLinux() && host.isOSLinux() &&
        triple.getArch() == host.getArch())) {
    const TargetBackend *backend = lookupTargetBackend(triple);
    std::optional<CrossLinkRecipe> cross = backend && triple.isOSLinux()
                                               ? backend->getCrossLinkRecipe()
                                               : std::nullopt;
    if (!cross)
      return llvm::createStringError("no runtime for target " + triple.str() +
                                     " (llmc links executables for " +
                                     host.str() +
                                     " and cross targets with a "
                                     "runtime built for them)");
    recipe = *cross;
  }
  bool cross = !recipe.installHint.empty();

  llvm::SmallString<256> dir(runtimeDir);
  if (!recipe.runtimeSubdir.empty())
    llvm::sys::path::append(dir, recipe.runtimeSubdir);
  llvm::SmallString<256> main(dir), runtime(dir);
  llvm::sys::path::append(main, "libllmc_runtime_main.a");
  llvm::sys::path::append(runtime, "libllmc_runtime.a");
  std::vector<std::string> archives;
  for (StringRef name : extraArchives) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    archives.push_back(path.str().str());
  }

  std::string compiler = llvm::sys::Process::GetEnv(recipe.driverEnv)
                             .value_or(recipe.defaultDriver.str());
  llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(compiler);
  if (!path) {
    if (cross)
      return llvm::createStringError("cannot find '" + compiler +
                                     "' to link: " + recipe.installHint.str() +
                                     " (or set " + recipe.driverEnv.str() +
                                     ")");
    return llvm::createStringError("cannot find the C++ compiler driver '" +
                                   compiler + "' to link (set LLMC_CXX)");
  }

  std::vector<StringRef> libs = {main, runtime};
  libs.insert(libs.end(), archives.begin(), archives.end());
  for (StringRef lib : libs)
    if (!llvm::sys::fs::exists(lib)) {
      if (cross)
        return llvm::createStringError(
            "runtime library " + lib.str() +
            " not found: " + recipe.installHint.str() +
            ", then re-run cmake and rebuild llmc (or set LLMC_RUNTIME_DIR)");
      return llvm::createStringError("runtime library " + lib.str() +
                                     " not found (set LLMC_RUNTIME_DIR)");
    }

  // The extra archives first: they use the runtime, and the object's
  // references pull them in.
  llvm::SmallVector<StringRef> args = {*path, object, main};
  args.append(archives.begin(), archives.end());
  args.push_back(runtime);
  if (!archives.empty())
    args.push_back("-ldl");
  if (recipe.linkStatic)
    args.push_back("-static");
#ifdef LLMC_LINK_SANITIZE
  // The host runtime of a sanitizer build is instrumented (cross runtimes
  // are not).
  if (!cross)
    args.push_back("-fsanitize=" LLMC_LINK_SANITIZE);
#endif
  args.append({"-lpthread", "-lm", "-o", output});
  std::string message;
  int rc =
      llvm::sys::ExecuteAndWait(*path, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return llvm::createStringError("linking " + output.str() + " with " +
                                   *path + " failed" +
                                   (message.empty() ? "" : ": " + message));
  return llvm::Error::success();
}
