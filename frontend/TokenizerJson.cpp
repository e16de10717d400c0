//===- TokenizerJson.cpp - tokenizer.json to a packed tokenizer image -----===//

#include "frontend/TokenizerJson.h"

#include "frontend/InputFiles.h"

#include "runtime/abi/TokenizerImage.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/EndianStream.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <tuple>
#include <vector>

using namespace llvm;
namespace image = llmc::tokenizer_image;

namespace {

/// Ids at or above this are refused: no vocabulary comes close, and a bad id
/// must not make the id table huge.
constexpr int64_t kMaxId = int64_t(1) << 30;

/// Token ids are dense: the id table is sized by the largest id, so an id far
/// beyond the number of tokens (a 10-entry file with id 10^9) is refused
/// instead of allocating gigabytes.
int64_t idLimit(size_t tokens) {
  return std::min<int64_t>(kMaxId, int64_t(tokens) * 2 + 1024);
}

/// Checks that a pre-tokenizer is the Llama 3 split, a byte-level step
/// without a regex of its own, or a sequence of those.
Error checkPreTokenizer(const json::Value &pre) {
  const json::Object *object = pre.getAsObject();
  std::optional<StringRef> type =
      object ? object->getString("type") : std::nullopt;
  if (!type)
    return createStringError("a pre-tokenizer has no type");
  if (*type == "Sequence") {
    const json::Array *steps = object->getArray("pretokenizers");
    if (!steps)
      return createStringError("a Sequence pre-tokenizer lacks pretokenizers");
    for (const json::Value &step : *steps)
      if (Error error = checkPreTokenizer(step))
        return error;
    return Error::success();
  }
  if (*type == "Split") {
    const json::Object *pattern = object->getObject("pattern");
    std::optional<StringRef> regex =
        pattern ? pattern->getString("Regex") : std::nullopt;
    if (!regex || *regex != image::kLlama3Pattern)
      return createStringError(
          "only the Llama 3 pre-tokenizer split pattern is supported");
    return Error::success();
  }
  if (*type == "ByteLevel") {
    std::optional<bool> useRegex = object->getBoolean("use_regex");
    if (!useRegex || *useRegex)
      return createStringError(
          "a ByteLevel pre-tokenizer with its own (GPT-2) regex "
          "is not supported, only the Llama 3 split");
    return Error::success();
  }
  return createStringError("pre-tokenizer type '" + *type +
                           "' is not supported");
}

/// The two parts of a merge written "a b".
Expected<std::pair<StringRef, StringRef>> splitMerge(StringRef text) {
  size_t space = text.find(' ', 1);
  if (space == StringRef::npos)
    return createStringError("merge '" + text + "' is not 'a b'");
  return std::make_pair(text.take_front(space), text.drop_front(space + 1));
}

/// The two parts of the merge at `rank`, written "a b" or ["a", "b"].
Expected<std::pair<StringRef, StringRef>> mergeParts(const json::Value &merge,
                                                     size_t rank) {
  if (std::optional<StringRef> text = merge.getAsString())
    return splitMerge(*text);
  if (const json::Array *pair = merge.getAsArray(); pair && pair->size() == 2)
    if (std::optional<StringRef> left = (*pair)[0].getAsString())
      if (std::optional<StringRef> right = (*pair)[1].getAsString())
        return std::make_pair(*left, *right);
  return createStringError("merge " + Twine(rank) +
                           " is neither \"a b\" nor [\"a\", \"b\"]");
}

/// The tokenizer a tokenizer.json describes, in the form the image stores.
/// read() checks the sections in a fixed order, so the first problem of a
/// file is always the one reported.
class TokenizerBuilder {
public:
  TokenizerBuilder();
  Error read(const json::Value &root);
  Error read(const llmc::BpeVocabulary &vocabulary);
  std::string writeImage() const;

private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  struct AddedToken {
    std::string content;
    int64_t id;
  };
  using VocabEntry = StringMapEntry<int64_t>;

