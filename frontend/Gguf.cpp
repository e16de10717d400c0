//===- Gguf.cpp - GGUF files: metadata, tensors and ggml blocks -----------===//

#include "frontend/Gguf.h"

#include "frontend/InputFiles.h"
#include "frontend/TensorSource.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstring>
#include <type_traits>

using namespace llmc;
using llvm::createStringError;
using llvm::Twine;
namespace endian = llvm::support::endian;

//===----------------------------------------------------------------------===//
// ggml types and blocks
//===----------------------------------------------------------------------===//

std::string llmc::ggmlTypeName(uint32_t type) {
  static const char *const names[] = {
      "F32",     "F16",    "Q4_0",    "Q4_1",   "Q4_2",    "Q4_3",
      "Q5_0",    "Q5_1",   "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",
      "Q4_K",    "Q5_K",   "Q6_K",    "Q8_K",   "IQ2_XXS", "IQ2_XS",
      "IQ3_XXS", "IQ1_S",  "IQ4_NL",  "IQ3_S",  "IQ2_S",   "IQ4_XS",
      "I8",      "I16",    "I32",     "I64",    "F64",     "IQ1_M",
      "BF16",    "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0",
      "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};
  if (type < std::size(names))
    return names[type];
  return "type " + std::to_string(type);
}

std::optional<GgmlBlock> llmc::ggmlBlock(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
  case GgmlType::F32:
    return GgmlBlock{1, 4};
  case GgmlType::F16:
  case GgmlType::BF16:
    return GgmlBlock{1, 2};
  case GgmlType::Q8_0:
    return GgmlBlock{32, 34};
  case GgmlType::Q4_0:
    return GgmlBlock{32, 18};
  case GgmlType::Q4_K:
    return GgmlBlock{256, 144};
  case GgmlType::Q6_K:
    return GgmlBlock{256, 210};
  }
  return std::nullopt;
}

bool llmc::isQuantized(GgmlType type) {
  return type == GgmlType::Q8_0 || type == GgmlType::Q4_0 ||
         type == GgmlType::Q4_K || type == GgmlType::Q6_K;
}

static float readHalf(const uint8_t *p) {
  return f16ToFloat(endian::read16le(p));
}

