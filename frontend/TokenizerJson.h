//===- TokenizerJson.h - tokenizer.json to a packed tokenizer image -------===//
//
// Reads a Hugging Face tokenizer.json (a BPE model with byte-level
// pre-tokenization, as Llama 3 uses) with llvm::json, checks that the runtime
// can tokenize like it, and writes the image the runtime loads
// (runtime/abi/TokenizerImage.h). Parsing happens once, at compile time: a
// broken or unsupported tokenizer.json is a compile-time error.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_TOKENIZERJSON_H
#define LLMC_FRONTEND_TOKENIZERJSON_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llmc {

/// Compiles the text of a tokenizer.json into a tokenizer image. Errors say
/// what is wrong (a JSON error with its line and column, a missing field, an
/// unsupported model or pre-tokenizer) without naming the file.
llvm::Expected<std::string> compileTokenizerJson(llvm::StringRef json);

/// Reads and compiles the tokenizer.json at `path`. Errors start with the
/// path.
llvm::Expected<std::string> compileTokenizerJsonFile(llvm::StringRef path);

/// A byte-level BPE vocabulary as lists, the way a GGUF file stores it
/// (tokenizer.ggml.*).
struct BpeVocabulary {
  /// Each id's byte-level spelling (an added token's text as it is).
  std::vector<llvm::StringRef> tokens;
  /// The ids matched as whole text before BPE (added, special tokens).
  std::vector<bool> added;
  /// "a b" merges, highest priority first.
  std::vector<llvm::StringRef> merges;
  /// A pre-token that is itself in the vocabulary is one token (Llama 3).
  bool ignoreMerges = false;
};

/// Compiles a vocabulary given as lists into a tokenizer image, with the same
/// checks as a tokenizer.json gets.
llvm::Expected<std::string>
compileBpeVocabulary(const BpeVocabulary &vocabulary);

} // namespace llmc

#endif // LLMC_FRONTEND_TOKENIZERJSON_H
