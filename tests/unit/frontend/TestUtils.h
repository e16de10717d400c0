//===- TestUtils.h - Temporary directories and files for frontend tests ---===//

#ifndef LLMC_TESTS_UNIT_FRONTEND_TESTUTILS_H
#define LLMC_TESTS_UNIT_FRONTEND_TESTUTILS_H

#include "frontend/ModelSpec.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace llmc::test {

/// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("llmc-frontend", path);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }

  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> result(path);
    llvm::sys::path::append(result, name);
    return result.str().str();
  }

  /// Writes `contents` to `name` and returns its path.
  std::string write(llvm::StringRef name, llvm::StringRef contents) const {
    std::string result = file(name);
    std::error_code ec;
    llvm::raw_fd_ostream os(result, ec);
    EXPECT_FALSE(ec) << ec.message();
    os << contents;
    return result;
  }

  const std::string str() const { return path.str().str(); }

private:
  llvm::SmallString<256> path;
};

/// The tiny model of examples/tiny-llama.yaml.
inline ModelSpec tinySpec() {
  ModelSpec spec;
  spec.name = "tiny-llama";
  spec.vocabSize = 300;
  spec.hiddenSize = 96;
  spec.intermediateSize = 200;
  spec.numLayers = 2;
  spec.numHeads = 6;
  spec.numKVHeads = 2;
  spec.headDim = 16;
  spec.maxPositions = 2048;
  spec.rmsNormEps = 1e-5;
  spec.ropeTheta = 500000.0;
  spec.ropeScaling = {true, 32.0, 1.0, 4.0, 8192};
  spec.tiedEmbeddings = true;
  spec.dtype = DType::F32;
  spec.bosTokenId = 1;
  spec.eosTokenId = 2;
  return spec;
}

/// True on success; otherwise records the error's message as a failure.
template <typename T> bool succeeded(llvm::Expected<T> &expected) {
  if (expected)
    return true;
  ADD_FAILURE() << llvm::toString(expected.takeError());
  return false;
}

inline bool succeeded(llvm::Error error) {
  if (!error)
    return true;
  ADD_FAILURE() << llvm::toString(std::move(error));
  return false;
}

/// The message of `expected`'s error, or "" (and a test failure) on success.
template <typename T> std::string errorOf(llvm::Expected<T> expected) {
  if (expected) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(expected.takeError());
}

inline std::string errorOf(llvm::Error error) {
  if (!error) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(std::move(error));
}

} // namespace llmc::test

#endif // LLMC_TESTS_UNIT_FRONTEND_TESTUTILS_H
