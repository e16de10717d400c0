//===- FuzzTokenizer.cpp - Tokenizer images and encoding on arbitrary bytes ==//
//
// Arbitrary bytes as a tokenizer image must load or be refused; arbitrary
// bytes as text must encode with the Llama 3 style fixture tokenizer and
// decode back to exactly the same bytes (byte-level BPE loses nothing), with
// and without matching special tokens.
//
//===----------------------------------------------------------------------===//

#include "frontend/TokenizerJson.h"
#include "runtime/Tokenizer.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace {
const llmc::Tokenizer &fixture() {
  static llmc::Tokenizer tokenizer = [] {
    llmc::Tokenizer t;
    llvm::Expected<std::string> image =
        llmc::compileTokenizerJsonFile(LLMC_FUZZ_TOKENIZER_JSON);
    std::string error;
    if (!image || !t.loadImage(*image, error)) {
      llvm::errs() << "cannot load the fixture tokenizer\n";
      std::abort();
    }
    return t;
  }();
  return tokenizer;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  llmc::Tokenizer loaded;
  std::string error;
  if (loaded.loadImage(bytes, error))
    (void)loaded.decode(loaded.encode("hello <|eot_id|> world"));
  const llmc::Tokenizer &tokenizer = fixture();
  for (bool special : {true, false}) {
    std::vector<int64_t> ids =
        tokenizer.encode(std::vector<llmc::Tokenizer::Part>{{bytes, special}});
    if (tokenizer.decode(ids) != bytes)
      std::abort();
  }
  return 0;
}
