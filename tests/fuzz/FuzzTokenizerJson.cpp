//===- FuzzTokenizerJson.cpp - tokenizer.json on arbitrary bytes ----------===//
//
// What llmc accepts must be an image the runtime loads.
//
//===----------------------------------------------------------------------===//

#include "frontend/TokenizerJson.h"
#include "runtime/Tokenizer.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::Expected<std::string> image = llmc::compileTokenizerJson(
      llvm::StringRef(reinterpret_cast<const char *>(data), size));
  if (!image) {
    llvm::consumeError(image.takeError());
    return 0;
  }
  llmc::Tokenizer tokenizer;
  std::string error;
  if (!tokenizer.loadImage(*image, error))
    std::abort();
  return 0;
}
