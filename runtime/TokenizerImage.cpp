//===- TokenizerImage.cpp - Binary image of a loaded tokenizer -------------===//
//
// Layout (native byte order; the image is written on the compiling machine
// for a target of the same byte order: x86-64 and AArch64 are both little
// endian):
//   "LLMCTOK1", u8 ignoreMerges, 7 bytes padding
//   u64 n, then n x (u32 length, bytes): the bytes of every id
//   u64 n, then n x (u32 length, bytes, i64 id): the vocabulary spellings
//   u64 n, then n x (u64 key, i32 rank, i32 result): the merges
//   u64 n, then n x (u32 length, bytes, i64 id): the added tokens
//   256 x (u32 length, bytes, i64 id): each byte's spelling and token
//
//===----------------------------------------------------------------------===//

#include "runtime/Tokenizer.h"

#include <algorithm>
#include <cstring>

using namespace llmc;

static const char kMagic[8] = {'L', 'L', 'M', 'C', 'T', 'O', 'K', '1'};

namespace {

class Writer {
public:
  template <typename T> void scalar(T value) {
    out.append(reinterpret_cast<const char *>(&value), sizeof(T));
  }
  void string(const std::string &s) {
    scalar<uint32_t>(uint32_t(s.size()));
    out += s;
  }
  std::string out;
};

class Reader {
public:
  explicit Reader(const std::string &data) : data(data) {}
  template <typename T> bool scalar(T &value) {
    if (data.size() - pos < sizeof(T))
      return false;
    std::memcpy(&value, data.data() + pos, sizeof(T));
    pos += sizeof(T);
    return true;
  }
  bool string(std::string &s) {
    uint32_t size;
    if (!scalar(size) || data.size() - pos < size)
      return false;
    s.assign(data.data() + pos, size);
    pos += size;
    return true;
  }
  /// A count of records each at least `minBytes` long, checked against
  /// what is left so a corrupt count cannot make us allocate wildly.
  bool count(uint64_t &n, size_t minBytes) {
    return scalar(n) && n <= (data.size() - pos) / minBytes;
  }
  bool skip(size_t n) {
    if (data.size() - pos < n)
      return false;
    pos += n;
    return true;
  }

private:
  const std::string &data;
  size_t pos = 0;
};

} // namespace

bool Tokenizer::isImage(const std::string &data) {
  return data.size() >= sizeof(kMagic) &&
         std::memcmp(data.data(), kMagic, sizeof(kMagic)) == 0;
}

std::string Tokenizer::serialize() const {
  Writer w;
  w.out.append(kMagic, sizeof(kMagic));
  w.scalar<uint8_t>(ignoreMerges ? 1 : 0);
  w.out.append(7, '\0');
  w.scalar<uint64_t>(idToBytes.size());
  for (const std::string &bytes : idToBytes)
    w.string(bytes);
  // Hash tables iterate in no particular order: sort so that the same
  // tokenizer always gives the same bytes (reproducible weight files).
  std::vector<const std::pair<const std::string, int64_t> *> entries;
  entries.reserve(vocab.size());
  for (const auto &entry : vocab)
    entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(), [](auto *a, auto *b) {
    return a->second != b->second ? a->second < b->second : a->first < b->first;
  });
  w.scalar<uint64_t>(entries.size());
  for (const auto *entry : entries) {
    w.string(entry->first);
    w.scalar<int64_t>(entry->second);
  }
  std::vector<std::pair<uint64_t, Merge>> sorted(merges.begin(), merges.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  w.scalar<uint64_t>(sorted.size());
  for (const auto &[key, merge] : sorted) {
    w.scalar<uint64_t>(key);
    w.scalar<int32_t>(merge.rank);
    w.scalar<int32_t>(merge.result);
  }
  uint64_t added = 0;
  for (const std::vector<AddedToken> &group : addedByFirstByte)
    added += group.size();
  w.scalar<uint64_t>(added);
  // Groups are stored in order, so reading them back in order restores the
  // longest-first order within each group.
  for (const std::vector<AddedToken> &group : addedByFirstByte)
    for (const AddedToken &token : group) {
      w.string(token.content);
      w.scalar<int64_t>(token.id);
    }
  for (int b = 0; b < 256; ++b) {
    w.string(byteSpelling[b]);
    w.scalar<int64_t>(byteToken[b]);
  }
  return std::move(w.out);
}

bool Tokenizer::loadImage(const std::string &data, std::string &error) {
  error = "the packed tokenizer image is truncated or corrupt";
  if (!isImage(data))
    return false;
  Reader r(data);
  uint8_t flag;
  if (!r.skip(sizeof(kMagic)) || !r.scalar(flag) || !r.skip(7))
    return false;
  ignoreMerges = flag != 0;
  uint64_t n;
  if (!r.count(n, 4))
    return false;
  idToBytes.assign(n, std::string());
  for (std::string &bytes : idToBytes)
    if (!r.string(bytes))
      return false;
  if (!r.count(n, 12))
    return false;
  vocab.clear();
  vocab.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string spelling;
    int64_t id;
    if (!r.string(spelling) || !r.scalar(id) || id < 0 ||
        id >= int64_t(idToBytes.size()))
      return false;
    vocab.emplace(std::move(spelling), id);
  }
  if (!r.count(n, 16))
    return false;
  merges.clear();
  merges.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t key;
    Merge merge;
    if (!r.scalar(key) || !r.scalar(merge.rank) || !r.scalar(merge.result) ||
        merge.result < 0 || merge.result >= int64_t(idToBytes.size()))
      return false;
    merges.emplace(key, merge);
  }
  if (!r.count(n, 12))
    return false;
  for (std::vector<AddedToken> &group : addedByFirstByte)
    group.clear();
  for (uint64_t i = 0; i < n; ++i) {
    AddedToken token;
    if (!r.string(token.content) || !r.scalar(token.id) ||
        token.content.empty() || token.id < 0 ||
        token.id >= int64_t(idToBytes.size()))
      return false;
    addedByFirstByte[uint8_t(token.content[0])].push_back(std::move(token));
  }
  for (int b = 0; b < 256; ++b)
    if (!r.string(byteSpelling[b]) || !r.scalar(byteToken[b]))
      return false;
  error.clear();
  return true;
}