/// Q4_K's eight 6-bit scales and mins, packed in 12 bytes: sub-blocks 0-3
/// keep theirs in the low six bits of bytes 0-3 (scales) and 4-7 (mins);
/// sub-blocks 4-7 put their low four bits in bytes 8-11 (scale low nibble,
/// min high nibble) and their top two bits in the spare top bits of bytes
/// 0-3 (scales) and 4-7 (mins).
static void q4kScaleMin(int j, const uint8_t *q, int &scale, int &min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void llmc::dequantizeGgml(GgmlType type, const uint8_t *src, int64_t count,
                          float *out) {
  switch (type) {
  case GgmlType::F32:
    std::memcpy(out, src, count * sizeof(float));
    return;
  case GgmlType::F16:
    for (int64_t i = 0; i < count; ++i)
      out[i] = readHalf(src + 2 * i);
    return;
  case GgmlType::BF16:
    for (int64_t i = 0; i < count; ++i)
      out[i] = bf16ToFloat(endian::read16le(src + 2 * i));
    return;
  case GgmlType::Q8_0:
    // {f16 d; int8 q[32]}: x = d * q.
    for (int64_t b = 0; b < count / 32; ++b, src += 34, out += 32) {
      float d = readHalf(src);
      for (int i = 0; i < 32; ++i)
        out[i] = d * static_cast<float>(static_cast<int8_t>(src[2 + i]));
    }
    return;
  case GgmlType::Q4_0:
    // {f16 d; uint8 q[16]}: value i in the low nibble of byte i, value
    // 16 + i in its high nibble; x = d * (q - 8).
    for (int64_t b = 0; b < count / 32; ++b, src += 18, out += 32) {
      float d = readHalf(src);
      const uint8_t *q = src + 2;
      for (int i = 0; i < 16; ++i) {
        out[i] = d * static_cast<float>((q[i] & 0xF) - 8);
        out[16 + i] = d * static_cast<float>((q[i] >> 4) - 8);
      }
    }
    return;
  case GgmlType::Q4_K:
    // {f16 d; f16 dmin; uint8 scales[12]; uint8 q[128]}: eight sub-blocks
    // of 32 with 6-bit scale s and min m; each 32 bytes of q hold two
    // sub-blocks (low nibbles, then high); x = d * s * q - dmin * m.
    for (int64_t b = 0; b < count / 256; ++b, src += 144) {
      float d = readHalf(src), dmin = readHalf(src + 2);
      const uint8_t *scales = src + 4;
      const uint8_t *q = src + 16;
      for (int pair = 0; pair < 4; ++pair, q += 32) {
        int scale, min;
        q4kScaleMin(2 * pair, scales, scale, min);
        float d1 = d * scale, m1 = dmin * min;
        q4kScaleMin(2 * pair + 1, scales, scale, min);
        float d2 = d * scale, m2 = dmin * min;
        for (int i = 0; i < 32; ++i)
          *out++ = d1 * static_cast<float>(q[i] & 0xF) - m1;
        for (int i = 0; i < 32; ++i)
          *out++ = d2 * static_cast<float>(q[i] >> 4) - m2;
      }
    }
    return;
  case GgmlType::Q6_K:
    // {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d}: two halves of
    // 128; in each, value l + 32k (k = 0..3) takes its low four bits from
    // ql[l + 32 (k & 1)] (low nibble for k < 2, high otherwise) and its top
    // two from bits 2k of qh[l]; x = d * scale[l / 16 + 2k] * (q - 32).
    for (int64_t b = 0; b < count / 256; ++b, src += 210) {
      const uint8_t *ql = src;
      const uint8_t *qh = src + 128;
      const int8_t *scales = reinterpret_cast<const int8_t *>(src + 192);
      float d = readHalf(src + 208);
      for (int half = 0; half < 2; ++half) {
        for (int l = 0; l < 32; ++l) {
          int s = l / 16;
          int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
          int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
          int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          out[l] = d * scales[s] * static_cast<float>(q1);
          out[l + 32] = d * scales[s + 2] * static_cast<float>(q2);
          out[l + 64] = d * scales[s + 4] * static_cast<float>(q3);
          out[l + 96] = d * scales[s + 6] * static_cast<float>(q4);
        }
        out += 128;
        ql += 64;
        qh += 32;
        scales += 8;
      }
    }
    return;
  }
  llvm_unreachable("dequantizeGgml: a type without a block");
}

//===----------------------------------------------------------------------===//
// Metadata values
//===----------------------------------------------------------------------===//

using Kind = GgufValue::Kind;

static bool isIntegerKind(Kind kind) {
  switch (kind) {
  case Kind::UInt8:
  case Kind::Int8:
  case Kind::UInt16:
  case Kind::Int16:
  case Kind::UInt32:
  case Kind::Int32:
  case Kind::UInt64:
  case Kind::Int64:
  case Kind::Bool:
    return true;
  default:
    return false;
  }
}

static const char *kindName(Kind kind) {
  switch (kind) {
  case Kind::UInt8:
    return "u8";
  case Kind::Int8:
    return "i8";
  case Kind::UInt16:
    return "u16";
  case Kind::Int16:
    return "i16";
  case Kind::UInt32:
    return "u32";
  case Kind::Int32:
    return "i32";
  case Kind::Float32:
    return "f32";
  case Kind::Bool:
    return "bool";
  case Kind::String:
    return "string";
  case Kind::Array:
    return "array";
  case Kind::UInt64:
    return "u64";
  case Kind::Int64:
    return "i64";
  case Kind::Float64:
    return "f64";
  }
  return "unknown";
}

/// Bytes of one scalar of `kind` (0 for strings and arrays).
static unsigned scalarBytes(Kind kind) {
  switch (kind) {
  case Kind::UInt8:
  case Kind::Int8:
  case Kind::Bool:
    return 1;
  case Kind::UInt16:
  case Kind::Int16:
    return 2;
  case Kind::UInt32:
  case Kind::Int32:
  case Kind::Float32:
    return 4;
  case Kind::UInt64:
  case Kind::Int64:
  case Kind::Float64:
    return 8;
  default:
    return 0;
  }
}

bool GgufValue::isInteger() const { return isIntegerKind(kind); }

bool GgufValue::isFloat() const {
  return kind == Kind::Float32 || kind == Kind::Float64;
}

std::string GgufValue::typeName() const {
  if (kind == Kind::Array)
    return std::string("array of ") + kindName(elementKind);
  return kindName(kind);
}

int64_t GgufTensor::numElements() const {
  int64_t count = 1;
  for (int64_t dim : dims)
    count *= dim;
  return count;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {
/// Reads little-endian fields, refusing to run past the end.
class Cursor {
public:
  Cursor(llvm::StringRef path, llvm::StringRef bytes)
      : path(path), begin(bytes.bytes_begin()), end(bytes.bytes_end()),
        at(begin) {}

  uint64_t offset() const { return at - begin; }
  uint64_t left() const { return end - at; }

  llvm::Error need(uint64_t bytes, const Twine &what) {
    if (bytes > left())
      return fail("truncated: " + what + " needs " + Twine(bytes) +
                  " bytes, " + Twine(left()) + " are left");
    return llvm::Error::success();
  }
  template <typename T>
  llvm::Error read(T &value, const Twine &what) {
    if (llvm::Error err = need(sizeof(T), what))
      return err;
    value = endian::read<T, llvm::endianness::little>(at);
    at += sizeof(T);
    return llvm::Error::success();
  }
  llvm::Error readString(llvm::StringRef &value, const Twine &what) {
    uint64_t length;
    if (llvm::Error err = read(length, what + " length"))
      return err;
    if (length > left())
      return fail(what + " claims " + Twine(length) + " bytes, " +
                  Twine(left()) + " are left");
    value = llvm::StringRef(reinterpret_cast<const char *>(at), length);
    at += length;
    return llvm::Error::success();
  }
  llvm::Error fail(const Twine &message) const {
    return createStringError(path + ": at byte " + Twine(offset()) + ": " +
                             message);
  }

  llvm::StringRef path;
  const uint8_t *begin, *end, *at;
};
} // namespace

/// Reads a `T` into `value`'s integer, or its number for floating point.
template <typename T>
static llvm::Error readAs(Cursor &cursor, GgufValue &value, const Twine &what) {
  using Bits = std::conditional_t<sizeof(T) == 8, uint64_t,
                                  std::conditional_t<sizeof(T) == 4, uint32_t,
                                                     std::conditional_t<sizeof(T) == 2, uint16_t, uint8_t>>>;
  Bits bits;
  if (llvm::Error err = cursor.read(bits, what))
    return err;
  T v;
  std::memcpy(&v, &bits, sizeof(v));
  if constexpr (std::is_floating_point_v<T>)
    value.number = v;
  else
    value.integer = static_cast<int64_t>(v);
  if constexpr (std::is_same_v<T, uint64_t>)
    value.tooLarge = v > uint64_t(INT64_MAX);
  return llvm::Error::success();
}

/// Reads a scalar of `kind` into `value`.
static llvm::Error readScalar(Cursor &cursor, Kind kind, GgufValue &value,
                              const Twine &what) {
  switch (kind) {
  case Kind::UInt8:
    return readAs<uint8_t>(cursor, value, what);
  case Kind::Bool:
    if (llvm::Error err = readAs<uint8_t>(cursor, value, what))
      return err;
    if (value.integer > 1)
      return cursor.fail(what + ": bool value " + Twine(value.integer));
    return llvm::Error::success();
  case Kind::Int8:
    return readAs<int8_t>(cursor, value, what);
  case Kind::UInt16:
    return readAs<uint16_t>(cursor, value, what);
  case Kind::Int16:
    return readAs<int16_t>(cursor, value, what);
  case Kind::UInt32:
    return readAs<uint32_t>(cursor, value, what);
  case Kind::Int32:
    return readAs<int32_t>(cursor, value, what);
  case Kind::UInt64:
    return readAs<uint64_t>(cursor, value, what);
  case Kind::Int64:
    return readAs<int64_t>(cursor, value, what);
  case Kind::Float32:
    return readAs<float>(cursor, value, what);
  case Kind::Float64:
    return readAs<double>(cursor, value, what);
  case Kind::String:
    return cursor.readString(value.string, what);
  case Kind::Array:
    break;
  }
  return cursor.fail(what + ": value type " + Twine(uint32_t(kind)) +
                     " is not a GGUF scalar type");
}

static llvm::Error readValue(Cursor &cursor, GgufValue &value,
                             const Twine &what) {
  uint32_t kind;
  if (llvm::Error err = cursor.read(kind, what + " type"))
    return err;
  if (kind > uint32_t(Kind::Float64))
    return cursor.fail(what + ": unknown value type " + Twine(kind));
  value.kind = static_cast<Kind>(kind);
  if (value.kind != Kind::Array)
    return readScalar(cursor, value.kind, value, what);

  uint32_t elementKind;
  uint64_t count;
  if (llvm::Error err = cursor.read(elementKind, what + " element type"))
    return err;
  if (elementKind > uint32_t(Kind::Float64))
    return cursor.fail(what + ": unknown array element type " +
                       Twine(elementKind));
  value.elementKind = static_cast<Kind>(elementKind);
  if (value.elementKind == Kind::Array)
    return cursor.fail(what + ": arrays of arrays are not supported");
  if (llvm::Error err = cursor.read(count, what + " length"))
    return err;
  // Each element takes at least a byte (a string its 8-byte length): a
  // count beyond the bytes left is refused before anything is allocated.
  uint64_t least =
      value.elementKind == Kind::String ? 8 : scalarBytes(value.elementKind);
  if (count > cursor.left() / least)
    return cursor.fail(what + ": array of " + Twine(count) + " " +
                       kindName(value.elementKind) + " elements does not fit "
                       "in the " + Twine(cursor.left()) + " bytes left");
  GgufValue element;
  if (value.elementKind == Kind::String)
    value.strings.reserve(count);
  else if (isIntegerKind(value.elementKind))
    value.integers.reserve(count);
  else
    value.numbers.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (llvm::Error err =
            readScalar(cursor, value.elementKind, element,
                       what + " element " + Twine(i)))
      return err;
    if (value.elementKind == Kind::String)
      value.strings.push_back(element.string);
    else if (isIntegerKind(value.elementKind))
      value.integers.push_back(element.integer);
    else
      value.numbers.push_back(element.number);
  }
  return llvm::Error::success();
}

/// The most dimensions a ggml tensor has.
constexpr uint32_t kMaxDims = 4;

llvm::Error GgufFile::read(llvm::StringRef contents) {
  Cursor cursor(filePath, contents);
  if (contents.size() < 4 || !contents.starts_with("GGUF"))
    return createStringError(filePath +
                             ": not a GGUF file (no \"GGUF\" magic)");
  cursor.at += 4;
  if (llvm::Error err = cursor.read(fileVersion, "the version"))
    return err;
  if (fileVersion != 2 && fileVersion != 3)
    return createStringError(filePath + ": GGUF version " +
                             Twine(fileVersion) +
                             " is not supported (versions 2 and 3 are)");
  uint64_t tensorCount, valueCount;
  if (llvm::Error err = cursor.read(tensorCount, "the tensor count"))
    return err;
  if (llvm::Error err = cursor.read(valueCount, "the metadata count"))
    return err;
  // A key-value pair takes at least 12 bytes, a tensor info 24.
  if (valueCount > cursor.left() / 12)
    return cursor.fail("metadata count " + Twine(valueCount) +
                       " does not fit in the file");
  if (tensorCount > cursor.left() / 24)
    return cursor.fail("tensor count " + Twine(tensorCount) +
                       " does not fit in the file");

  for (uint64_t i = 0; i < valueCount; ++i) {
    llvm::StringRef key;
    if (llvm::Error err = cursor.readString(key, "metadata key " + Twine(i)))
      return err;
    if (key.empty())
      return cursor.fail("metadata key " + Twine(i) + " is empty");
    GgufValue value;
    if (llvm::Error err = readValue(cursor, value, "'" + key + "'"))
      return err;
    if (!values.try_emplace(key, std::move(value)).second)
      return cursor.fail("metadata key '" + key + "' appears twice");
    keyOrder.push_back(key.str());
  }

  if (const GgufValue *align = find("general.alignment")) {
    if (!align->isInteger() || align->tooLarge || align->integer <= 0 ||
        !llvm::isPowerOf2_64(align->integer) || align->integer > (1 << 20))
      return createStringError(filePath +
                               ": general.alignment must be a power of two "
                               "up to 1 MiB");
    dataAlignment = align->integer;
  }

  for (uint64_t i = 0; i < tensorCount; ++i) {
    GgufTensor tensor;
    llvm::StringRef name;
    if (llvm::Error err = cursor.readString(name, "tensor " + Twine(i) +
                                                      " name"))
      return err;
    tensor.name = name.str();
    std::string what = ("tensor '" + name + "'").str();
    uint32_t dimCount;
    if (llvm::Error err = cursor.read(dimCount, what + " dimension count"))
      return err;
    if (dimCount == 0 || dimCount > kMaxDims)
      return cursor.fail(what + " has " + Twine(dimCount) +
                         " dimensions (1 to 4 expected)");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < dimCount; ++d) {
      uint64_t dim;
      if (llvm::Error err = cursor.read(dim, what + " dimension"))
        return err;
      if (dim == 0 || dim > (uint64_t(1) << 40) ||
          elements > (uint64_t(1) << 48) / dim)
        return cursor.fail(what + " has dimension " + Twine(dim) +
                           " (empty or too large)");
      elements *= dim;
      tensor.dims.push_back(int64_t(dim));
    }
    if (llvm::Error err = cursor.read(tensor.type, what + " type"))
      return err;
    if (llvm::Error err = cursor.read(tensor.offset, what + " offset"))
      return err;
    if (!tensorIndex.try_emplace(name, tensorTable.size()).second)
      return cursor.fail("tensor '" + name + "' appears twice");
    tensorTable.push_back(std::move(tensor));
  }

  uint64_t dataStart = llvm::alignTo(cursor.offset(), dataAlignment);
  if (dataStart > contents.size() && !tensorTable.empty())
    return createStringError(filePath + ": the tensor data section starts at "
                             "byte " + Twine(dataStart) +
                             ", past the end of the file");
  uint64_t dataSize =
      dataStart > contents.size() ? 0 : contents.size() - dataStart;
  const uint8_t *data = contents.bytes_begin() + dataStart;

  for (GgufTensor &tensor : tensorTable) {
    std::string what = filePath + ": tensor '" + tensor.name + "'";
    std::optional<GgmlBlock> block = ggmlBlock(tensor.type);
    if (!block) // Unknown size: its bytes cannot be checked here.
      continue;
    if (tensor.dims[0] % block->elements != 0)
      return createStringError(what + ": its rows of " +
                               Twine(tensor.dims[0]) + " " +
                               ggmlTypeName(tensor.type) +
                               " values are not whole blocks of " +
                               Twine(block->elements));
    tensor.bytes =
        uint64_t(tensor.numElements() / block->elements) * block->bytes;
    if (tensor.offset % dataAlignment != 0)
      return createStringError(what + ": offset " + Twine(tensor.offset) +
                               " is not a multiple of the alignment " +
                               Twine(dataAlignment));
    if (tensor.offset > dataSize || tensor.bytes > dataSize - tensor.offset)
      return createStringError(
          what + ": its " + Twine(tensor.bytes) + " bytes at offset " +
          Twine(tensor.offset) + " run past the end of the file (the data "
          "section holds " + Twine(dataSize) + ")");
    tensor.data = data + tensor.offset;
  }

  // No two tensors may share bytes.
  std::vector<const GgufTensor *> byOffset;
  for (const GgufTensor &tensor : tensorTable)
    if (tensor.data)
      byOffset.push_back(&tensor);
  llvm::sort(byOffset, [](const GgufTensor *a, const GgufTensor *b) {
    return a->offset < b->offset;
  });
  for (size_t i = 1; i < byOffset.size(); ++i)
    if (byOffset[i - 1]->offset + byOffset[i - 1]->bytes >
        byOffset[i]->offset)
      return createStringError(filePath + ": tensors '" +
                               byOffset[i - 1]->name + "' and '" +
                               byOffset[i]->name + "' overlap");
  return llvm::Error::success();
}

