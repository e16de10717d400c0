//===- TokenizerImage.h - Binary image of a compiled tokenizer ------------===//
//
// `llmc compile` reads the model's tokenizer.json (frontend/TokenizerJson.h)
// and packs this image after the weights; an executable's runtime loads it
// (runtime/Tokenizer.h) without parsing 9 MB of JSON or looking up 280k
// merges by string. Part of llmc_abi: plain C++17, included by both sides.
//
// Layout (native byte order; the image is written on the compiling machine
// for a target of the same byte order: x86-64 and AArch64 are both little
// endian). A string is a u32 length and that many bytes.
//   header: kMagic, u8 ignore_merges (0 or 1), 7 zero bytes
//   u64 n, then n x string: the bytes of every id, indexed by id
//   u64 n, then n x (string, i64 id): the vocabulary spellings, sorted by id
//       then spelling
//   u64 n, then n x (u64 key, i32 rank, i32 result id): the merges, sorted by
//       key (see mergeKey)
//   u64 n, then n x (string, i64 id): the added tokens, grouped by first byte
//       in byte order, each group longest first (then by content)
//   kByteCount x (string, i64 id): each byte's byte-level spelling and token
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ABI_TOKENIZERIMAGE_H
#define LLMC_RUNTIME_ABI_TOKENIZERIMAGE_H

#include <cstddef>
#include <cstdint>

namespace llmc {
namespace tokenizer_image {

/// The first bytes of every image.
constexpr char kMagic[8] = {'L', 'L', 'M', 'C', 'T', 'O', 'K', '1'};
/// Zero bytes after the ignore_merges flag, so the sections start 8-aligned.
constexpr size_t kHeaderPadding = 7;
/// Tokens with a single byte: the last section has one record for each.
constexpr int kByteCount = 256;

/// The smallest record of each counted section, in bytes. The runtime checks
/// every count against what is left of the image, so a corrupt count cannot
/// make it allocate wildly.
constexpr size_t kMinIdRecord = 4;     // string
constexpr size_t kMinTokenRecord = 12; // string, i64 id
constexpr size_t kMinMergeRecord = 16; // u64 key, i32 rank, i32 result

/// The pre-tokenizer regex the runtime implements (Tokenizer::preTokenize).
/// The compiler refuses a tokenizer.json whose Split pattern differs.
constexpr const char *kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/// The key of the merge of the adjacent tokens `left` and `right`.
constexpr uint64_t mergeKey(int64_t left, int64_t right) {
  return (uint64_t(left) << 32) | uint64_t(right);
}

} // namespace tokenizer_image
} // namespace llmc

#endif // LLMC_RUNTIME_ABI_TOKENIZERIMAGE_H
