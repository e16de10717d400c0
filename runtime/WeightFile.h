//===- WeightFile.h - Read-only mapping of the packed weight file ---------===//
//
// `llmc compile` writes the weights, already packed in the layout the
// generated kernels want, behind an LlmcWeightsHeader. The runtime maps the
// file read-only and hands the generated code a pointer into the mapping: no
// copy and no repacking at start-up.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_WEIGHTFILE_H
#define LLMC_RUNTIME_WEIGHTFILE_H

#include "runtime/abi/ModelABI.h"

#include <cstddef>
#include <string>

namespace llmc {

/// Checks the first `fileSize` bytes of a weight file at `data` against the
/// model. Returns an empty string when valid, else a one-line reason.
std::string validateWeightsHeader(const void *data, size_t fileSize,
                                  const LlmcModelInfo &info);

/// A weight file mapped read-only into memory.
/// Writes a weight file for `info` whose blob is seeded random bf16 values
/// of magnitude below 1/16 (read as f32, pairs of them are as small), with no
/// tokenizer, to a temporary name renamed to `path`; an error message or "".
std::string writeRandomWeights(const std::string &path,
                               const LlmcModelInfo &info, uint64_t seed);

class WeightFile {
public:
  WeightFile() = default;
  ~WeightFile();
  WeightFile(const WeightFile &) = delete;
  WeightFile &operator=(const WeightFile &) = delete;

  /// Maps `path` and validates it against `info`. On failure returns false
  /// and sets `error` to a message naming the file.
  bool open(const std::string &path, const LlmcModelInfo &info,
            std::string &error);

  const LlmcWeightsHeader &header() const {
    return *static_cast<const LlmcWeightsHeader *>(base);
  }
  /// The packed weights (header().weights_bytes bytes).
  const void *weights() const {
    return static_cast<const char *>(base) + header().weights_offset;
  }
  /// Maps every page of the packed weights now (MADV_POPULATE_READ), so
  /// that the first forward() call does not take a page fault per 4 KiB of
  /// weights (about 0.1 s for 2.4 GB); a kernel without it maps them on
  /// first touch as before.
  void prefault() const;
  /// The tokenizer section of the file (the image llmc compiled from the
  /// model's tokenizer.json, runtime/abi/TokenizerImage.h); empty when there
  /// is none.
  std::string tokenizerSection() const;

private:
  void *base = nullptr;
  size_t size = 0;
};

} // namespace llmc

#endif // LLMC_RUNTIME_WEIGHTFILE_H
