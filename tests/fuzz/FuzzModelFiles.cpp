//===- FuzzModelFiles.cpp - config.json, model cards, safetensors headers -===//
//
// The first byte picks the loader (config.json, a YAML card, a sharded
// index, a safetensors header); the rest is the file.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelCard.h"
#include "frontend/ModelSpec.h"
#include "frontend/Weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  llvm::StringRef text(reinterpret_cast<const char *>(data) + 1, size - 1);
  switch (data[0] % 4) {
  case 0:
    llvm::consumeError(
        llmc::parseHFConfigText(text, "config.json").takeError());
    break;
  case 1:
    llvm::consumeError(llmc::parseModelCardText(text, "card.yaml").takeError());
    break;
  case 2:
    llvm::consumeError(
        llmc::parseSafetensorsIndex(text, "model.safetensors.index.json")
            .takeError());
    break;
  default: {
    std::vector<llmc::TensorView> tensors;
    llvm::consumeError(
        llmc::parseSafetensors("model.safetensors", text, tensors));
    break;
  }
  }
  return 0;
}
