//===- GgufWriter.h - GGUF files for tests ----------------------*- C++ -*-===//
//
// Test code only: writes GGUF files (version 2 or 3) from metadata and
// tensor bytes, and quantizes f32 rows into ggml blocks (Q8_0, Q4_0, Q4_K,
// Q6_K) with the block layouts of the GGUF specification. Tests build valid
// files with it and break them on purpose (an offset, a count).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TESTS_LIB_GGUF_GGUFWRITER_H
#define LLMC_TESTS_LIB_GGUF_GGUFWRITER_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc::test {

/// ggml type ids.
enum GgmlTypeId : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ6_K = 14,
  kBF16 = 30,
};

/// GGUF value type ids.
enum GgufKind : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kFloat64 = 12,
};

class GgufWriter {
public:
  void setU32(const std::string &key, uint32_t value);
  void setI32(const std::string &key, int32_t value);
  void setU64(const std::string &key, uint64_t value);
  void setF32(const std::string &key, float value);
  void setBool(const std::string &key, bool value);
  void setString(const std::string &key, const std::string &value);
  void setStrings(const std::string &key,
                  const std::vector<std::string> &values);
  void setI32s(const std::string &key, const std::vector<int32_t> &values);
  /// A value of any type given as its encoded bytes (after the type id).
  void setRaw(const std::string &key, uint32_t kind, std::string payload);

  /// `dims` in ggml order (contiguous dimension first). `offset` overrides
  /// the aligned offset the writer would choose.
  void addTensor(const std::string &name, uint32_t type,
                 std::vector<int64_t> dims, std::string bytes,
                 std::optional<uint64_t> offset = std::nullopt);

  /// The file; `alignment` pads the data section and the tensors (and is
  /// written as general.alignment when it is not 32).
  std::string write(uint32_t version = 3, uint64_t alignment = 32) const;

private:
  struct Value {
    std::string key;
    uint32_t kind;
    std::string payload;
  };
  struct Tensor {
    std::string name;
    uint32_t type;
    std::vector<int64_t> dims;
    std::string bytes;
    std::optional<uint64_t> offset;
  };
  std::vector<Value> values;
  std::vector<Tensor> tensors;
};

/// `n` values (a multiple of the type's block) stored as `type`: f32, f16,
/// bf16 (rounded to nearest even) or quantized blocks.
std::string encodeGgml(uint32_t type, const float *values, int64_t n);

/// Elements per block of `type` (1 for float types, 0 when unknown).
int64_t ggmlBlockElements(uint32_t type);

} // namespace llmc::test

#endif // LLMC_TESTS_LIB_GGUF_GGUFWRITER_H
