//===- Unicode.cpp - UTF-8 decoding and the character classes of BPE ------===//

#include "runtime/Unicode.h"

#include <algorithm>

using namespace llmc;
using namespace llmc::unicode;

uint32_t unicode::decodeUtf8(const char *s, size_t size, size_t &len) {
  len = 1;
  unsigned char c = static_cast<unsigned char>(s[0]);
  if (c < 0x80)
    return c;
  uint32_t cp;
  size_t need;
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
    return kInvalid;
  }
  if (need >= size)
    return kInvalid;
  for (size_t k = 1; k <= need; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[k]);
    if ((cc & 0xC0) != 0x80)
      return kInvalid;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static const uint32_t minForLength[4] = {0, 0x80, 0x800, 0x10000};
  if (cp < minForLength[need] || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return kInvalid;
  len = need + 1;
  return cp;
}

static bool inRanges(uint32_t cp, const Range *ranges, size_t n) {
  const Range *end = ranges + n;
  const Range *it = std::upper_bound(
      ranges, end, cp, [](uint32_t v, const Range &r) { return v < r.first; });
  return it != ranges && cp <= it[-1].last;
}

CharClass unicode::classify(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
      return CharClass::Letter;
    if (cp >= '0' && cp <= '9')
      return CharClass::Number;
    if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
      return CharClass::Space;
    return CharClass::Other;
  }
  if (cp == kInvalid)
    return CharClass::Other;
  if (inRanges(cp, kLetterRanges, kNumLetterRanges))
    return CharClass::Letter;
  if (inRanges(cp, kNumberRanges, kNumNumberRanges))
    return CharClass::Number;
  if (inRanges(cp, kSpaceRanges, kNumSpaceRanges))
    return CharClass::Space;
  return CharClass::Other;
}
