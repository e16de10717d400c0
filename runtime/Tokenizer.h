//===- Tokenizer.h - Byte-level BPE tokenizer from tokenizer.json ---------===//
//
// Reads a Hugging Face tokenizer.json (BPE model with GPT-2 style byte-level
// pre-tokenization, as Llama 3 uses) and encodes and decodes text. The Llama 3
// split regex is approximated by hand: exact for ASCII, and for other code
// points through a small table of Unicode letter, number and whitespace ranges.
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
  /// Loads the tokenizer from the text of a tokenizer.json. On failure
  /// returns false and sets `error`.
  bool load(const std::string &json, std::string &error);

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
  int64_t vocabSize() const { return int64_t(idToToken.size()); }

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

  void encodePiece(const std::string &piece, std::vector<int64_t> &out) const;

  std::unordered_map<std::string, int64_t> vocab;
  /// Vocabulary spelling (byte-level) or added-token content, by id.
  std::vector<std::string> idToToken;
  std::vector<bool> isAddedToken;
  /// (left id << 32 | right id) -> merge rank and resulting id.
  std::unordered_map<uint64_t, Merge> merges;
  /// Added tokens, grouped by their first byte for matching in text.
  std::vector<AddedToken> addedByFirstByte[256];
  /// The byte-level spelling and the id of each single-byte token.
  std::string byteSpelling[256];
  int64_t byteToken[256];
  /// Inverse of the byte-level mapping: code point -> byte.
  std::unordered_map<uint32_t, uint8_t> unicodeToByte;
  bool ignoreMerges = false;
};

} // namespace llmc

#endif // LLMC_RUNTIME_TOKENIZER_H
