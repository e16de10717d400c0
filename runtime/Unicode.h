//===- Unicode.h - UTF-8 decoding and the character classes of BPE --------===//
//
// What the Llama 3 pre-tokenizer needs from Unicode: decoding UTF-8 that may
// be invalid, and the classes \p{L}, \p{N} and \s. The class tables are
// generated (UnicodeTables.cpp) from the regular expressions of the reference
// tokenizer, so that the split agrees with it code point for code point.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_UNICODE_H
#define LLMC_RUNTIME_UNICODE_H

#include <cstddef>
#include <cstdint>

namespace llmc {
namespace unicode {

/// Returned by decodeUtf8 for a byte that does not start a valid sequence.
constexpr uint32_t kInvalid = 0xFFFFFFFFu;

/// Decodes the code point at `s[0]` (`size` > 0 bytes available) and sets
/// `len` to its length in bytes. A byte that does not start a well-formed
/// sequence (stray continuation, truncated, overlong, surrogate, beyond
/// U+10FFFF) decodes as kInvalid with `len` 1, so it travels as a raw byte.
uint32_t decodeUtf8(const char *s, size_t size, size_t &len);

/// An inclusive range of code points.
struct Range {
  uint32_t first, last;
};

/// Sorted, disjoint ranges of \p{L}, \p{N} and \s (JavaScript's \s: Unicode
/// White_Space without U+0085, plus U+FEFF), in UnicodeTables.cpp.
extern const Range kLetterRanges[];
extern const size_t kNumLetterRanges;
extern const Range kNumberRanges[];
extern const size_t kNumNumberRanges;
extern const Range kSpaceRanges[];
extern const size_t kNumSpaceRanges;

/// The classes the Llama 3 pre-tokenizer regex distinguishes.
enum class CharClass : uint8_t { Letter, Number, Space, Other };

/// The class of a code point; kInvalid is Other.
CharClass classify(uint32_t cp);

} // namespace unicode
} // namespace llmc

#endif // LLMC_RUNTIME_UNICODE_H
