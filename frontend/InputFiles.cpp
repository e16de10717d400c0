//===- InputFiles.cpp - Reading the files a user hands to llmc ------------===//

#include "frontend/InputFiles.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"

using namespace llvm;

Expected<std::unique_ptr<MemoryBuffer>> llmc::readInputFile(StringRef path,
                                                            bool isText) {
  sys::fs::file_status status;
  if (std::error_code ec = sys::fs::status(path, status))
    return createStringError(path + ": cannot read: " + ec.message());
  if (status.type() != sys::fs::file_type::regular_file)
    return createStringError(path + ": not a regular file");
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, isText, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return createStringError(path +
                             ": cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

Error llmc::checkNesting(StringRef text, bool jsonStrings) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"' && jsonStrings) {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNesting)
        return createStringError("nesting too deep (more than " +
                                 Twine(kMaxNesting) + " levels of [ and {)");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Error::success();
}

/// llvm::json reports "[LINE:COLUMN, byte=OFFSET]: MESSAGE"; say it in words.
static Error describeParseError(Error error) {
  std::string text = toString(std::move(error));
  StringRef rest(text), line, column, message;
  if (rest.consume_front("[")) {
    std::tie(line, rest) = rest.split(':');
    std::tie(column, rest) = rest.split(',');
    message = rest.split("]: ").second;
  }
  if (message.empty())
    return createStringError("JSON error: " + text);
  return createStringError("JSON error at line " + line + ", column " + column +
                           ": " + message);
}

Expected<json::Value> llmc::parseJson(StringRef text) {
  if (Error error = checkNesting(text, /*jsonStrings=*/true))
    return createStringError("JSON error: " + toString(std::move(error)));
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return describeParseError(value.takeError());
  return value;
}
