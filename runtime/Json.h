//===- Json.h - Minimal JSON reader for the runtime -----------------------===//
//
// A small DOM parser, enough to read tokenizer.json. The runtime may not
// depend on LLVM, so it cannot use llvm::json.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_JSON_H
#define LLMC_RUNTIME_JSON_H

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// One parsed JSON value. Arrays keep their elements in `items`; objects keep
/// their member names in `keys` and the values, in the same order, in `items`.
class JsonValue {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0.0;
  std::string str;
  std::vector<std::string> keys;
  std::vector<JsonValue> items;

  bool isNull() const { return kind == Kind::Null; }
  bool isBool() const { return kind == Kind::Bool; }
  bool isNumber() const { return kind == Kind::Number; }
  bool isString() const { return kind == Kind::String; }
  bool isArray() const { return kind == Kind::Array; }
  bool isObject() const { return kind == Kind::Object; }

  /// Returns the member named `key` of an object, or null when this is not an
  /// object or has no such member. Linear in the number of members.
  const JsonValue *get(const std::string &key) const;
};

/// Parses `text` (UTF-8) as one JSON document into `out`. On failure returns
/// false and sets `error` to a message with the line and column.
bool parseJson(const std::string &text, JsonValue &out, std::string &error);

/// Appends the UTF-8 encoding of code point `cp` to `s`.
void appendUtf8(std::string &s, uint32_t cp);

} // namespace llmc

#endif // LLMC_RUNTIME_JSON_H
