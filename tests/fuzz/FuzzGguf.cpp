//===- FuzzGguf.cpp - GGUF files on arbitrary bytes -----------------------===//
//
// Parses the input as a GGUF file; when it parses, reads it as a llama
// model, expands every tensor the model serves and compiles its tokenizer.
//
//===----------------------------------------------------------------------===//

#include "frontend/GgufModel.h"
#include "frontend/LlamaTensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  llvm::Expected<std::unique_ptr<llmc::GgufFile>> file =
      llmc::GgufFile::parse("fuzz.gguf", bytes);
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  llvm::Expected<std::unique_ptr<llmc::GgufModel>> model =
      llmc::GgufModel::fromFile(std::move(*file));
  if (!model) {
    llvm::consumeError(model.takeError());
    return 0;
  }
  for (const llmc::CheckpointTensor &tensor :
       llmc::checkpointTensors((*model)->spec())) {
    const llmc::TensorView *view = (*model)->find(tensor.name);
    if (!view || view->numElements() == 0)
      __builtin_trap(); // validated tensors are always served
    volatile float last = view->at(view->numElements() - 1);
    (void)last;
  }
  llvm::Expected<std::string> tokenizer = (*model)->compileTokenizer();
  if (!tokenizer)
    llvm::consumeError(tokenizer.takeError());
  return 0;
}
