//===- Linker.cpp - Link generated objects with the runtime ---------------===//

#include "tools/llmc/Linker.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace llvm;

namespace {

/// How to link for one target.
struct LinkRecipe {
  /// Subdirectory of the runtime directory holding this target's runtime.
  StringRef runtimeSubdir;
  /// Environment variable naming the driver, and the default driver.
  StringRef driverEnv, defaultDriver;
  bool linkStatic;
  /// What to install when the driver or the runtime is missing ("" for the
  /// host, whose runtime is built with llmc itself).
  StringRef installHint;
};

constexpr const char *kAArch64Hint =
    "--target aarch64-linux-gnu needs the AArch64 cross toolchain: apt-get "
    "install g++-aarch64-linux-gnu libc6-dev-arm64-cross";

} // namespace

static std::string runtimeDir(const char *argv0) {
  if (std::optional<std::string> dir = sys::Process::GetEnv("LLMC_RUNTIME_DIR"))
    return *dir;
  std::string exe = sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&runtimeDir));
  SmallString<256> dir(sys::path::parent_path(sys::path::parent_path(exe)));
  sys::path::append(dir, "lib");
  return std::string(dir);
}

static Expected<LinkRecipe> recipeFor(StringRef tripleName) {
  Triple host(sys::getProcessTriple());
  if (tripleName.empty())
    return LinkRecipe{"", "LLMC_CXX", "c++", false, ""};
  Triple target(Triple::normalize(tripleName));
  if (target.isOSLinux() && target.getArch() == host.getArch() &&
      host.isOSLinux())
    return LinkRecipe{"", "LLMC_CXX", "c++", false, ""};
  if (target.isOSLinux() && target.getArch() == Triple::aarch64)
    return LinkRecipe{"aarch64-linux-gnu", "LLMC_CXX_AARCH64",
                      "aarch64-linux-gnu-g++", true, kAArch64Hint};
  return createStringError("no runtime for target " + tripleName.str() +
                           " (llmc links executables for " + host.str() +
                           " and aarch64-linux-gnu)");
}

Error llmc::linkExecutable(StringRef object, StringRef output,
                           StringRef triple, const char *argv0) {
  Expected<LinkRecipe> recipe = recipeFor(triple);
  if (!recipe)
    return recipe.takeError();
  bool cross = !recipe->installHint.empty();

  SmallString<256> dir(runtimeDir(argv0));
  if (!recipe->runtimeSubdir.empty())
    sys::path::append(dir, recipe->runtimeSubdir);
  SmallString<256> main(dir), runtime(dir);
  sys::path::append(main, "libllmc_runtime_main.a");
  sys::path::append(runtime, "libllmc_runtime.a");

  std::string compiler = sys::Process::GetEnv(recipe->driverEnv)
                             .value_or(recipe->defaultDriver.str());
  ErrorOr<std::string> path = sys::findProgramByName(compiler);
  if (!path) {
    if (cross)
      return createStringError("cannot find '" + compiler + "' to link: " +
                               recipe->installHint.str() + " (or set " +
                               recipe->driverEnv.str() + ")");
    return createStringError("cannot find the C++ compiler driver '" +
                             compiler + "' to link (set LLMC_CXX)");
  }

  for (StringRef lib : {StringRef(main), StringRef(runtime)})
    if (!sys::fs::exists(lib)) {
      if (cross)
        return createStringError(
            "runtime library " + lib.str() + " not found: " +
            recipe->installHint.str() +
            ", then re-run cmake and rebuild llmc (or set LLMC_RUNTIME_DIR)");
      return createStringError("runtime library " + lib.str() +
                               " not found (set LLMC_RUNTIME_DIR)");
    }

  SmallVector<StringRef> args = {*path, object, main, runtime};
  if (recipe->linkStatic)
    args.push_back("-static");
  args.append({"-lpthread", "-lm", "-o", output});
  std::string message;
  int rc = sys::ExecuteAndWait(*path, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return createStringError("linking " + output.str() + " with " + *path +
                             " failed" +
                             (message.empty() ? "" : ": " + message));
  return Error::success();
}
