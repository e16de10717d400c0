//===- Tokenizer.cpp - Byte-level BPE tokenizer from tokenizer.json -------===//

#include "runtime/Tokenizer.h"

#include "runtime/Json.h"
#include "runtime/Unicode.h"

#include <algorithm>
#include <queue>

using namespace llmc;
using unicode::CharClass;

const char *const Tokenizer::kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

//===----------------------------------------------------------------------===//
// Pre-tokenization
//===----------------------------------------------------------------------===//

namespace {

struct Char {
  size_t offset;
  uint32_t cp;
  CharClass cls;
  bool isNewline() const { return cp == '\r' || cp == '\n'; }
};

/// Decodes `text` into characters; invalid bytes become one Other each.
void decodeChars(const char *text, size_t size, std::vector<Char> &chars) {
  chars.clear();
  for (size_t i = 0; i < size;) {
    size_t len;
    uint32_t cp = unicode::decodeUtf8(text + i, size - i, len);
    chars.push_back({i, cp, unicode::classify(cp)});
    i += len;
  }
}

bool isAsciiLetter(const Char &c, char lower) {
  return c.cp == uint32_t(lower) || c.cp == uint32_t(lower - 'a' + 'A');
}

/// Length in characters of a contraction at `i`: '(s|t|re|ve|m|ll|d) with
/// ASCII letters of either case (the reference tokenizer's expansion of
/// (?i:...), which does not fold other letters such as U+017F).
size_t contractionLength(const std::vector<Char> &chars, size_t i) {
  size_t n = chars.size();
  if (chars[i].cp != '\'' || i + 1 >= n)
    return 0;
  const Char &a = chars[i + 1];
  if (isAsciiLetter(a, 's') || isAsciiLetter(a, 't') ||
      isAsciiLetter(a, 'm') || isAsciiLetter(a, 'd'))
    return 2;
  if (i + 2 >= n)
    return 0;
  const Char &b = chars[i + 2];
  if ((isAsciiLetter(a, 'r') && isAsciiLetter(b, 'e')) ||
      (isAsciiLetter(a, 'v') && isAsciiLetter(b, 'e')) ||
      (isAsciiLetter(a, 'l') && isAsciiLetter(b, 'l')))
    return 3;
  return 0;
}

/// Splits `chars` like kLlama3Pattern: calls `emit(first, last)` with the
/// character range [first, last) of each match, in order. Each branch below
/// is one alternative of the regex, tried in its order (leftmost-first).
template <typename Emit>
void splitPieces(const std::vector<Char> &chars, Emit emit) {
  size_t n = chars.size();
  auto cls = [&](size_t k) { return chars[k].cls; };
  size_t i = 0;
  while (i < n) {
    size_t j;
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (size_t len = contractionLength(chars, i)) {
      emit(i, i + len);
      i += len;
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    j = i;
    if (cls(i) != CharClass::Letter && cls(i) != CharClass::Number &&
        !chars[i].isNewline() && i + 1 < n && cls(i + 1) == CharClass::Letter)
      j = i + 1;
    if (cls(j) == CharClass::Letter) {
      while (j < n && cls(j) == CharClass::Letter)
        ++j;
      emit(i, j);
      i = j;
      continue;
    }
    // \p{N}{1,3}
    if (cls(i) == CharClass::Number) {
      j = i;
      while (j < n && j < i + 3 && cls(j) == CharClass::Number)
        ++j;
      emit(i, j);
      i = j;
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    j = i;
    if (chars[i].cp == ' ' && i + 1 < n && cls(i + 1) == CharClass::Other)
      j = i + 1;
    if (cls(j) == CharClass::Other) {
      while (j < n && cls(j) == CharClass::Other)
        ++j;
      while (j < n && chars[j].isNewline())
        ++j;
      emit(i, j);
      i = j;
      continue;
    }
    // A run of whitespace [i, end). \s*[\r\n]+ ends after its last newline;
    // else \s+(?!\S) leaves the last space to the next piece when a
    // non-space follows; else \s+ takes the single space.
    size_t end = i;
    size_t lastNewline = n;
    while (end < n && cls(end) == CharClass::Space) {
      if (chars[end].isNewline())
        lastNewline = end;
      ++end;
    }
    if (lastNewline != n)
      j = lastNewline + 1;
    else if (end == n || end - i == 1)
      j = end;
    else
      j = end - 1;
    emit(i, j);
    i = j;
  }
}

/// The GPT-2 byte-level mapping: printable bytes map to themselves, the rest
/// to code points from 256 on.
void buildByteMap(uint32_t (&byteToUnicode)[256]) {
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable =
        (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    byteToUnicode[b] = printable ? b : next++;
  }
}

} // namespace

std::vector<std::string> Tokenizer::preTokenize(const std::string &text) {
  std::vector<Char> chars;
  decodeChars(text.data(), text.size(), chars);
  std::vector<std::string> pieces;
  splitPieces(chars, [&](size_t first, size_t last) {
    size_t begin = chars[first].offset;
    size_t end = last < chars.size() ? chars[last].offset : text.size();
    pieces.push_back(text.substr(begin, end - begin));
  });
  return pieces;
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

/// Checks that the pre-tokenizer is the Llama 3 split followed by a
/// byte-level step without a regex of its own (or absent).
static bool checkPreTokenizer(const JsonValue &pre, std::string &error) {
  const JsonValue *type = pre.get("type");
  if (!type || !type->isString()) {
    error = "tokenizer.json: a pre-tokenizer has no type";
    return false;
  }
  if (type->str == "Sequence") {
    const JsonValue *steps = pre.get("pretokenizers");
    if (!steps || !steps->isArray()) {
      error = "tokenizer.json: a Sequence pre-tokenizer lacks pretokenizers";
      return false;
    }
    for (const JsonValue &step : steps->items)
      if (!checkPreTokenizer(step, error))
        return false;
    return true;
  }
  if (type->str == "Split") {
    const JsonValue *pattern = pre.get("pattern");
    const JsonValue *regex = pattern ? pattern->get("Regex") : nullptr;
    if (!regex || !regex->isString() ||
        regex->str != Tokenizer::kLlama3Pattern) {
      error = "tokenizer.json: only the Llama 3 pre-tokenizer split pattern "
              "is supported";
      return false;
    }
    return true;
  }
  if (type->str == "ByteLevel") {
    const JsonValue *useRegex = pre.get("use_regex");
    if (!useRegex || !useRegex->isBool() || useRegex->boolean) {
      error = "tokenizer.json: a ByteLevel pre-tokenizer with its own (GPT-2) "
              "regex is not supported, only the Llama 3 split";
      return false;
    }
    return true;
  }
  error = "tokenizer.json: pre-tokenizer type '" + type->str +
          "' is not supported";
  return false;
}

bool Tokenizer::load(const std::string &json, std::string &error) {
  JsonValue root;
  if (!parseJson(json, root, error)) {
    error = "tokenizer.json: " + error;
    return false;
  }
  const JsonValue *model = root.get("model");
  if (!model || !model->isObject()) {
    error = "tokenizer.json: no \"model\" object";
    return false;
  }
  if (const JsonValue *type = model->get("type"))
    if (type->isString() && type->str != "BPE") {
      error = "tokenizer.json: model type '" + type->str +
              "' is not supported (only BPE)";
      return false;
    }
  if (const JsonValue *pre = root.get("pre_tokenizer"))
    if (!pre->isNull() && !checkPreTokenizer(*pre, error))
      return false;
  const JsonValue *vocabJson = model->get("vocab");
  if (!vocabJson || !vocabJson->isObject()) {
    error = "tokenizer.json: no \"model.vocab\" object";
    return false;
  }
  if (const JsonValue *im = model->get("ignore_merges"))
    ignoreMerges = im->isBool() && im->boolean;

  uint32_t byteToUnicode[256];
  buildByteMap(byteToUnicode);
  std::unordered_map<uint32_t, uint8_t> unicodeToByte;
  for (int b = 0; b < 256; ++b)
    unicodeToByte[byteToUnicode[b]] = uint8_t(b);

  auto setToken = [&](int64_t id, std::string bytes) {
    if (id >= int64_t(idToBytes.size()))
      idToBytes.resize(id + 1);
    idToBytes[id] = std::move(bytes);
  };
  const int64_t kMaxId = int64_t(1) << 30;
  vocab.reserve(vocabJson->keys.size());
  for (size_t i = 0; i < vocabJson->keys.size(); ++i) {
    const std::string &spelling = vocabJson->keys[i];
    const JsonValue &v = vocabJson->items[i];
    if (!v.isNumber() || v.number < 0 || v.number >= double(kMaxId) ||
        v.number != double(int64_t(v.number))) {
      error = "tokenizer.json: vocab entry '" + spelling + "' has no valid id";
      return false;
    }
    int64_t id = int64_t(v.number);
    vocab[spelling] = id;
    // The bytes behind the byte-level spelling; a character outside the
    // mapping (not in a byte-level vocabulary) stands for itself.
    std::string bytes;
    for (size_t k = 0; k < spelling.size();) {
      size_t len;
      uint32_t cp = unicode::decodeUtf8(spelling.data() + k,
                                        spelling.size() - k, len);
      auto it = unicodeToByte.find(cp);
      if (it != unicodeToByte.end())
        bytes += char(it->second);
      else
        bytes.append(spelling, k, len);
      k += len;
    }
    setToken(id, std::move(bytes));
  }

  for (int b = 0; b < 256; ++b) {
    byteSpelling[b].clear();
    appendUtf8(byteSpelling[b], byteToUnicode[b]);
    auto it = vocab.find(byteSpelling[b]);
    if (it == vocab.end()) {
      error = "tokenizer.json: vocab has no token for byte " +
              std::to_string(b) + " (not a byte-level BPE vocabulary)";
      return false;
    }
    byteToken[b] = it->second;
  }

  if (const JsonValue *mergesJson = model->get("merges")) {
    if (!mergesJson->isArray()) {
      error = "tokenizer.json: \"model.merges\" is not an array";
      return false;
    }
    merges.reserve(mergesJson->items.size());
    std::string joined;
    for (size_t rank = 0; rank < mergesJson->items.size(); ++rank) {
      const JsonValue &m = mergesJson->items[rank];
      auto l = vocab.end(), r = vocab.end();
      if (m.isString()) {
        size_t space = m.str.find(' ', 1);
        if (space == std::string::npos) {
          error = "tokenizer.json: merge '" + m.str + "' is not 'a b'";
          return false;
        }
        l = vocab.find(m.str.substr(0, space));
        r = vocab.find(m.str.substr(space + 1));
      } else if (m.isArray() && m.items.size() == 2 && m.items[0].isString() &&
                 m.items[1].isString()) {
        l = vocab.find(m.items[0].str);
        r = vocab.find(m.items[1].str);
      } else {
        error = "tokenizer.json: merge " + std::to_string(rank) +
                " is neither \"a b\" nor [\"a\", \"b\"]";
        return false;
      }
      // Merges whose parts or result are not in the vocabulary can never
      // apply; skip them like a missing pair.
      if (l == vocab.end() || r == vocab.end())
        continue;
      joined = l->first;
      joined += r->first;
      auto result = vocab.find(joined);
      if (result == vocab.end())
        continue;
      uint64_t key = (uint64_t(l->second) << 32) | uint64_t(r->second);
      merges.emplace(key, Merge{int32_t(rank), int32_t(result->second)});
    }
  }

  if (const JsonValue *addedJson = root.get("added_tokens")) {
    if (!addedJson->isArray()) {
      error = "tokenizer.json: \"added_tokens\" is not an array";
      return false;
    }
    for (const JsonValue &t : addedJson->items) {
      const JsonValue *id = t.get("id");
      const JsonValue *content = t.get("content");
      if (!id || !id->isNumber() || id->number < 0 ||
          id->number >= double(kMaxId) || !content || !content->isString() ||
          content->str.empty()) {
        error = "tokenizer.json: an added token lacks a valid id or content";
        return false;
      }
      int64_t tokenId = int64_t(id->number);
      setToken(tokenId, content->str);
      addedByFirstByte[static_cast<unsigned char>(content->str[0])].push_back(
          {content->str, tokenId});
    }
  }
  // Prefer the longest added token when several match at one position.
  for (auto &group : addedByFirstByte)
    std::sort(group.begin(), group.end(),
              [](const AddedToken &a, const AddedToken &b) {
                if (a.content.size() != b.content.size())
                  return a.content.size() > b.content.size();
                return a.content < b.content;
              });
  return true;
}

//===----------------------------------------------------------------------===//
// Encoding and decoding
//===----------------------------------------------------------------------===//

/// Buffers reused across the pieces of one encode() call.
struct Tokenizer::Scratch {
  std::vector<Char> chars;
  std::string spelled;
  /// The piece's symbols as a linked list over its bytes: a merge keeps the
  /// left symbol's slot and unlinks the right one (id -1).
  struct Symbol {
    int64_t id;
    int32_t prev, next;
  };
  std::vector<Symbol> symbols;
  /// A mergeable adjacent pair. Lower rank first, then the leftmost, as in
  /// the reference (rank + position / length).
  struct Candidate {
    int32_t rank;
    int32_t left;
    int64_t leftId, rightId, result;
    bool operator<(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::vector<Candidate> heap;
};

void Tokenizer::encodePiece(const char *piece, size_t size, Scratch &scratch,
                            std::vector<int64_t> &out) const {
  if (size == 1) {
    out.push_back(byteToken[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (ignoreMerges) {
    std::string &spelled = scratch.spelled;
    spelled.clear();
    for (size_t i = 0; i < size; ++i)
      spelled += byteSpelling[static_cast<unsigned char>(piece[i])];
    auto it = vocab.find(spelled);
    if (it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // Apply the lowest-ranked merge among adjacent pairs until none applies,
  // with a heap of candidates: O(n log n) even for long pieces.
  auto &symbols = scratch.symbols;
  auto &heap = scratch.heap;
  symbols.clear();
  heap.clear();
  for (size_t i = 0; i < size; ++i)
    symbols.push_back({byteToken[static_cast<unsigned char>(piece[i])],
                       int32_t(i) - 1,
                       i + 1 < size ? int32_t(i + 1) : -1});
  auto consider = [&](int32_t left) {
    int32_t right = symbols[left].next;
    if (right < 0)
      return;
    int64_t l = symbols[left].id, r = symbols[right].id;
    auto it = merges.find((uint64_t(l) << 32) | uint64_t(r));
    if (it == merges.end())
      return;
    heap.push_back({it->second.rank, left, l, r, it->second.result});
    std::push_heap(heap.begin(), heap.end());
  };
  for (size_t i = 0; i + 1 < size; ++i)
    consider(int32_t(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Scratch::Candidate c = heap.back();
    heap.pop_back();
    Scratch::Symbol &left = symbols[c.left];
    // Skip pairs that an earlier merge changed.
    if (left.id != c.leftId || left.next < 0 ||
        symbols[left.next].id != c.rightId)
      continue;
    Scratch::Symbol &right = symbols[left.next];
    right.id = -1;
    left.id = c.result;
    left.next = right.next;
    if (left.next >= 0)
      symbols[left.next].prev = c.left;
    if (left.prev >= 0)
      consider(left.prev);
    consider(c.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next)
    out.push_back(symbols[i].id);
}

std::vector<int64_t> Tokenizer::encode(const std::string &text) const {
  std::vector<int64_t> ids;
  Scratch scratch;
  auto encodeSegment = [&](size_t begin, size_t end) {
    if (begin == end)
      return;
    const char *segment = text.data() + begin;
    size_t size = end - begin;
    decodeChars(segment, size, scratch.chars);
    const std::vector<Char> &chars = scratch.chars;
    splitPieces(chars, [&](size_t first, size_t last) {
      size_t from = chars[first].offset;
      size_t to = last < chars.size() ? chars[last].offset : size;
      encodePiece(segment + from, to - from, scratch, ids);
    });
  };
  size_t segmentStart = 0;
  for (size_t i = 0; i < text.size();) {
    const AddedToken *match = nullptr;
    for (const AddedToken &t :
         addedByFirstByte[static_cast<unsigned char>(text[i])]) {
      if (text.compare(i, t.content.size(), t.content) == 0) {
        match = &t;
        break;
      }
    }
    if (!match) {
      ++i;
      continue;
    }
    encodeSegment(segmentStart, i);
    ids.push_back(match->id);
    i += match->content.size();
    segmentStart = i;
  }
  encodeSegment(segmentStart, text.size());
  return ids;
}

std::string Tokenizer::decodeToken(int64_t id) const {
  if (id < 0 || id >= int64_t(idToBytes.size()))
    return std::string();
  return idToBytes[id];
}

std::string Tokenizer::decode(const std::vector<int64_t> &ids) const {
  std::string text;
  for (int64_t id : ids)
    if (id >= 0 && id < int64_t(idToBytes.size()))
      text += idToBytes[id];
  return text;
}

int64_t Tokenizer::tokenId(const std::string &content) const {
  if (!content.empty())
    for (const AddedToken &t :
         addedByFirstByte[static_cast<unsigned char>(content[0])])
      if (t.content == content)
        return t.id;
  auto it = vocab.find(content);
  return it == vocab.end() ? -1 : it->second;
}