  Error readVocab(const json::Object &vocabJson);
  void sortVocab();
  Error findByteTokens();
  Error readMerges(const json::Value &mergesJson);
  void addMerge(StringRef left, StringRef right, size_t rank);
  Error readAddedTokens(const json::Value &addedJson);
  std::string bytesOf(StringRef spelling) const;
  void setBytes(int64_t id, std::string bytes);
  std::vector<AddedToken> sortedAddedTokens() const;

  bool ignoreMerges = false;
  /// Byte-level spelling -> id, and its entries sorted by id then spelling.
  StringMap<int64_t> vocab;
  std::vector<const VocabEntry *> vocabById;
  /// The bytes each id stands for (an added token's content for those).
  std::vector<std::string> idToBytes;
  /// mergeKey(left, right) -> the lowest rank merging the pair, its result.
  DenseMap<uint64_t, Merge> merges;
  /// Added tokens in file order.
  std::vector<AddedToken> added;
  /// The byte-level spelling and the token of each byte.
  std::string byteSpelling[image::kByteCount];
  int64_t byteToken[image::kByteCount];
  StringMap<uint8_t> spellingToByte;
};

/// The GPT-2 byte-level alphabet: printable bytes spell themselves, the
/// others code points from 256 on.
TokenizerBuilder::TokenizerBuilder() {
  UTF32 next = 256;
  for (int b = 0; b < image::kByteCount; ++b) {
    bool printable =
        (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    char utf8[UNI_MAX_UTF8_BYTES_PER_CODE_POINT];
    char *end = utf8;
    ConvertCodePointToUTF8(printable ? UTF32(b) : next++, end);
    byteSpelling[b].assign(utf8, end);
    spellingToByte[byteSpelling[b]] = uint8_t(b);
  }
}

Error TokenizerBuilder::read(const json::Value &rootValue) {
  const json::Object *root = rootValue.getAsObject();
  const json::Object *model = root ? root->getObject("model") : nullptr;
  if (!model)
    return createStringError("no \"model\" object");
  if (std::optional<StringRef> type = model->getString("type"))
    if (*type != "BPE")
      return createStringError("model type '" + *type +
                               "' is not supported (only BPE)");
  if (const json::Value *pre = root->get("pre_tokenizer"))
    if (!pre->getAsNull())
      if (Error error = checkPreTokenizer(*pre))
        return error;
  const json::Object *vocabJson = model->getObject("vocab");
  if (!vocabJson)
    return createStringError("no \"model.vocab\" object");
  ignoreMerges = model->getBoolean("ignore_merges").value_or(false);
  if (Error error = readVocab(*vocabJson))
    return error;
  if (Error error = findByteTokens())
    return error;
  if (const json::Value *mergesJson = model->get("merges"))
    if (Error error = readMerges(*mergesJson))
      return error;
  if (const json::Value *addedJson = root->get("added_tokens"))
    if (Error error = readAddedTokens(*addedJson))
      return error;
  return Error::success();
}

Error TokenizerBuilder::readVocab(const json::Object &vocabJson) {
  int64_t limit = idLimit(vocabJson.size());
  for (const auto &entry : vocabJson) {
    std::optional<int64_t> id = entry.second.getAsInteger();
    if (!id || *id < 0)
      return createStringError("vocab entry '" + StringRef(entry.first) +
                               "' has no valid id");
    if (*id >= limit)
      return createStringError("vocab entry '" + StringRef(entry.first) +
                               "' has id " + Twine(*id) + ", beyond " +
                               Twine(limit) + " for " +
                               Twine(vocabJson.size()) + " entries");
    vocab[entry.first] = *id;
  }
  sortVocab();
  return Error::success();
}

void TokenizerBuilder::sortVocab() {
  vocabById.reserve(vocab.size());
  for (const VocabEntry &entry : vocab)
    vocabById.push_back(&entry);
  llvm::sort(vocabById, [](const VocabEntry *a, const VocabEntry *b) {
    return std::make_pair(a->second, a->first()) <
           std::make_pair(b->second, b->first());
  });
  // In this order, not the object's hash order, so that where spellings
  // share an id the result does not depend on the hash function.
  for (const VocabEntry *entry : vocabById)
    setBytes(entry->second, bytesOf(entry->first()));
}

Error TokenizerBuilder::read(const llmc::BpeVocabulary &vocabulary) {
  if (vocabulary.added.size() != vocabulary.tokens.size())
    return createStringError("the token types do not match the tokens (" +
                             Twine(vocabulary.added.size()) + " for " +
                             Twine(vocabulary.tokens.size()) + ")");
  if (vocabulary.tokens.size() >= size_t(kMaxId))
    return createStringError("too many tokens");
  ignoreMerges = vocabulary.ignoreMerges;
  for (auto [id, spelling] : enumerate(vocabulary.tokens)) {
    if (spelling.empty())
      return createStringError("token " + Twine(id) + " is empty");
    if (!vocabulary.added[id])
      vocab.try_emplace(spelling, int64_t(id));
  }
  sortVocab();
  if (Error error = findByteTokens())
    return error;
  merges.reserve(vocabulary.merges.size());
  for (auto [rank, merge] : enumerate(vocabulary.merges)) {
    Expected<std::pair<StringRef, StringRef>> parts = splitMerge(merge);
    if (!parts)
      return parts.takeError();
    addMerge(parts->first, parts->second, rank);
  }
  for (auto [id, spelling] : enumerate(vocabulary.tokens))
    if (vocabulary.added[id]) {
      setBytes(int64_t(id), spelling.str());
      added.push_back({spelling.str(), int64_t(id)});
    }
  return Error::success();
}

Error TokenizerBuilder::findByteTokens() {
  for (int b = 0; b < image::kByteCount; ++b) {
    auto it = vocab.find(byteSpelling[b]);
    if (it == vocab.end())
      return createStringError("vocab has no token for byte " + Twine(b) +
                               " (not a byte-level BPE vocabulary)");
    byteToken[b] = it->second;
  }
  return Error::success();
}

Error TokenizerBuilder::readMerges(const json::Value &mergesJson) {
  const json::Array *list = mergesJson.getAsArray();
  if (!list)
    return createStringError("\"model.merges\" is not an array");
  merges.reserve(list->size());
  for (auto [rank, merge] : enumerate(*list)) {
    Expected<std::pair<StringRef, StringRef>> parts = mergeParts(merge, rank);
    if (!parts)
      return parts.takeError();
    addMerge(parts->first, parts->second, rank);
  }
  return Error::success();
}

void TokenizerBuilder::addMerge(StringRef leftPart, StringRef rightPart,
                                size_t rank) {
  // Merges whose parts or result are not in the vocabulary can never apply;
  // skip them like a missing pair.
  auto left = vocab.find(leftPart);
  auto right = vocab.find(rightPart);
  if (left == vocab.end() || right == vocab.end())
    return;
  auto result = vocab.find((leftPart + rightPart).str());
  if (result == vocab.end())
    return;
  merges.try_emplace(image::mergeKey(left->second, right->second),
                     Merge{int32_t(rank), int32_t(result->second)});
}

Error TokenizerBuilder::readAddedTokens(const json::Value &addedJson) {
  const json::Array *list = addedJson.getAsArray();
  if (!list)
    return createStringError("\"added_tokens\" is not an array");
  int64_t limit = idLimit(vocab.size() + list->size());
  for (const json::Value &token : *list) {
    const json::Object *object = token.getAsObject();
    std::optional<double> id = object ? object->getNumber("id") : std::nullopt;
    std::optional<StringRef> content =
        object ? object->getString("content") : std::nullopt;
    if (!id || *id < 0 || *id >= double(limit) || !content || content->empty())
      return createStringError("an added token lacks a valid id or content");
    setBytes(int64_t(*id), content->str());
    added.push_back({content->str(), int64_t(*id)});
  }
  return Error::success();
}

/// The bytes behind a byte-level spelling; a character outside the alphabet
/// (not in a byte-level vocabulary) stands for itself. llvm::json has checked
/// that the spelling is valid UTF-8.
std::string TokenizerBuilder::bytesOf(StringRef spelling) const {
  std::string bytes;
  while (!spelling.empty()) {
    size_t length = std::min<size_t>(getNumBytesForUTF8(UTF8(spelling.front())),
                                     spelling.size());
    StringRef character = spelling.take_front(length);
    auto it = spellingToByte.find(character);
    if (it != spellingToByte.end())
      bytes += char(it->second);
    else
      bytes += character;
    spelling = spelling.drop_front(length);
  }
  return bytes;
}

void TokenizerBuilder::setBytes(int64_t id, std::string bytes) {
  if (id >= int64_t(idToBytes.size()))
    idToBytes.resize(id + 1);
  idToBytes[id] = std::move(bytes);
}

/// The added tokens in image order: by first byte, then longest first, so
/// that the runtime prefers the longest match at a position (then by
/// content, and by id for a content listed twice).
std::vector<TokenizerBuilder::AddedToken>
TokenizerBuilder::sortedAddedTokens() const {
  std::vector<AddedToken> sorted = added;
  llvm::sort(sorted, [](const AddedToken &a, const AddedToken &b) {
    uint8_t aFirst = a.content[0], bFirst = b.content[0];
    if (aFirst != bFirst)
      return aFirst < bFirst;
    if (a.content.size() != b.content.size())
      return a.content.size() > b.content.size();
    return std::tie(a.content, a.id) < std::tie(b.content, b.id);
  });
  return sorted;
}

std::string TokenizerBuilder::writeImage() const {
  std::string bytes;
  raw_string_ostream os(bytes);
  support::endian::Writer out(os, endianness::native);
  auto writeString = [&](StringRef s) {
    out.write<uint32_t>(s.size());
    os << s;
  };
  auto writeToken = [&](StringRef s, int64_t id) {
    writeString(s);
    out.write<int64_t>(id);
  };

  os.write(image::kMagic, sizeof(image::kMagic));
  out.write<uint8_t>(ignoreMerges ? 1 : 0);
  os.write_zeros(image::kHeaderPadding);
  out.write<uint64_t>(idToBytes.size());
  for (const std::string &id : idToBytes)
    writeString(id);
  out.write<uint64_t>(vocabById.size());
  for (const VocabEntry *entry : vocabById)
    writeToken(entry->first(), entry->second);
  std::vector<std::pair<uint64_t, Merge>> sortedMerges(merges.begin(),
                                                       merges.end());
  llvm::sort(sortedMerges, llvm::less_first());
  out.write<uint64_t>(sortedMerges.size());
  for (const auto &[key, merge] : sortedMerges) {
    out.write<uint64_t>(key);
    out.write<int32_t>(merge.rank);
    out.write<int32_t>(merge.result);
  }
  std::vector<AddedToken> sortedAdded = sortedAddedTokens();
  out.write<uint64_t>(sortedAdded.size());
  for (const AddedToken &token : sortedAdded)
    writeToken(token.content, token.id);
  for (int b = 0; b < image::kByteCount; ++b)
    writeToken(byteSpelling[b], byteToken[b]);
  os.flush();
  return bytes;
}

} // namespace

Expected<std::string> llmc::compileTokenizerJson(StringRef json) {
  Expected<json::Value> root = parseJson(json);
  if (!root)
    return root.takeError();
  TokenizerBuilder builder;
  if (Error error = builder.read(*root))
    return std::move(error);
  return builder.writeImage();
}

Expected<std::string>
llmc::compileBpeVocabulary(const BpeVocabulary &vocabulary) {
  TokenizerBuilder builder;
  if (Error error = builder.read(vocabulary))
    return std::move(error);
  return builder.writeImage();
}

Expected<std::string> llmc::compileTokenizerJsonFile(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> buffer =
      readInputFile(path, /*isText=*/true);
  if (!buffer)
    return buffer.takeError();
  Expected<std::string> image = compileTokenizerJson((*buffer)->getBuffer());
  if (!image)
    return createStringError(path + ": " + toString(image.takeError()));
  return image;
}
