//===- InputFiles.h - Reading the files a user hands to llmc ----*- C++ -*-===//
//
// Every file llmc reads goes through here: only regular files are read (a
// FIFO or a device would block or never end), and JSON is parsed only when
// its nesting is bounded (llvm::json recurses once per level, so a million
// '[' would overflow the stack).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_INPUTFILES_H
#define LLMC_FRONTEND_INPUTFILES_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

namespace llmc {

/// Deepest nesting of arrays and objects (JSON, YAML flow collections) the
/// loaders accept; real model files use fewer than ten levels.
constexpr int kMaxNesting = 512;

/// Reads `path` if it is a regular file. Errors are "PATH: reason". Large
/// files are memory-mapped, not copied.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readInputFile(llvm::StringRef path, bool isText);

/// Fails when `text` nests `[`/`{` deeper than kMaxNesting: outside JSON
/// strings when `jsonStrings`, everywhere otherwise (YAML, whose quoting
/// rules are not worth a second parser here).
llvm::Error checkNesting(llvm::StringRef text, bool jsonStrings);

/// Parses JSON after checkNesting; syntax errors read "JSON error at line L,
/// column C: MESSAGE".
llvm::Expected<llvm::json::Value> parseJson(llvm::StringRef text);

} // namespace llmc

#endif // LLMC_FRONTEND_INPUTFILES_H
