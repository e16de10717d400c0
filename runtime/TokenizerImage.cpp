//===- TokenizerImage.cpp - Loads the image of a compiled tokenizer -------===//
//
// The layout is runtime/abi/TokenizerImage.h's; `llmc compile` writes it
// (frontend/TokenizerJson.cpp).
//
//===----------------------------------------------------------------------===//

#include "runtime/Tokenizer.h"

#include "runtime/abi/TokenizerImage.h"

#include <cstring>

using namespace llmc;
using namespace llmc::tokenizer_image;

namespace {

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

bool Tokenizer::loadImage(const std::string &data, std::string &error) {
  error = "the packed tokenizer image is truncated or corrupt";
  if (data.size() < sizeof(kMagic) ||
      std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0)
    return false;
  Reader r(data);
  uint8_t flag;
  if (!r.skip(sizeof(kMagic)) || !r.scalar(flag) || !r.skip(kHeaderPadding))
    return false;
  ignoreMerges = flag != 0;
  uint64_t n;
  if (!r.count(n, kMinIdRecord))
    return false;
  idToBytes.assign(n, std::string());
  for (std::string &bytes : idToBytes)
    if (!r.string(bytes))
      return false;
  if (!r.count(n, kMinTokenRecord))
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
  if (!r.count(n, kMinMergeRecord))
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
  if (!r.count(n, kMinTokenRecord))
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
  for (int b = 0; b < kByteCount; ++b)
    if (!r.string(byteSpelling[b]) || !r.scalar(byteToken[b]))
      return false;
  error.clear();
  return true;
}
