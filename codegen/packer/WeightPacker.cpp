//===- WeightPacker.cpp - Write the packed weight file --------------------===//

#include "codegen/packer/WeightPacker.h"

#include "codegen/Passes.h"
#include "runtime/abi/ModelABI.h"

#include "llvm/ADT/Hashing.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Sources of one layer of a parameter, rows concatenated.
struct Sources {
  SmallVector<const llmc::TensorView *> parts;
  const llmc::TensorView *scale = nullptr;
  int64_t rows = 0, cols = 0;
};

static llvm::Expected<Sources> gather(ParamOp param, int64_t layer,
                                      const llmc::TensorSource &tensors) {
  Sources s;
  RankedTensorType type = param.getTensorType();
  s.cols = type.getRank() == 2 ? type.getDimSize(1) : 1;
  // Group offsets come from their sources' groups of columns.
  if (std::optional<ArrayRef<int64_t>> of = param.getOffsetsOf())
    s.cols *= (*of)[1];
  for (Attribute source : param.getSources()) {
    std::string name =
        llmc::substituteLayer(cast<StringAttr>(source).getValue(), layer);
    const llmc::TensorView *tensor = tensors.find(name);
    if (!tensor)
      return llvm::createStringError("missing tensor '" + name + "'");
    int64_t cols = tensor->shape.size() == 2 ? tensor->shape[1] : 1;
    if (cols != s.cols)
      return llvm::createStringError(
          "tensor '" + name + "' has " + std::to_string(cols) +
          " columns, expected " + std::to_string(s.cols));
    s.rows += tensor->shape.empty() ? 0 : tensor->shape[0];
    s.parts.push_back(tensor);
  }
  if (s.rows != type.getDimSize(0))
    return llvm::createStringError("parameter " + param.getSymName().str() +
                                   ": sources have " + std::to_string(s.rows) +
                                   " rows, expected " +
                                   std::to_string(type.getDimSize(0)));
  if (std::optional<StringRef> scale = param.getScale()) {
    std::string name = llmc::substituteLayer(*scale, layer);
    s.scale = tensors.find(name);
    if (!s.scale || s.scale->numElements() != s.cols)
      return llvm::createStringError("scale tensor '" + name +
                                     "' is missing or has the wrong size");
  }
  return s;
}

/// Converts `count` elements of `tensor` starting at element `first` to f32.
static void decodeRow(const llmc::TensorView &tensor, int64_t first,
                      int64_t count, float *out) {
  const uint8_t *base = tensor.data;
  switch (tensor.dtype) {
  case llmc::DType::F32:
    std::memcpy(out, base + first * 4, count * 4);
    return;
  case llmc::DType::BF16:
    for (int64_t i = 0; i < count; ++i) {
      uint16_t bits;
      std::memcpy(&bits, base + (first + i) * 2, 2);
      out[i] = llmc::bf16ToFloat(bits);
    }
    return;
  case llmc::DType::F16:
    for (int64_t i = 0; i < count; ++i) {
      uint16_t bits;
      std::memcpy(&bits, base + (first + i) * 2, 2);
      out[i] = llmc::f16ToFloat(bits);
    }
    return;
  }
}

/// Stores `count` f32 values as `element` at `out` in groups of `group`
/// consecutive elements, the groups `stride` elements apart.
static void encodeStrided(Type element, const float *values, int64_t count,
                          uint8_t *out, int64_t stride, int64_t group) {
  auto place = [&](int64_t i) { return (i / group) * stride + i % group; };
  if (element.isF32()) {
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(out + place(i) * 4, &values[i], 4);
    return;
  }
  if (element.isInteger(8)) {
    for (int64_t i = 0; i < count; ++i)
      out[place(i)] = static_cast<uint8_t>(static_cast<int8_t>(values[i]));
    return;
  }
  bool bf16 = element.isBF16();
  for (int64_t i = 0; i < count; ++i) {
    uint16_t bits =
        bf16 ? llmc::floatToBF16(values[i]) : llmc::floatToF16(values[i]);
    std::memcpy(out + place(i) * 2, &bits, 2);
  }
}

