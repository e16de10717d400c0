//===- Json.cpp - Minimal JSON reader for the runtime ---------------------===//
//
// Recursive descent over RFC 8259 with a nesting limit, strict number syntax
// and \u escapes (surrogate pairs combined, lone surrogates rejected).
//
//===----------------------------------------------------------------------===//

#include "runtime/Json.h"

#include <cstdlib>
#include <cstring>

using namespace llmc;

const JsonValue *JsonValue::get(const std::string &key) const {
  if (kind != Kind::Object)
    return nullptr;
  for (size_t i = 0, e = keys.size(); i != e; ++i)
    if (keys[i] == key)
      return &items[i];
  return nullptr;
}

namespace {

/// Deeper documents are rejected rather than overflowing the stack.
constexpr int kMaxDepth = 512;

class Parser {
public:
  explicit Parser(const std::string &text) : text(text) {}

  bool parseDocument(JsonValue &out, std::string &error) {
    skipSpace();
    bool ok = parseValue(out, 0);
    if (ok) {
      skipSpace();
      if (pos != text.size())
        ok = fail("trailing characters");
    }
    if (!ok)
      error = message;
    return ok;
  }

private:
  const std::string &text;
  size_t pos = 0;
  std::string message;

  /// Records the first error with its line and column; always returns false.
  bool fail(const char *what) {
    if (!message.empty())
      return false;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    message = "JSON error at line " + std::to_string(line) + ", column " +
              std::to_string(col) + ": " + what;
    return false;
  }

  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool consumeWord(const char *word) {
    size_t n = std::strlen(word);
    if (text.compare(pos, n, word) != 0)
      return fail("invalid literal");
    pos += n;
    return true;
  }

  bool parseValue(JsonValue &out, int depth) {
    if (depth > kMaxDepth)
      return fail("nesting too deep");
    if (pos >= text.size())
      return fail("unexpected end of input");
    switch (text[pos]) {
    case '{':
      return parseObject(out, depth);
    case '[':
      return parseArray(out, depth);
    case '"':
      out.kind = JsonValue::Kind::String;
      return parseString(out.str);
    case 't':
      out.kind = JsonValue::Kind::Bool;
      out.boolean = true;
      return consumeWord("true");
    case 'f':
      out.kind = JsonValue::Kind::Bool;
      out.boolean = false;
      return consumeWord("false");
    case 'n':
      out.kind = JsonValue::Kind::Null;
      return consumeWord("null");
    default:
      return parseNumber(out);
    }
  }

  bool parseObject(JsonValue &out, int depth) {
    out.kind = JsonValue::Kind::Object;
    ++pos; // '{'
    skipSpace();
    if (pos < text.size() && text[pos] == '}') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      if (pos >= text.size() || text[pos] != '"')
        return fail("expected a string as object key");
      out.keys.emplace_back();
      if (!parseString(out.keys.back()))
        return false;
      skipSpace();
      if (pos >= text.size() || text[pos] != ':')
        return fail("expected ':' after object key");
      ++pos;
      skipSpace();
      out.items.emplace_back();
      if (!parseValue(out.items.back(), depth + 1))
        return false;
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        return true;
      }
      return fail("expected ',' or '}' in object");
    }
  }

  bool parseArray(JsonValue &out, int depth) {
    out.kind = JsonValue::Kind::Array;
    ++pos; // '['
    skipSpace();
    if (pos < text.size() && text[pos] == ']') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      out.items.emplace_back();
      if (!parseValue(out.items.back(), depth + 1))
        return false;
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == ']') {
        ++pos;
        return true;
      }
      return fail("expected ',' or ']' in array");
    }
  }

  static bool isDigit(char c) { return c >= '0' && c <= '9'; }

  bool parseNumber(JsonValue &out) {
    size_t start = pos;
    if (pos < text.size() && text[pos] == '-')
      ++pos;
    if (pos >= text.size() || !isDigit(text[pos]))
      return fail("invalid value");
    if (text[pos] == '0') {
      ++pos;
    } else {
      while (pos < text.size() && isDigit(text[pos]))
        ++pos;
    }
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      if (pos >= text.size() || !isDigit(text[pos]))
        return fail("expected digits after '.'");
      while (pos < text.size() && isDigit(text[pos]))
        ++pos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
        ++pos;
      if (pos >= text.size() || !isDigit(text[pos]))
        return fail("expected digits in exponent");
      while (pos < text.size() && isDigit(text[pos]))
        ++pos;
    }
    std::string literal = text.substr(start, pos - start);
    out.kind = JsonValue::Kind::Number;
    out.number = std::strtod(literal.c_str(), nullptr);
    return true;
  }

  bool parseHex4(uint32_t &value) {
    if (pos + 4 > text.size())
      return fail("truncated \\u escape");
    value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text[pos++];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= uint32_t(c - 'A' + 10);
      else
        return fail("invalid hex digit in \\u escape");
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++pos; // opening quote
    while (true) {
      size_t runStart = pos;
      while (pos < text.size() && text[pos] != '"' && text[pos] != '\\' &&
             static_cast<unsigned char>(text[pos]) >= 0x20)
        ++pos;
      out.append(text, runStart, pos - runStart);
      if (pos >= text.size())
        return fail("unterminated string");
      char c = text[pos];
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c != '\\')
        return fail("control character in string");
      ++pos;
      if (pos >= text.size())
        return fail("unterminated string");
      char esc = text[pos++];
      switch (esc) {
      case '"':
      case '\\':
      case '/':
        out += esc;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!parseHex4(cp))
          return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail("lone low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low;
          if (pos + 2 > text.size() || text[pos] != '\\' ||
              text[pos + 1] != 'u')
            return fail("high surrogate without a low surrogate");
          pos += 2;
          if (!parseHex4(low))
            return false;
          if (low < 0xDC00 || low > 0xDFFF)
            return fail("high surrogate without a low surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        return fail("invalid escape in string");
      }
    }
  }
};

} // namespace

bool llmc::parseJson(const std::string &text, JsonValue &out,
                     std::string &error) {
  out = JsonValue();
  Parser parser(text);
  return parser.parseDocument(out, error);
}

void llmc::appendUtf8(std::string &s, uint32_t cp) {
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
}
