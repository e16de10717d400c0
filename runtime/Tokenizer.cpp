//===- Tokenizer.cpp - Byte-level BPE tokenizer of a compiled model -------===//

#include "runtime/Tokenizer.h"

#include "runtime/Unicode.h"
#include "runtime/abi/TokenizerImage.h"

#include <algorithm>
#include <cstdio>
#include <queue>

using namespace llmc;
using unicode::CharClass;

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

/// Splits `chars` like tokenizer_image::kLlama3Pattern: calls
/// `emit(first, last)` with the character range [first, last) of each match,
/// in order. Each branch below is one alternative of the regex, tried in its
/// order (leftmost-first).
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
    auto it = merges.find(tokenizer_image::mergeKey(l, r));
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
  return encode(std::vector<Part>{{text, true}});
}

std::vector<int64_t> Tokenizer::encode(const std::vector<Part> &parts) const {
  std::string text;
  // Bytes from which an added token may start: those of special parts.
  std::vector<bool> matchable;
  for (const Part &part : parts) {
    text += part.text;
    matchable.insert(matchable.end(), part.text.size(), part.special);
  }
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
      // The whole token must lie in special text.
      if (matchable[i] && i + t.content.size() <= text.size() &&
          matchable[i + t.content.size() - 1] &&
          text.compare(i, t.content.size(), t.content) == 0) {
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

std::string Tokenizer::describeTokens(const std::vector<int64_t> &ids) const {
  std::string out;
  for (int64_t id : ids) {
    std::string bytes = id >= 0 && id < vocabSize() ? decodeToken(id) : "";
    std::string quoted;
    for (size_t i = 0; i < bytes.size();) {
      unsigned char c = static_cast<unsigned char>(bytes[i]);
      // A whole UTF-8 character is kept as it is.
      size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
      bool whole = length > 1 && i + length <= bytes.size();
      for (size_t k = 1; whole && k < length; ++k)
        whole = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
      if (whole) {
        quoted.append(bytes, i, length);
        i += length;
        continue;
      }
      if (c == '\n')
        quoted += "\\n";
      else if (c == '\t')
        quoted += "\\t";
      else if (c == '\'' || c == '\\')
        quoted += std::string("\\") + char(c);
      else if (c >= 0x20 && c < 0x7F)
        quoted += char(c);
      else {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "\\x%02x", c);
        quoted += hex;
      }
      ++i;
    }
    out += "  " + std::to_string(id) + " -> '" + quoted + "'\n";
  }
  return out;
}
