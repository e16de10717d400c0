//===- TensorSource.cpp - Named tensors, whatever file holds them ---------===//

#include "frontend/TensorSource.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"

#include <cmath>
#include <cstring>
#include <optional>

using namespace llmc;

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

llvm::StringRef llmc::dtypeName(DType type) {
  switch (type) {
  case DType::F32:
    return "f32";
  case DType::BF16:
    return "bf16";
  case DType::F16:
    return "f16";
  }
  llvm_unreachable("unknown DType");
}

unsigned llmc::dtypeBytes(DType type) {
  switch (type) {
  case DType::F32:
    return 4;
  case DType::BF16:
  case DType::F16:
    return 2;
  }
  llvm_unreachable("unknown DType");
}

llvm::Expected<DType> llmc::parseDType(llvm::StringRef name) {
  std::optional<DType> type =
      llvm::StringSwitch<std::optional<DType>>(name.lower())
          .Cases("f32", "float32", DType::F32)
          .Cases("bf16", "bfloat16", DType::BF16)
          .Cases("f16", "float16", DType::F16)
          .Default(std::nullopt);
  if (!type)
    return llvm::createStringError("unknown dtype '" + name +
                                   "' (expected f32, bf16 or f16)");
  return *type;
}

//===----------------------------------------------------------------------===//
// Element conversion
//===----------------------------------------------------------------------===//

static float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

static uint32_t floatToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float llmc::bf16ToFloat(uint16_t bits) {
  return bitsToFloat(static_cast<uint32_t>(bits) << 16);
}

uint16_t llmc::floatToBF16(float value) {
  uint32_t bits = floatToBits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN: keep it a (quiet) NaN.
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  // Round to nearest, ties to even.
  bits += 0x7fffu + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

float llmc::f16ToFloat(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000) << 16;
  uint32_t exponent = (half >> 10) & 0x1f;
  uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) // Inf or NaN, payload kept.
    return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  return bitsToFloat(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

uint16_t llmc::floatToF16(float value) {
  uint32_t bits = floatToBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) // NaN
    return sign | 0x7e00 | ((magnitude >> 13) & 0x3ff);
  if (magnitude >= 0x477ff000u) // >= 65520 rounds to infinity
    return sign | 0x7c00;
  if (magnitude < 0x38800000u) { // below 2^-14: subnormal half
    int shift = 126 - static_cast<int>(magnitude >> 23);
    if (shift > 24)
      return sign;
    uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    uint32_t result = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (result & 1)))
      ++result;
    return sign | static_cast<uint16_t>(result);
  }
  uint32_t result = (magnitude - 0x38000000u) >> 13;
  uint32_t rest = magnitude & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (result & 1)))
    ++result;
  return sign | static_cast<uint16_t>(result);
}

//===----------------------------------------------------------------------===//
// TensorView
//===----------------------------------------------------------------------===//

int64_t TensorView::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

float TensorView::at(int64_t i) const {
  switch (dtype) {
  case DType::F32: {
    float value;
    std::memcpy(&value, data + 4 * i, sizeof(value));
    return value;
  }
  case DType::BF16:
    return bf16ToFloat(llvm::support::endian::read16le(data + 2 * i));
  case DType::F16:
    return f16ToFloat(llvm::support::endian::read16le(data + 2 * i));
  }
  llvm_unreachable("unknown DType");
}

TensorSource::~TensorSource() = default;

std::string llmc::substituteLayer(llvm::StringRef pattern, int64_t layer) {
  std::string name = pattern.str();
  size_t at = name.find(kLayerPlaceholder);
  if (at != std::string::npos)
    name.replace(at, kLayerPlaceholder.size(), std::to_string(layer));
  return name;
}