/// Copies the group at `v` into `sorted` (its size) in ascending order and
/// returns the smallest gap between two different values (0 when they are
/// all equal): the step of a grid the values were quantized to before.
static float sortGroup(const float *v, std::vector<float> &sorted) {
  std::copy(v, v + sorted.size(), sorted.begin());
  std::sort(sorted.begin(), sorted.end());
  float gap = 0;
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i] > sorted[i - 1] &&
        (gap == 0 || sorted[i] - sorted[i - 1] < gap))
      gap = sorted[i] - sorted[i - 1];
  return gap;
}

/// Adds the steps of the grid values that were quantized before may lie on
/// to `candidates`: the smallest gap between two of them, or a half, third
/// or quarter of it when the group skips levels (a Q6_K group of 16 whose
/// values are 2 and 3 steps apart has no gap of one step), each only while
/// `span` (the group's largest magnitude or its range) is at most `levels`
/// of them.
static void addGridSteps(float gap, float span, float levels,
                         SmallVectorImpl<float> &candidates) {
  for (int parts = 1; gap > 0 && parts <= 4; ++parts)
    if (span / (gap / parts) <= levels + 0.5f)
      candidates.push_back(gap / parts);
}

/// Quantizes a row in place to the `bits`-bit integers of its groups of
/// `group` values (symmetric) and returns each group's scale, rounded to f16
/// first so that scale x integer is the value the kernels compute. With 8
/// bits a group's largest magnitude becomes 127, or 8 or 32 when that
/// reproduces the group more closely; with 4 (6) bits its value of largest
/// magnitude becomes -8 (-32; the scale may be negative), or its magnitude
/// 7 (31); or
/// the step is the smallest gap between two values. Values that were
/// quantized before (GGUF's Q8_0, Q4_0, Q6_K) come back exactly instead of
/// on a second grid.
static std::vector<uint16_t> quantizeRow(float *values, int64_t count,
                                         int64_t group, unsigned bits) {
  std::vector<uint16_t> scales;
  std::vector<float> best(group), trial(group), sorted(group);
  for (int64_t start = 0; start < count; start += group) {
    float *v = values + start;
    float amax = 0, extreme = 0;
    for (int64_t i = 0; i < group; ++i) {
      amax = std::max(amax, std::fabs(v[i]));
      if (std::fabs(v[i]) > std::fabs(extreme))
        extreme = v[i];
    }
    float hi = float((1 << (bits - 1)) - 1), lo = bits == 8 ? -hi : -hi - 1;
    SmallVector<float, 8> candidates;
    if (bits < 8)
      candidates = {extreme / lo, amax / hi};
    else
      candidates = {amax / 127.0f, amax / 8.0f, amax / 32.0f};
    // Values on a grid already (GGUF's Q6_K in groups of 16, whose extremes
    // need not be the grid's): the smallest gap between two of them.
    float gap = sortGroup(v, sorted);
    gap = gap > 0 ? std::min(gap, amax) : amax;
    addGridSteps(gap, amax, hi, candidates);
    double bestError = INFINITY;
    uint16_t bestBits = 0;
    for (float candidate : candidates) {
      uint16_t f16 = llmc::floatToF16(candidate);
      float scale = llmc::f16ToFloat(f16);
      double error = 0;
      for (int64_t i = 0; i < group; ++i) {
        trial[i] = scale != 0
                       ? std::clamp(std::nearbyint(v[i] / scale), lo, hi)
                       : 0.0f;
        double diff = double(trial[i]) * scale - v[i];
        error += diff * diff;
      }
      if (error < bestError) {
        bestError = error;
        bestBits = f16;
        best.swap(trial);
      }
    }
    std::copy(best.begin(), best.end(), v);
    scales.push_back(bestBits);
  }
  return scales;
}

