//===- GgufWriter.cpp - GGUF files for tests ------------------------------===//

#include "GgufWriter.h"

#include "frontend/TensorSource.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llmc::test;

namespace {
template <typename T> void put(std::string &out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T)); // These hosts are little-endian.
  out.append(bytes, sizeof(T));
}

void putString(std::string &out, const std::string &value) {
  put<uint64_t>(out, value.size());
  out += value;
}

void putHalf(std::string &out, float value) {
  put<uint16_t>(out, llmc::floatToF16(value));
}

/// The value the dequantizer will read back for a scale stored as f16.
float asHalf(float value) { return llmc::f16ToFloat(llmc::floatToF16(value)); }

int nearest(float value) { return static_cast<int>(std::lround(value)); }

void quantizeQ8_0(std::string &out, const float *x) {
  float amax = 0;
  for (int i = 0; i < 32; ++i)
    amax = std::max(amax, std::fabs(x[i]));
  float d = amax / 127;
  putHalf(out, d);
  float id = d != 0 ? 1 / d : 0;
  for (int i = 0; i < 32; ++i)
    put<int8_t>(out, static_cast<int8_t>(std::clamp(nearest(x[i] * id), -127,
                                                    127)));
}

void quantizeQ4_0(std::string &out, const float *x) {
  // The value of largest magnitude maps to -8: d = max / -8.
  float max = 0;
  for (int i = 0; i < 32; ++i)
    if (std::fabs(x[i]) > std::fabs(max))
      max = x[i];
  float d = max / -8;
  putHalf(out, d);
  float id = d != 0 ? 1 / d : 0;
  auto q = [&](int i) {
    return std::clamp(static_cast<int>(std::floor(x[i] * id + 8.5f)), 0, 15);
  };
  for (int i = 0; i < 16; ++i)
    put<uint8_t>(out, static_cast<uint8_t>(q(i) | (q(i + 16) << 4)));
}

