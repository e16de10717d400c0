//===- TestUtil.h - Helpers shared by the runtime unit tests --------------===//

#ifndef LLMC_TESTS_UNIT_RUNTIME_TESTUTIL_H
#define LLMC_TESTS_UNIT_RUNTIME_TESTUTIL_H

#include "frontend/TokenizerJson.h"
#include "runtime/abi/ModelABI.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace llmc {
namespace test {

/// A fresh directory under TMPDIR (or /tmp), removed by nobody: tests use
/// unique names and small files.
inline std::string makeTempDir() {
  const char *base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") +
                     "/llmc-runtime-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char *dir = mkdtemp(buf.data());
  return dir ? std::string(dir) : std::string();
}

/// The bytes of a weight file: header, weights at 4096, optional tokenizer
/// section.
inline std::string makeWeightFile(uint64_t fingerprint,
                                  const std::vector<uint8_t> &weights,
                                  const std::string &tokenizer = "") {
  std::string file(LLMC_WEIGHTS_HEADER_BYTES, '\0');
  file.append(reinterpret_cast<const char *>(weights.data()), weights.size());
  LlmcWeightsHeader h{};
  std::memcpy(h.magic, LLMC_WEIGHTS_MAGIC, 8);
  h.fingerprint = fingerprint;
  h.weights_offset = LLMC_WEIGHTS_HEADER_BYTES;
  h.weights_bytes = weights.size();
  if (!tokenizer.empty()) {
    h.tokenizer_offset = file.size();
    h.tokenizer_bytes = tokenizer.size();
    file += tokenizer;
  }
  std::memcpy(&file[0], &h, sizeof(h));
  return file;
}

inline bool writeFile(const std::string &path, const std::string &bytes) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return false;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

inline std::string readFile(const std::string &path) {
  std::string bytes;
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return bytes;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    bytes.append(buf, n);
  std::fclose(f);
  return bytes;
}

/// The tokenizer image `llmc compile` packs for the tokenizer.json at
/// `path`; an error fails the test and gives "".
inline std::string tokenizerImage(const std::string &path) {
  llvm::Expected<std::string> image = compileTokenizerJsonFile(path);
  if (!image) {
    ADD_FAILURE() << llvm::toString(image.takeError());
    return std::string();
  }
  return std::move(*image);
}

} // namespace test
} // namespace llmc

#endif // LLMC_TESTS_UNIT_RUNTIME_TESTUTIL_H