GgufFile::~GgufFile() = default;

llvm::Expected<std::unique_ptr<GgufFile>>
GgufFile::parse(llvm::StringRef path, llvm::StringRef contents) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->filePath = path.str();
  if (llvm::Error err = file->read(contents))
    return std::move(err);
  return std::move(file);
}

llvm::Expected<std::unique_ptr<GgufFile>>
GgufFile::open(llvm::StringRef path) {
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      readInputFile(path, /*isText=*/false);
  if (!buffer)
    return buffer.takeError();
  llvm::Expected<std::unique_ptr<GgufFile>> file =
      parse(path, (*buffer)->getBuffer());
  if (!file)
    return file.takeError();
  (*file)->buffer = std::move(*buffer);
  return file;
}

const GgufValue *GgufFile::find(llvm::StringRef key) const {
  auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

llvm::Expected<std::optional<int64_t>>
GgufFile::getInteger(llvm::StringRef key) const {
  const GgufValue *value = find(key);
  if (!value)
    return std::nullopt;
  if (!value->isInteger() || value->kind == Kind::Bool)
    return createStringError(filePath + ": '" + key + "' is a " +
                             value->typeName() + ", not an integer");
  if (value->tooLarge)
    return createStringError(filePath + ": '" + key + "' is out of range");
  return value->integer;
}

llvm::Expected<std::optional<double>>
GgufFile::getNumber(llvm::StringRef key) const {
  const GgufValue *value = find(key);
  if (!value)
    return std::nullopt;
  if (value->isFloat())
    return value->number;
  if (value->isInteger() && value->kind != Kind::Bool && !value->tooLarge)
    return double(value->integer);
  return createStringError(filePath + ": '" + key + "' is a " +
                           value->typeName() + ", not a number");
}

llvm::Expected<std::optional<llvm::StringRef>>
GgufFile::getString(llvm::StringRef key) const {
  const GgufValue *value = find(key);
  if (!value)
    return std::nullopt;
  if (value->kind != Kind::String)
    return createStringError(filePath + ": '" + key + "' is a " +
                             value->typeName() + ", not a string");
  return value->string;
}

llvm::Expected<const GgufValue *>
GgufFile::getArray(llvm::StringRef key, GgufValue::Kind kind) const {
  const GgufValue *value = find(key);
  if (!value)
    return nullptr;
  bool matches = value->kind == Kind::Array &&
                 (kind == Kind::Int64 ? isIntegerKind(value->elementKind)
                                      : value->elementKind == kind);
  if (!matches)
    return createStringError(filePath + ": '" + key + "' is a " +
                             value->typeName() + ", not an array of " +
                             kindName(kind));
  return value;
}

const GgufTensor *GgufFile::findTensor(llvm::StringRef name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensorTable[it->second];
}