void quantizeQ4_K(std::string &out, const float *x) {
  float scales[8], mins[8], maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; ++j) {
    const float *sub = x + 32 * j;
    float lo = *std::min_element(sub, sub + 32);
    float hi = *std::max_element(sub, sub + 32);
    lo = std::min(lo, 0.0f);
    scales[j] = (hi - lo) / 15;
    mins[j] = -lo;
    maxScale = std::max(maxScale, scales[j]);
    maxMin = std::max(maxMin, mins[j]);
  }
  float d = asHalf(maxScale / 63), dmin = asHalf(maxMin / 63);
  uint8_t packed[12] = {};
  int ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = d > 0 ? std::clamp(nearest(scales[j] / d), 0, 63) : 0;
    lm[j] = dmin > 0 ? std::clamp(nearest(mins[j] / dmin), 0, 63) : 0;
    if (j < 4) {
      packed[j] = static_cast<uint8_t>(ls[j]);
      packed[j + 4] = static_cast<uint8_t>(lm[j]);
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      packed[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
  putHalf(out, d);
  putHalf(out, dmin);
  out.append(reinterpret_cast<const char *>(packed), 12);
  int q[256];
  for (int j = 0; j < 8; ++j) {
    float step = d * ls[j], offset = dmin * lm[j];
    for (int i = 0; i < 32; ++i)
      q[32 * j + i] =
          step > 0 ? std::clamp(nearest((x[32 * j + i] + offset) / step), 0, 15)
                   : 0;
  }
  for (int pair = 0; pair < 4; ++pair)
    for (int i = 0; i < 32; ++i)
      put<uint8_t>(out, static_cast<uint8_t>(q[64 * pair + i] |
                                             (q[64 * pair + 32 + i] << 4)));
}

void quantizeQ6_K(std::string &out, const float *x) {
  float scales[16], maxScale = 0;
  for (int j = 0; j < 16; ++j) {
    float amax = 0;
    for (int i = 0; i < 16; ++i)
      amax = std::max(amax, std::fabs(x[16 * j + i]));
    scales[j] = amax / 31;
    maxScale = std::max(maxScale, scales[j]);
  }
  float d = asHalf(maxScale / 127);
  int ls[16], q[256];
  for (int j = 0; j < 16; ++j) {
    ls[j] = d > 0 ? std::clamp(nearest(scales[j] / d), -128, 127) : 0;
    float step = d * ls[j];
    for (int i = 0; i < 16; ++i)
      q[16 * j + i] =
          (step != 0 ? std::clamp(nearest(x[16 * j + i] / step), -32, 31)
                     : 0) +
          32;
  }
  uint8_t ql[128] = {}, qh[64] = {};
  for (int half = 0; half < 2; ++half) {
    const int *v = q + 128 * half;
    for (int l = 0; l < 32; ++l) {
      ql[64 * half + l] = static_cast<uint8_t>((v[l] & 0xF) |
                                               ((v[l + 64] & 0xF) << 4));
      ql[64 * half + l + 32] = static_cast<uint8_t>(
          (v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
      qh[32 * half + l] = static_cast<uint8_t>(
          (v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) |
          ((v[l + 96] >> 4) << 6));
    }
  }
  out.append(reinterpret_cast<const char *>(ql), 128);
  out.append(reinterpret_cast<const char *>(qh), 64);
  for (int j = 0; j < 16; ++j)
    put<int8_t>(out, static_cast<int8_t>(ls[j]));
  putHalf(out, d);
}
} // namespace

int64_t llmc::test::ggmlBlockElements(uint32_t type) {
  switch (type) {
  case kF32:
  case kF16:
  case kBF16:
    return 1;
  case kQ8_0:
  case kQ4_0:
    return 32;
  case kQ4_K:
  case kQ6_K:
    return 256;
  default:
    return 0;
  }
}

std::string llmc::test::encodeGgml(uint32_t type, const float *values,
                                   int64_t n) {
  std::string out;
  switch (type) {
  case kF32:
    out.assign(reinterpret_cast<const char *>(values), n * sizeof(float));
    break;
  case kF16:
    for (int64_t i = 0; i < n; ++i)
      put<uint16_t>(out, llmc::floatToF16(values[i]));
    break;
  case kBF16:
    for (int64_t i = 0; i < n; ++i)
      put<uint16_t>(out, llmc::floatToBF16(values[i]));
    break;
  case kQ8_0:
    for (int64_t b = 0; b < n; b += 32)
      quantizeQ8_0(out, values + b);
    break;
  case kQ4_0:
    for (int64_t b = 0; b < n; b += 32)
      quantizeQ4_0(out, values + b);
    break;
  case kQ4_K:
    for (int64_t b = 0; b < n; b += 256)
      quantizeQ4_K(out, values + b);
    break;
  case kQ6_K:
    for (int64_t b = 0; b < n; b += 256)
      quantizeQ6_K(out, values + b);
    break;
  }
  return out;
}

void GgufWriter::setU32(const std::string &key, uint32_t value) {
  std::string payload;
  put(payload, value);
  setRaw(key, kU32, payload);
}

void GgufWriter::setI32(const std::string &key, int32_t value) {
  std::string payload;
  put(payload, value);
  setRaw(key, kI32, payload);
}

void GgufWriter::setU64(const std::string &key, uint64_t value) {
  std::string payload;
  put(payload, value);
  setRaw(key, kU64, payload);
}

void GgufWriter::setF32(const std::string &key, float value) {
  std::string payload;
  put(payload, value);
  setRaw(key, kFloat32, payload);
}

void GgufWriter::setBool(const std::string &key, bool value) {
  setRaw(key, kBool, std::string(1, value ? 1 : 0));
}

void GgufWriter::setString(const std::string &key, const std::string &value) {
  std::string payload;
  putString(payload, value);
  setRaw(key, kString, payload);
}

void GgufWriter::setStrings(const std::string &key,
                            const std::vector<std::string> &strings) {
  std::string payload;
  put<uint32_t>(payload, kString);
  put<uint64_t>(payload, strings.size());
  for (const std::string &value : strings)
    putString(payload, value);
  setRaw(key, kArray, payload);
}

void GgufWriter::setI32s(const std::string &key,
                         const std::vector<int32_t> &integers) {
  std::string payload;
  put<uint32_t>(payload, kI32);
  put<uint64_t>(payload, integers.size());
  for (int32_t value : integers)
    put(payload, value);
  setRaw(key, kArray, payload);
}

void GgufWriter::setRaw(const std::string &key, uint32_t kind,
                        std::string payload) {
  for (Value &value : values)
    if (value.key == key) {
      value.kind = kind;
      value.payload = std::move(payload);
      return;
    }
  values.push_back({key, kind, std::move(payload)});
}

void GgufWriter::addTensor(const std::string &name, uint32_t type,
                           std::vector<int64_t> dims, std::string bytes,
                           std::optional<uint64_t> offset) {
  tensors.push_back(
      {name, type, std::move(dims), std::move(bytes), offset});
}

std::string GgufWriter::write(uint32_t version, uint64_t alignment) const {
  std::vector<Value> all = values;
  if (alignment != 32) {
    std::string payload;
    put<uint32_t>(payload, static_cast<uint32_t>(alignment));
    all.push_back({"general.alignment", kU32, payload});
  }
  std::string out = "GGUF";
  put<uint32_t>(out, version);
  put<uint64_t>(out, tensors.size());
  put<uint64_t>(out, all.size());
  for (const Value &value : all) {
    putString(out, value.key);
    put<uint32_t>(out, value.kind);
    out += value.payload;
  }
  auto align = [&](uint64_t n) { return (n + alignment - 1) / alignment * alignment; };
  std::vector<uint64_t> offsets;
  uint64_t next = 0;
  for (const Tensor &tensor : tensors) {
    putString(out, tensor.name);
    put<uint32_t>(out, static_cast<uint32_t>(tensor.dims.size()));
    for (int64_t dim : tensor.dims)
      put<uint64_t>(out, static_cast<uint64_t>(dim));
    put<uint32_t>(out, tensor.type);
    // A given offset is written as it is; the bytes go there only when
    // they lie inside the data the other tensors make.
    uint64_t offset = tensor.offset.value_or(next);
    put<uint64_t>(out, offset);
    offsets.push_back(offset);
    if (!tensor.offset)
      next = align(next + tensor.bytes.size());
  }
  out.resize(align(out.size()), '\0');
  size_t dataStart = out.size();
  out.resize(dataStart + next, '\0');
  for (size_t i = 0; i < tensors.size(); ++i)
    if (offsets[i] + tensors[i].bytes.size() <= next)
      std::memcpy(&out[dataStart + offsets[i]], tensors[i].bytes.data(),
                  tensors[i].bytes.size());
  return out;
}
