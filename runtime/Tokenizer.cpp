//===- Tokenizer.cpp - Byte-level BPE tokenizer from tokenizer.json -------===//

#include "runtime/Tokenizer.h"

#include "runtime/Json.h"

#include <algorithm>
#include <climits>

using namespace llmc;

//===----------------------------------------------------------------------===//
// UTF-8 and character classes
//===----------------------------------------------------------------------===//

/// Decodes one code point at `s[i]`; sets `len` to its byte length. Invalid
/// or truncated sequences decode as one byte with code point 0xFFFFFFFF so
/// that they still travel through as raw bytes.
static uint32_t decodeUtf8(const std::string &s, size_t i, size_t &len) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  uint32_t cp;
  size_t need;
  if (c < 0x80) {
    len = 1;
    return c;
  }
  if ((c & 0xE0) == 0xC0) {
    cp = c & 0x1F;
    need = 1;
  } else if ((c & 0xF0) == 0xE0) {
    cp = c & 0x0F;
    need = 2;
  } else if ((c & 0xF8) == 0xF0) {
    cp = c & 0x07;
    need = 3;
  } else {
    len = 1;
    return 0xFFFFFFFFu;
  }
  if (i + need >= s.size()) {
    len = 1;
    return 0xFFFFFFFFu;
  }
  for (size_t k = 1; k <= need; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      len = 1;
      return 0xFFFFFFFFu;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  static const uint32_t minForLength[4] = {0, 0x80, 0x800, 0x10000};
  if (cp < minForLength[need] || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    len = 1;
    return 0xFFFFFFFFu;
  }
  len = need + 1;
  return cp;
}

