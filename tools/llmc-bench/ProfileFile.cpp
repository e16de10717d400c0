//===- ProfileFile.cpp - An executable's --profile-out file ---------------===//

#include "ProfileFile.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace llvm;
using namespace llmc::bench;

Expected<ProfileFile> llmc::bench::readProfileFile(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    return createStringError(path + ": " + buffer.getError().message());
  Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
  if (!parsed)
    return createStringError(
        path + ": not valid JSON: " + toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  const json::Array *phases = root ? root->getArray("phases") : nullptr;
  if (!phases)
    return createStringError(path + ": not an executable's --profile-out "
                                    "file (no \"phases\")");
  ProfileFile file;
  file.threads = int(root->getInteger("threads").value_or(0));
  for (const json::Value &phaseValue : *phases) {
    const json::Object *phase = phaseValue.getAsObject();
    const json::Array *modules = phase ? phase->getArray("modules") : nullptr;
    std::optional<StringRef> name =
        phase ? phase->getString("phase") : std::nullopt;
    if (!modules || !name)
      return createStringError(path + ": a phase without a name or modules");
    PhaseTimes &times = file.phases.emplace_back();
    times.name = name->str();
    double forwardNs = phase->getNumber("forward_ns").value_or(0);
    for (const json::Value &moduleValue : *modules) {
      const json::Object *module = moduleValue.getAsObject();
      std::optional<StringRef> moduleName =
          module ? module->getString("name") : std::nullopt;
      if (!moduleName)
        return createStringError(path + ": a module without a name");
      ModuleTime &m = times.modules.emplace_back();
      m.name = moduleName->str();
      m.ns = module->getNumber("ns").value_or(0);
      m.calls = module->getNumber("calls").value_or(0);
      m.kernels = module->getNumber("kernels").value_or(0);
      m.share = forwardNs > 0 ? m.ns / forwardNs : 0;
      m.bytes = module->getNumber("bytes");
      m.flops = module->getNumber("flops");
      m.int8Passes = module->getInteger("int8_dot").value_or(0);
    }
  }
  return file;
}
