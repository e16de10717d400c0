//===- Gguf.h - GGUF files: metadata, tensors and ggml blocks ---*- C++ -*-===//
//
// Reads a GGUF file (versions 2 and 3: little-endian, 64-bit counts) without
// copying it: the typed metadata, the tensor table and the tensor bytes. The
// reader validates like the safetensors reader does (magic, version, counts,
// string and array lengths against the bytes left, the alignment, every
// tensor's data inside the file and not overlapping another's, block-size
// multiples), so a truncated or hostile file is an error naming the file and
// the offending key or tensor, never a crash.
//
// Also the block layouts of the ggml types llmc reads (F32, F16, BF16, Q8_0,
// Q4_0, Q4_K, Q6_K) and their dequantization, as the GGUF specification and
// ggml define them.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_GGUF_H
#define LLMC_FRONTEND_GGUF_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace llmc {

/// The ggml tensor types llmc reads, with their GGUF type ids.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
  Q4_K = 12,
  Q6_K = 14,
  BF16 = 30,
};

/// The name ggml gives type id `type` ("Q4_K", "IQ2_XS"; "type 99" for an
/// id ggml does not define).
std::string ggmlTypeName(uint32_t type);

/// A ggml type's block: `elements` consecutive values of a row stored in
/// `bytes` bytes (1 and the element size for F32, F16, BF16).
struct GgmlBlock {
  int64_t elements;
  int64_t bytes;
};

/// The block of `type`, or nullopt for a type llmc does not read.
std::optional<GgmlBlock> ggmlBlock(uint32_t type);

/// Whether `type` stores quantized blocks (Q8_0, Q4_0, Q4_K, Q6_K).
bool isQuantized(GgmlType type);

/// Expands `count` values (a multiple of the block) stored as `type` at
/// `src` into `out`, in f32 arithmetic as ggml's reference dequantizers do.
void dequantizeGgml(GgmlType type, const uint8_t *src, int64_t count,
                    float *out);

/// One metadata value. Arrays hold scalars or strings, not arrays.
struct GgufValue {
  /// GGUF's value type ids.
  enum class Kind : uint32_t {
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
  };
  Kind kind = Kind::UInt8;
  /// The element kind of an array.
  Kind elementKind = Kind::UInt8;
  /// Integers and bools (a UInt64 above INT64_MAX is kept as its bits and
  /// flagged by `tooLarge`).
  int64_t integer = 0;
  bool tooLarge = false;
  double number = 0;
  llvm::StringRef string;
  /// Array elements: `strings` for string arrays, `integers` for integer and
  /// bool arrays, `numbers` for float arrays.
  std::vector<llvm::StringRef> strings;
  std::vector<int64_t> integers;
  std::vector<double> numbers;

  bool isInteger() const;
  bool isFloat() const;
  /// "u32", "string", "array of string", ...
  std::string typeName() const;
};

/// One tensor of a GGUF file.
struct GgufTensor {
  std::string name;
  /// The ggml type id (any id: checking it is the consumer's job, so that
  /// the error can say what the tensor is for).
  uint32_t type = 0;
  /// ggml order: dims[0] is the contiguous (row) dimension.
  std::vector<int64_t> dims;
  /// From the start of the data section.
  uint64_t offset = 0;
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;

  int64_t numElements() const;
};

/// A parsed GGUF file; its values and tensors point into the bytes it was
/// parsed from.
class GgufFile {
public:
  /// Maps and parses the file at `path`.
  static llvm::Expected<std::unique_ptr<GgufFile>> open(llvm::StringRef path);
  /// Parses `contents`, which must outlive the result; `path` names it in
  /// errors.
  static llvm::Expected<std::unique_ptr<GgufFile>>
  parse(llvm::StringRef path, llvm::StringRef contents);
  ~GgufFile();

  llvm::StringRef path() const { return filePath; }
  uint32_t version() const { return fileVersion; }
  uint64_t alignment() const { return dataAlignment; }

  /// nullptr when the key is absent.
  const GgufValue *find(llvm::StringRef key) const;
  /// Typed lookups: an error naming the file and the key when the key is
  /// present with another type or out of range; nullopt when absent.
  llvm::Expected<std::optional<int64_t>> getInteger(llvm::StringRef key) const;
  llvm::Expected<std::optional<double>> getNumber(llvm::StringRef key) const;
  llvm::Expected<std::optional<llvm::StringRef>>
  getString(llvm::StringRef key) const;
  /// An array of `kind` elements (any integer kind for Int64).
  llvm::Expected<const GgufValue *> getArray(llvm::StringRef key,
                                             GgufValue::Kind kind) const;

  llvm::ArrayRef<GgufTensor> tensors() const { return tensorTable; }
  const GgufTensor *findTensor(llvm::StringRef name) const;
  /// The metadata keys in file order.
  llvm::ArrayRef<std::string> keys() const { return keyOrder; }

private:
  GgufFile() = default;
  llvm::Error read(llvm::StringRef contents);

  std::string filePath;
  uint32_t fileVersion = 0;
  uint64_t dataAlignment = 32;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<GgufValue> values;
  std::vector<std::string> keyOrder;
  std::vector<GgufTensor> tensorTable;
  llvm::StringMap<size_t> tensorIndex;
};

} // namespace llmc

#endif // LLMC_FRONTEND_GGUF_H
