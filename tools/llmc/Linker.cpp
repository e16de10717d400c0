//===- Linker.cpp - Link generated objects with the runtime ---------------===//

#include "tools/llmc/Linker.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

using namespace llvm;

static std::string runtimeDir(const char *argv0) {
  if (std::optional<std::string> dir = sys::Process::GetEnv("LLMC_RUNTIME_DIR"))
    return *dir;
  std::string exe = sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&runtimeDir));
  SmallString<256> dir(sys::path::parent_path(sys::path::parent_path(exe)));
  sys::path::append(dir, "lib");
  return std::string(dir);
}

Error llmc::linkExecutable(StringRef object, StringRef output,
                           const char *argv0) {
  std::string dir = runtimeDir(argv0);
  SmallString<256> main(dir), runtime(dir);
  sys::path::append(main, "libllmc_runtime_main.a");
  sys::path::append(runtime, "libllmc_runtime.a");
  for (StringRef lib : {StringRef(main), StringRef(runtime)})
    if (!sys::fs::exists(lib))
      return createStringError("runtime library " + lib.str() +
                               " not found (set LLMC_RUNTIME_DIR)");
  std::string compiler =
      sys::Process::GetEnv("LLMC_CXX").value_or(std::string("c++"));
  ErrorOr<std::string> path = sys::findProgramByName(compiler);
  if (!path)
    return createStringError("cannot find the C++ compiler driver '" +
                             compiler + "' to link (set LLMC_CXX)");
  SmallVector<StringRef> args = {*path, object, main, runtime, "-lpthread",
                                 "-lm", "-o", output};
  std::string message;
  int rc = sys::ExecuteAndWait(*path, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return createStringError("linking " + output.str() + " with " + *path +
                             " failed" +
                             (message.empty() ? "" : ": " + message));
  return Error::success();
}