/// Quantizes a row in place to the `bits`-bit integers of its groups of
/// `group` values with an offset each (value = scale x integer + offset), and
/// returns each group's scale and offset, both rounded to f16 as the kernels
/// read them. The step is the group's range over the integers' (15 or 254
/// steps), or the smallest gap between two of its values when the values
/// are on such a grid already (GGUF's Q4_K, whose groups need not span all
/// 16 levels), whichever reproduces the group more closely; the integers are
/// centred on zero and the offset is the mean of what they leave.
static std::vector<uint16_t>
quantizeRowAsymmetric(float *values, int64_t count, int64_t group,
                      unsigned bits, std::vector<uint16_t> &offsets) {
  std::vector<uint16_t> scales;
  std::vector<float> best(group), trial(group), sorted(group);
  float lo = bits == 8 ? -127.0f : -float(1 << (bits - 1));
  float levels = bits == 8 ? 254.0f : float((1 << bits) - 1);
  for (int64_t start = 0; start < count; start += group) {
    float *v = values + start;
    float gap = sortGroup(v, sorted);
    float vmin = sorted.front(), range = sorted.back() - vmin;
    SmallVector<float, 6> candidates = {range / levels};
    addGridSteps(gap, range, levels, candidates);
    double bestError = INFINITY;
    uint16_t bestScale = 0, bestOffset = llmc::floatToF16(vmin);
    if (range == 0)
      std::fill(best.begin(), best.end(), 0.0f);
    for (float candidate : candidates) {
      uint16_t f16 = llmc::floatToF16(candidate);
      float scale = llmc::f16ToFloat(f16);
      if (!(scale > 0) || std::isinf(scale))
        continue;
      // Steps above the minimum, then centred on zero so that the offset
      // is near the group's middle (an f16 rounds a small offset finely).
      float top = 0;
      for (int64_t i = 0; i < group; ++i) {
        trial[i] =
            std::clamp(std::nearbyint((v[i] - vmin) / scale), 0.0f, levels);
        top = std::max(top, trial[i]);
      }
      float shift = std::min(std::floor((top + 1) / 2), -lo);
      double residual = 0;
      for (int64_t i = 0; i < group; ++i) {
        trial[i] -= shift;
        residual += double(v[i]) - double(trial[i]) * scale;
      }
      uint16_t offsetBits = llmc::floatToF16(float(residual / group));
      float offset = llmc::f16ToFloat(offsetBits);
      double error = 0;
      for (int64_t i = 0; i < group; ++i) {
        double diff = double(trial[i]) * scale + offset - v[i];
        error += diff * diff;
      }
      if (error < bestError) {
        bestError = error;
        bestScale = f16;
        bestOffset = offsetBits;
        best.swap(trial);
      }
    }
    std::copy(best.begin(), best.end(), v);
    scales.push_back(bestScale);
    offsets.push_back(bestOffset);
  }
  return scales;
}

class Packer {
public:
  Packer(llvm::raw_fd_ostream &os, PackProgress progress, int64_t total)
      : os(os), progress(progress), total(total) {}