namespace {
enum class CharClass : uint8_t { Letter, Number, Space, Other };

struct Range {
  uint32_t lo, hi;
};

bool inRanges(uint32_t cp, const Range *ranges, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (cp >= ranges[i].lo && cp <= ranges[i].hi)
      return true;
  return false;
}

// Unicode White_Space beyond ASCII.
const Range kSpaceRanges[] = {{0x85, 0x85},     {0xA0, 0xA0},
                              {0x1680, 0x1680}, {0x2000, 0x200A},
                              {0x2028, 0x2029}, {0x202F, 0x202F},
                              {0x205F, 0x205F}, {0x3000, 0x3000}};

// Common \p{N} ranges (decimal digits of major scripts, super/subscripts,
// fractions, roman numerals, circled and fullwidth digits).
const Range kNumberRanges[] = {
    {0xB2, 0xB3},       {0xB9, 0xB9},       {0xBC, 0xBE},
    {0x660, 0x669},     {0x6F0, 0x6F9},     {0x7C0, 0x7C9},
    {0x966, 0x96F},     {0x9E6, 0x9EF},     {0xA66, 0xA6F},
    {0xAE6, 0xAEF},     {0xB66, 0xB6F},     {0xBE6, 0xBF2},
    {0xC66, 0xC6F},     {0xCE6, 0xCEF},     {0xD66, 0xD78},
    {0xE50, 0xE59},     {0xED0, 0xED9},     {0xF20, 0xF33},
    {0x1040, 0x1049},   {0x17E0, 0x17E9},   {0x1810, 0x1819},
    {0x2070, 0x2070},   {0x2074, 0x2079},   {0x2080, 0x2089},
    {0x2150, 0x2182},   {0x2185, 0x2189},   {0x2460, 0x249B},
    {0x24EA, 0x24FF},   {0x2776, 0x2793},   {0x3007, 0x3007},
    {0x3021, 0x3029},   {0x3038, 0x303A},   {0x3220, 0x3229},
    {0x3248, 0x324F},   {0x3251, 0x325F},   {0x3280, 0x3289},
    {0x32B1, 0x32BF},   {0xFF10, 0xFF19},   {0x1D7CE, 0x1D7FF},
    {0x1F100, 0x1F10C}};

// Punctuation, symbols, marks, controls and format characters (neither
// \p{L} nor \p{N} nor whitespace) outside ASCII. Everything else is taken as
// a letter, which is right for the letters of most scripts.
const Range kOtherRanges[] = {
    {0x80, 0x9F},       {0xA1, 0xA9},       {0xAB, 0xB1},
    {0xB4, 0xB4},       {0xB6, 0xB8},       {0xBB, 0xBB},
    {0xBF, 0xBF},       {0xD7, 0xD7},       {0xF7, 0xF7},
    {0x2C2, 0x2C5},     {0x2D2, 0x2DF},     {0x2E5, 0x2EB},
    {0x2ED, 0x2ED},     {0x2EF, 0x36F},     {0x375, 0x375},
    {0x37E, 0x37E},     {0x384, 0x385},     {0x387, 0x387},
    {0x483, 0x489},     {0x55A, 0x55F},     {0x589, 0x58A},
    {0x591, 0x5C7},     {0x5F3, 0x5F4},     {0x600, 0x60F},
    {0x610, 0x61F},     {0x64B, 0x65F},     {0x66A, 0x66D},
    {0x670, 0x670},     {0x6D4, 0x6D4},     {0x6D6, 0x6ED},
    {0x900, 0x903},     {0x93A, 0x93C},     {0x93E, 0x94F},
    {0x951, 0x957},     {0x962, 0x965},     {0x970, 0x970},
    {0xE31, 0xE31},     {0xE34, 0xE3F},     {0xE47, 0xE4F},
    {0xE5A, 0xE5B},     {0x1AB0, 0x1AFF},   {0x1DC0, 0x1DFF},
    {0x200B, 0x200F},   {0x2010, 0x2027},   {0x202A, 0x202E},
    {0x2030, 0x205E},   {0x2060, 0x206F},   {0x207A, 0x207E},
    {0x208A, 0x208E},   {0x20A0, 0x20FF},   {0x2100, 0x2101},
    {0x2103, 0x2106},   {0x2108, 0x2109},   {0x2114, 0x2114},
    {0x2116, 0x2118},   {0x211E, 0x2123},   {0x2125, 0x2125},
    {0x2127, 0x2127},   {0x2129, 0x2129},   {0x212E, 0x212E},
    {0x213A, 0x213B},   {0x2140, 0x2144},   {0x214A, 0x214D},
    {0x214F, 0x214F},   {0x218A, 0x218B},   {0x2190, 0x245F},
    {0x249C, 0x24E9},   {0x2500, 0x2775},   {0x2794, 0x2BFF},
    {0x2CE5, 0x2CEA},   {0x2CF9, 0x2CFF},   {0x2E00, 0x2E7F},
    {0x2E80, 0x2FFF},   {0x3001, 0x3004},   {0x3008, 0x3020},
    {0x302A, 0x3030},   {0x3036, 0x3037},   {0x303D, 0x303F},
    {0x3099, 0x309C},   {0x30A0, 0x30A0},   {0x30FB, 0x30FB},
    {0x3200, 0x321F},   {0x322A, 0x3247},   {0x3250, 0x3250},
    {0x3260, 0x327F},   {0x328A, 0x32B0},   {0x32C0, 0x33FF},
    {0x4DC0, 0x4DFF},   {0xA490, 0xA4C6},   {0xA4FE, 0xA4FF},
    {0xD800, 0xF8FF},   {0xFB29, 0xFB29},   {0xFD3E, 0xFD3F},
    {0xFE00, 0xFE6F},   {0xFEFF, 0xFEFF},   {0xFF01, 0xFF0F},
    {0xFF1A, 0xFF20},   {0xFF3B, 0xFF40},   {0xFF5B, 0xFF65},
    {0xFFE0, 0xFFFF},   {0x1D000, 0x1D24F}, {0x1D300, 0x1D35F},
    {0x1F000, 0x1F0FF}, {0x1F10D, 0x1FBFF}, {0xE0000, 0x10FFFF}};

CharClass classify(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
      return CharClass::Letter;
    if (cp >= '0' && cp <= '9')
      return CharClass::Number;
    if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
      return CharClass::Space;
    return CharClass::Other;
  }
  if (cp == 0xFFFFFFFFu) // invalid UTF-8 byte
    return CharClass::Other;
  if (inRanges(cp, kSpaceRanges, sizeof(kSpaceRanges) / sizeof(Range)))
    return CharClass::Space;
  if (inRanges(cp, kNumberRanges, sizeof(kNumberRanges) / sizeof(Range)))
    return CharClass::Number;
  if (inRanges(cp, kOtherRanges, sizeof(kOtherRanges) / sizeof(Range)))
    return CharClass::Other;
  return CharClass::Letter;
}