  /// Packs one layer of `param` into `buffer` (its padded size). Blocks of
  /// rows are independent, so they are converted in parallel.
  void pack(ParamOp param, const Sources &s, std::vector<uint8_t> &buffer) {
    RankedTensorType type = param.getTensorType();
    Type element = type.getElementType();
    unsigned bytes = std::max(1u, type.getElementTypeBitWidth() / 8);
    int64_t block = param.getBlock().value_or(1);
    bool blocked = param.getBlock().has_value();
    int64_t interleave = param.getInterleave();
    buffer.assign(paramLayerBytes(param), 0);
    // Columns stored per row (an offsets parameter's are its sources'
    // groups).
    int64_t cols = type.getRank() == 2 ? type.getDimSize(1) : 1;
    std::optional<ArrayRef<int64_t>> offsetsOf = param.getOffsetsOf();
    std::vector<float> scale;
    if (s.scale) {
      scale.resize(s.cols);
      decodeRow(*s.scale, 0, s.cols, scale.data());
    }
    // Which part and row within it each output row comes from.
    std::vector<std::pair<const llmc::TensorView *, int64_t>> rows;
    for (const llmc::TensorView *part : s.parts) {
      int64_t partRows = part->shape.empty() ? 1 : part->shape[0];
      for (int64_t r = 0; r < partRows; ++r)
        rows.push_back({part, r});
    }
    int64_t numRows = rows.size();
    int64_t numBlocks = llvm::divideCeil(numRows, block);
    int64_t crumbsOffset =
        element.isInteger(6) ? paramCrumbsOffset(param) : 0;
    llvm::parallelFor(0, numBlocks, [&](size_t b) {
      std::vector<float> values(s.cols);
      for (int64_t r = 0; r < block; ++r) {
        int64_t row = static_cast<int64_t>(b) * block + r;
        if (row >= numRows)
          break;
        decodeRow(*rows[row].first, rows[row].second * s.cols, s.cols,
                  values.data());
        for (int64_t k = 0; k < static_cast<int64_t>(scale.size()); ++k)
          values[k] *= scale[k];
        if (offsetsOf) {
          std::vector<uint16_t> offsets;
          quantizeRowAsymmetric(values.data(), s.cols, (*offsetsOf)[1],
                                (*offsetsOf)[0], offsets);
          for (int64_t g = 0; g < cols; ++g)
            values[g] = llmc::f16ToFloat(offsets[g]);
        }
        if (std::optional<int64_t> group = param.getGroup()) {
          // Scales [row / block][k / group][row % block] after the values.
          std::vector<uint16_t> offsets;
          std::vector<uint16_t> scales =
              param.getAsymmetric()
                  ? quantizeRowAsymmetric(values.data(), s.cols, *group,
                                          element.getIntOrFloatBitWidth(),
                                          offsets)
                  : quantizeRow(values.data(), s.cols, *group,
                                element.getIntOrFloatBitWidth());
          int64_t groups = s.cols / *group;
          uint8_t *base = buffer.data() + paramScalesOffset(param);
          for (int64_t g = 0; g < groups; ++g)
            std::memcpy(base + ((b * groups + g) * block + r) * 2, &scales[g],
                        2);
        }
        // Blocked: [row / block][k / n][row % block][k % n] for interleave
        // n (1 unless set); plain: [row][k]. i4: bytes [row / block][k /
        // n][(row % block) % (block / 2)][k % n], the low nibble for the
        // first half of the block, offset by 8.
        // i6: the low four bits of integer + 32 as i4's nibbles, the top
        // two after all of them, [row / block][k / n / 2][(row % block) %
        // (block / 2)][k % n], at bit 2 * (2 * (k / n % 2) + half).
        if (element.isInteger(4) || element.isInteger(6)) {
          int64_t half = block / 2;
          int bias = element.isInteger(4) ? 8 : 32;
          uint8_t *lane =
              buffer.data() + b * cols * half + r % half * interleave;
          uint8_t *crumbs = buffer.data() + crumbsOffset +
                            b * cols * half / 2 + r % half * interleave;
          int shift = r < half ? 0 : 4;
          for (int64_t k = 0; k < cols; ++k) {
            int64_t run = k / interleave;
            int u = static_cast<int>(values[k]) + bias;
            lane[run * half * interleave + k % interleave] |=
                static_cast<uint8_t>((u & 15) << shift);
            if (bias == 32)
              crumbs[run / 2 * half * interleave + k % interleave] |=
                  static_cast<uint8_t>((u >> 4)
                                       << (2 * (2 * (run % 2) + shift / 4)));
          }
        } else if (blocked)
          encodeStrided(element, values.data(), cols,
                        buffer.data() +
                            (b * cols * block + r * interleave) * bytes,
                        block * interleave, interleave);
        else
          encodeStrided(element, values.data(), cols,
                        buffer.data() + row * cols * bytes, 1, 1);
      }
    });
  }

  void write(const std::vector<uint8_t> &data, int64_t alignedSize) {
    os.write(reinterpret_cast<const char *>(data.data()), data.size());
    fingerprint = llvm::hash_combine(
        fingerprint, llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(data)));
    os.write_zeros(alignedSize - data.size());
    written += alignedSize;
    if (progress)
      progress(written, total);
  }

  llvm::raw_fd_ostream &os;
  PackProgress progress;
  int64_t total, written = 0;
  uint64_t fingerprint = 0x6c6c6d63;
};

} // namespace