struct Char {
  size_t offset;
  size_t len;
  uint32_t cp;
  CharClass cls;
  bool isNewline() const { return cp == '\r' || cp == '\n'; }
};

char asciiLower(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z')
    return char(cp - 'A' + 'a');
  return cp < 0x80 ? char(cp) : '\0';
}

/// Length in characters of a contraction ('s 't 're 've 'm 'll 'd, any case)
/// starting at `i`, or 0.
size_t contractionLength(const std::vector<Char> &chars, size_t i) {
  if (chars[i].cp != '\'' || i + 1 >= chars.size())
    return 0;
  char a = asciiLower(chars[i + 1].cp);
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if (i + 2 >= chars.size())
    return 0;
  char b = asciiLower(chars[i + 2].cp);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
    return 3;
  return 0;
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
  for (size_t i = 0; i < text.size();) {
    size_t len;
    uint32_t cp = decodeUtf8(text, i, len);
    chars.push_back({i, len, cp, classify(cp)});
    i += len;
  }
  std::vector<std::string> pieces;
  size_t n = chars.size();
  auto emit = [&](size_t from, size_t to) {
    size_t begin = chars[from].offset;
    size_t end = to < n ? chars[to].offset : text.size();
    pieces.push_back(text.substr(begin, end - begin));
  };
  size_t i = 0;
  while (i < n) {
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (size_t len = contractionLength(chars, i)) {
      emit(i, i + len);
      i += len;
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    size_t j = i;
    if (chars[i].cls != CharClass::Letter &&
        chars[i].cls != CharClass::Number && !chars[i].isNewline() &&
        i + 1 < n && chars[i + 1].cls == CharClass::Letter)
      j = i + 1;
    if (chars[j].cls == CharClass::Letter) {
      while (j < n && chars[j].cls == CharClass::Letter)
        ++j;
      emit(i, j);
      i = j;
      continue;
    }
    // \p{N}{1,3}
    if (chars[i].cls == CharClass::Number) {
      j = i;
      while (j < n && j < i + 3 && chars[j].cls == CharClass::Number)
        ++j;
      emit(i, j);
      i = j;
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    j = i;
    if (chars[i].cp == ' ' && i + 1 < n && chars[i + 1].cls == CharClass::Other)
      j = i + 1;
    if (chars[j].cls == CharClass::Other) {
      while (j < n && chars[j].cls == CharClass::Other)
        ++j;
      while (j < n && chars[j].isNewline())
        ++j;
      emit(i, j);
      i = j;
      continue;
    }
    // Whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
    size_t end = i;
    size_t lastNewline = n;
    while (end < n && chars[end].cls == CharClass::Space) {
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
  return pieces;
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

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
  const JsonValue *vocabJson = model->get("vocab");
  if (!vocabJson || !vocabJson->isObject()) {
    error = "tokenizer.json: no \"model.vocab\" object";
    return false;
  }
  if (const JsonValue *im = model->get("ignore_merges"))
    ignoreMerges = im->isBool() && im->boolean;

  auto setToken = [&](int64_t id, const std::string &text, bool added) {
    if (id >= int64_t(idToToken.size())) {
      idToToken.resize(id + 1);
      isAddedToken.resize(id + 1, false);
    }
    idToToken[id] = text;
    isAddedToken[id] = added;
  };
  const int64_t kMaxId = int64_t(1) << 30;
  vocab.reserve(vocabJson->keys.size());
  for (size_t i = 0; i < vocabJson->keys.size(); ++i) {
    const JsonValue &v = vocabJson->items[i];
    if (!v.isNumber() || v.number < 0 || v.number >= double(kMaxId) ||
        v.number != double(int64_t(v.number))) {
      error = "tokenizer.json: vocab entry '" + vocabJson->keys[i] +
              "' has no valid id";
      return false;
    }
    int64_t id = int64_t(v.number);
    vocab[vocabJson->keys[i]] = id;
    setToken(id, vocabJson->keys[i], false);
  }

  uint32_t byteToUnicode[256];
  buildByteMap(byteToUnicode);
  for (int b = 0; b < 256; ++b) {
    unicodeToByte[byteToUnicode[b]] = uint8_t(b);
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
    for (size_t rank = 0; rank < mergesJson->items.size(); ++rank) {
      const JsonValue &m = mergesJson->items[rank];
      std::string left, right;
      if (m.isString()) {
        size_t space = m.str.find(' ', 1);
        if (space == std::string::npos) {
          error = "tokenizer.json: merge '" + m.str + "' is not 'a b'";
          return false;
        }
        left = m.str.substr(0, space);
        right = m.str.substr(space + 1);
      } else if (m.isArray() && m.items.size() == 2 && m.items[0].isString() &&
                 m.items[1].isString()) {
        left = m.items[0].str;
        right = m.items[1].str;
      } else {
        error = "tokenizer.json: merge " + std::to_string(rank) +
                " is neither \"a b\" nor [\"a\", \"b\"]";
        return false;
      }
      auto l = vocab.find(left), r = vocab.find(right),
           result = vocab.find(left + right);
      // Merges whose parts or result are not in the vocabulary can never
      // apply; skip them like a missing pair.
      if (l == vocab.end() || r == vocab.end() || result == vocab.end())
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
      setToken(tokenId, content->str, true);
      addedByFirstByte[static_cast<unsigned char>(content->str[0])].push_back(
          {content->str, tokenId});
    }
  }
  // Prefer the longest added token when several match at one position.
  for (auto &group : addedByFirstByte)
    std::stable_sort(group.begin(), group.end(),
                     [](const AddedToken &a, const AddedToken &b) {
                       return a.content.size() > b.content.size();
                     });
  return true;
}

//===----------------------------------------------------------------------===//
// Encoding and decoding
//===----------------------------------------------------------------------===//

void Tokenizer::encodePiece(const std::string &piece,
                            std::vector<int64_t> &out) const {
  if (ignoreMerges) {
    std::string spelled;
    for (unsigned char c : piece)
      spelled += byteSpelling[c];
    auto it = vocab.find(spelled);
    if (it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int64_t> symbols;
  symbols.reserve(piece.size());
  for (unsigned char c : piece)
    symbols.push_back(byteToken[c]);
  // Repeatedly apply the lowest-ranked merge among adjacent pairs.
  while (symbols.size() > 1) {
    int32_t bestRank = INT32_MAX;
    size_t bestAt = 0;
    int32_t bestResult = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      uint64_t key = (uint64_t(symbols[i]) << 32) | uint64_t(symbols[i + 1]);
      auto it = merges.find(key);
      if (it != merges.end() && it->second.rank < bestRank) {
        bestRank = it->second.rank;
        bestAt = i;
        bestResult = it->second.result;
      }
    }
    if (bestRank == INT32_MAX)
      break;
    symbols[bestAt] = bestResult;
    symbols.erase(symbols.begin() + bestAt + 1);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

std::vector<int64_t> Tokenizer::encode(const std::string &text) const {
  std::vector<int64_t> ids;
  auto encodeSegment = [&](size_t begin, size_t end) {
    if (begin == end)
      return;
    for (const std::string &piece :
         preTokenize(text.substr(begin, end - begin)))
      encodePiece(piece, ids);
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
  if (id < 0 || id >= int64_t(idToToken.size()))
    return std::string();
  const std::string &spelling = idToToken[id];
  if (isAddedToken[id])
    return spelling;
  std::string bytes;
  for (size_t i = 0; i < spelling.size();) {
    size_t len;
    uint32_t cp = decodeUtf8(spelling, i, len);
    auto it = unicodeToByte.find(cp);
    if (it != unicodeToByte.end())
      bytes += char(it->second);
    else
      bytes.append(spelling, i, len);
    i += len;
  }
  return bytes;
}

std::string Tokenizer::decode(const std::vector<int64_t> &ids) const {
  std::string text;
  for (int64_t id : ids)
    text += decodeToken(id);
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