llvm::Expected<uint64_t>
mlir::llm::packWeights(ModuleOp module, const llmc::TensorSource &tensors,
                       llvm::StringRef tokenizerImage, llvm::StringRef path,
                       PackProgress progress) {
  IntegerAttr totalAttr =
      LLMDialect::WeightsBytesAttrHelper(module.getContext()).getAttr(module);
  if (!totalAttr)
    return llvm::createStringError("weights are not planned (run "
                                   "llm-plan-weights)");
  int64_t total = totalAttr.getInt();
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(path + ": " + ec.message());

  const int64_t page = 4096;
  uint64_t weightsOffset = LLMC_WEIGHTS_HEADER_BYTES;
  static_assert(LLMC_WEIGHTS_HEADER_BYTES % 4096 == 0, "header is a page");
  os.write_zeros(weightsOffset);

  Packer packer(os, progress, total);
  std::vector<uint8_t> buffer;
  SmallVector<ParamOp> params(module.getOps<ParamOp>());
  for (ParamOp param : params)
    if (!param.getLayout() || !param.getLayout().isPlaced())
      return llvm::createStringError("parameter " + param.getSymName().str() +
                                     " has no offset");
  llvm::sort(params, [](ParamOp a, ParamOp b) {
    return *a.getLayout().getOffset() < *b.getLayout().getOffset();
  });
  for (ParamOp param : params) {
    PackedLayoutAttr layout = param.getLayout();
    if (*layout.getOffset() != packer.written)
      return llvm::createStringError("parameters overlap or leave gaps");
    Type element = param.getTensorType().getElementType();
    if ((element.isInteger(4) || element.isInteger(6)) &&
        param.getBlock().value_or(1) % 2 != 0)
      return llvm::createStringError("parameter " + param.getSymName().str() +
                                     ": i4 and i6 need an even block of rows");
    if (element.isInteger(6) &&
        (param.getInterleave() < 2 ||
         param.getTensorType().getDimSize(1) % (2 * param.getInterleave()) !=
             0))
      return llvm::createStringError(
          "parameter " + param.getSymName().str() +
          ": i6 needs an interleave n with an even number of runs of n "
          "columns");
    std::optional<ArrayRef<int64_t>> layerList = param.getLayerList();
    for (int64_t copy = 0; copy < std::max<int64_t>(param.getLayers(), 1);
         ++copy) {
      llvm::Expected<Sources> sources =
          gather(param, layerList ? (*layerList)[copy] : copy, tensors);
      if (!sources)
        return sources.takeError();
      packer.pack(param, *sources, buffer);
      packer.write(buffer, *layout.getLayerStride());
      // Packed: a source that expanded these tensors may free them (names
      // copied first: a release frees its view).
      std::vector<std::string> used;
      for (const llmc::TensorView *part : sources->parts)
        used.push_back(part->name);
      if (sources->scale)
        used.push_back(sources->scale->name);
      for (const std::string &name : used)
        tensors.release(name);
    }
  }
  uint64_t tokenizerOffset = 0;
  if (!tokenizerImage.empty()) {
    tokenizerOffset = weightsOffset + llvm::alignTo(total, page);
    os.write_zeros(tokenizerOffset - weightsOffset - total);
    os << tokenizerImage;
  }
  // The fingerprint also covers the layout, so a re-planned model with the
  // same bytes in other places does not match.
  uint64_t fingerprint = llvm::hash_combine(
      packer.fingerprint, total, static_cast<uint64_t>(params.size()));
  LlmcWeightsHeader header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, LLMC_WEIGHTS_MAGIC, 8);
  header.fingerprint = fingerprint;
  header.weights_offset = weightsOffset;
  header.weights_bytes = total;
  header.tokenizer_offset = tokenizerOffset;
  header.tokenizer_bytes = tokenizerImage.size();
  os.seek(0);
  os.write(reinterpret_cast<const char *>(&header), sizeof(header));
  os.close();
  if (os.has_error())
    return llvm::createStringError(path +
                                   ": write failed: " + os.error().message());
  return fingerprint;
}
