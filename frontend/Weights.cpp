//===- Weights.cpp - safetensors reader and synthetic model writer --------===//
//
// Maps safetensors files read-only and checks their headers; writes seeded
// random Llama weights in a streaming fashion for tests and benchmarks.
//
//===----------------------------------------------------------------------===//

#include "frontend/Weights.h"

#include "frontend/InputFiles.h"
#include "frontend/LlamaTensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <map>

using namespace llmc;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

static std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  return "[" + llvm::join(llvm::map_range(shape, [](int64_t d) {
                            return std::to_string(d);
                          }),
                          ", ") +
         "]";
}

//===----------------------------------------------------------------------===//
// safetensors parsing
//===----------------------------------------------------------------------===//

llvm::Error llmc::parseSafetensors(llvm::StringRef path,
                                   llvm::StringRef contents,
                                   std::vector<TensorView> &out) {
  if (contents.size() < 8)
    return llvm::createStringError(
        llvm::formatv("{0}: truncated file: {1} bytes, shorter "
                      "than the 8-byte header length",
                      path, contents.size()));
  uint64_t headerSize = llvm::support::endian::read64le(contents.data());
  if (headerSize > contents.size() - 8)
    return llvm::createStringError(
        llvm::formatv("{0}: truncated file: header length {1} "
                      "goes beyond the end of the file ({2} "
                      "bytes)",
                      path, headerSize, contents.size()));
  llvm::Expected<Value> header = parseJson(contents.substr(8, headerSize));
  if (!header)
    return llvm::createStringError(path + ": header is not valid JSON: " +
                                   llvm::toString(header.takeError()));
  const Object *root = header->getAsObject();
  if (!root)
    return llvm::createStringError(path + ": header is not a JSON object");

  const uint8_t *dataStart =
      reinterpret_cast<const uint8_t *>(contents.data()) + 8 + headerSize;
  uint64_t dataSize = contents.size() - 8 - headerSize;
  size_t first = out.size();
  for (const auto &entry : *root) {
    llvm::StringRef name = entry.first;
    if (name == "__metadata__")
      continue;
    auto error = [&](const llvm::Twine &message) {
      return llvm::createStringError(path + ": tensor '" + name +
                                     "': " + message);
    };
    const Object *info = entry.second.getAsObject();
    if (!info)
      return error("expected an object with dtype, shape and data_offsets");

    TensorView view;
    view.name = name.str();
    view.file = path.str();
    std::optional<llvm::StringRef> dtype = info->getString("dtype");
    if (!dtype)
      return error("missing dtype");
    if (*dtype == "F32")
      view.dtype = DType::F32;
    else if (*dtype == "BF16")
      view.dtype = DType::BF16;
    else if (*dtype == "F16")
      view.dtype = DType::F16;
    else
      return error("unknown dtype '" + *dtype +
                   "' (supported: F32, BF16, F16)");

    const Array *shape = info->getArray("shape");
    if (!shape)
      return error("missing shape");
    uint64_t elements = 1;
    for (const Value &dim : *shape) {
      std::optional<int64_t> size = dim.getAsInteger();
      if (!size || *size < 0)
        return error("shape entries must be non-negative integers");
      view.shape.push_back(*size);
      bool overflow = false;
      elements = llvm::SaturatingMultiply(elements,
                                          static_cast<uint64_t>(*size),
                                          &overflow);
      if (overflow)
        return error("shape " + shapeString(view.shape) + " is too large");
    }

    const Array *offsets = info->getArray("data_offsets");
    std::optional<int64_t> begin, end;
    if (offsets && offsets->size() == 2) {
      begin = (*offsets)[0].getAsInteger();
      end = (*offsets)[1].getAsInteger();
    }
    if (!begin || !end || *begin < 0 || *end < *begin)
      return error("data_offsets must be two integers [begin, end] with "
                   "0 <= begin <= end");
    if (static_cast<uint64_t>(*end) > dataSize)
      return error(llvm::formatv("data_offsets [{0}, {1}] out of range of the "
                                 "data section ({2} bytes)",
                                 *begin, *end, dataSize));
    view.bytes = *end - *begin;
    uint64_t expectedBytes = elements * dtypeBytes(view.dtype);
    if (expectedBytes / dtypeBytes(view.dtype) != elements ||
        expectedBytes != view.bytes)
      return error(llvm::formatv("shape {0} of {1} needs {2} bytes but "
                                 "data_offsets [{3}, {4}] hold {5}",
                                 shapeString(view.shape), *dtype,
                                 expectedBytes, *begin, *end, view.bytes));
    view.data = dataStart + *begin;
    out.push_back(std::move(view));
  }

  // Order the file's tensors by offset; neighbours must not overlap.
  auto fileTensors = llvm::MutableArrayRef<TensorView>(out).drop_front(first);
  llvm::sort(fileTensors, [](const TensorView &a, const TensorView &b) {
    return a.data < b.data || (a.data == b.data && a.name < b.name);
  });
  const TensorView *previous = nullptr;
  for (const TensorView &view : fileTensors) {
    if (view.bytes == 0)
      continue;
    if (previous && view.data < previous->data + previous->bytes)
      return llvm::createStringError(llvm::formatv(
          "{0}: tensor '{1}' [{2}, {3}] overlaps tensor '{4}' [{5}, {6}]", path,
          view.name, view.data - dataStart, view.data - dataStart + view.bytes,
          previous->name, previous->data - dataStart,
          previous->data - dataStart + previous->bytes));
    previous = &view;
  }
  return llvm::Error::success();
}

llvm::Expected<ShardMap>
llmc::parseSafetensorsIndex(llvm::StringRef text, llvm::StringRef indexPath) {
  llvm::Expected<Value> json = parseJson(text);
  if (!json)
    return llvm::createStringError(
        indexPath + ": malformed JSON: " + llvm::toString(json.takeError()));
  const Object *root = json->getAsObject();
  const Object *weightMap = root ? root->getObject("weight_map") : nullptr;
  if (!weightMap)
    return llvm::createStringError(indexPath +
                                   ": field 'weight_map': expected an object "
                                   "mapping tensor names to files");
  ShardMap shards;
  for (const auto &entry : *weightMap) {
    std::optional<llvm::StringRef> file = entry.second.getAsString();
    if (!file || file->empty() || llvm::sys::path::is_absolute(*file) ||
        file->contains(".."))
      return llvm::createStringError(
          indexPath + ": field 'weight_map': tensor '" +
          llvm::StringRef(entry.first) +
          "': expected a file name inside the directory");
    shards[file->str()].push_back(entry.first.str());
  }
  return shards;
}

struct WeightStore::Impl {
  std::string dir;
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  std::vector<TensorView> tensors;
  llvm::StringMap<size_t> byName;

  llvm::Error addFile(llvm::StringRef path) {
    // Memory-mapped (not copied) for files larger than a few pages.
    llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        readInputFile(path, /*isText=*/false);
    if (!buffer)
      return buffer.takeError();
    if (llvm::Error err =
            parseSafetensors(path, (*buffer)->getBuffer(), tensors))
      return err;
    buffers.push_back(std::move(*buffer));
    return llvm::Error::success();
  }

  llvm::Error openIndex(llvm::StringRef indexPath) {
    llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        readInputFile(indexPath, /*isText=*/true);
    if (!buffer)
      return buffer.takeError();
    llvm::Expected<ShardMap> shards =
        parseSafetensorsIndex((*buffer)->getBuffer(), indexPath);
    if (!shards)
      return shards.takeError();
    for (const auto &[file, names] : *shards) {
      llvm::SmallString<256> path(dir);
      llvm::sys::path::append(path, file);
      size_t first = tensors.size();
      if (llvm::Error err = addFile(path))
        return err;
      llvm::StringSet<> present;
      for (const TensorView &view : llvm::ArrayRef(tensors).drop_front(first))
        present.insert(view.name);
      for (const std::string &name : names)
        if (!present.contains(name))
          return llvm::createStringError(indexPath + ": tensor '" + name +
                                         "' is mapped to '" + file +
                                         "' but that file does not contain it");
    }
    return llvm::Error::success();
  }
};

WeightStore::WeightStore() : impl(std::make_unique<Impl>()) {}
WeightStore::~WeightStore() = default;

llvm::Expected<std::unique_ptr<WeightStore>>
WeightStore::open(llvm::StringRef dir) {
  std::unique_ptr<WeightStore> store(new WeightStore());
  Impl &impl = *store->impl;
  impl.dir = dir.str();

  llvm::SmallString<256> single(dir), index(dir);
  llvm::sys::path::append(single, "model.safetensors");
  llvm::sys::path::append(index, "model.safetensors.index.json");
  if (llvm::sys::fs::exists(single)) {
    if (llvm::Error err = impl.addFile(single))
      return std::move(err);
  } else if (llvm::sys::fs::exists(index)) {
    if (llvm::Error err = impl.openIndex(index))
      return std::move(err);
  } else {
    return llvm::createStringError(dir + ": no model.safetensors or "
                                         "model.safetensors.index.json");
  }

  for (size_t i = 0; i < impl.tensors.size(); ++i) {
    const TensorView &view = impl.tensors[i];
    auto [it, inserted] = impl.byName.try_emplace(view.name, i);
    if (!inserted)
      return llvm::createStringError(view.file + ": tensor '" + view.name +
                                     "' is also defined in " +
                                     impl.tensors[it->second].file);
  }
  return std::move(store);
}

const TensorView *WeightStore::find(llvm::StringRef name) const {
  auto it = impl->byName.find(name);
  return it == impl->byName.end() ? nullptr : &impl->tensors[it->second];
}

llvm::Expected<const TensorView *>
WeightStore::get(llvm::StringRef name, llvm::ArrayRef<int64_t> shape) const {
  const TensorView *view = find(name);
  if (!view)
    return llvm::createStringError(impl->dir + ": missing tensor '" + name +
                                   "' (expected shape " + shapeString(shape) +
                                   ")");
  if (!llvm::equal(view->shape, shape))
    return llvm::createStringError(view->file + ": tensor '" + name +
                                   "': expected shape " + shapeString(shape) +
                                   ", found " + shapeString(view->shape));
  return view;
}

llvm::Error WeightStore::validate(const ModelSpec &spec) const {
  std::vector<CheckpointTensor> expected = checkpointTensors(spec);
  for (const CheckpointTensor &tensor : expected)
    if (llvm::Expected<const TensorView *> view =
            get(tensor.name, tensor.shape);
        !view)
      return view.takeError();
  // A tensor the model does not read (a bias, another architecture's
  // weight) would be silently ignored: refuse it. RoPE's cached
  // frequencies, which older checkpoints store, are recomputed, and a tied
  // model's copy of its embedding as lm_head is the embedding.
  llvm::StringSet<> used;
  for (const CheckpointTensor &tensor : expected)
    used.insert(tensor.name);
  for (const TensorView &tensor : impl->tensors) {
    llvm::StringRef name = tensor.name;
    if (used.contains(name) || name.ends_with(".rotary_emb.inv_freq") ||
        (spec.tiedEmbeddings && name == "lm_head.weight"))
      continue;
    return llvm::createStringError(
        "tensor '" + name + "' is in the checkpoint but the " + spec.name +
        " model llmc builds does not use it; refusing to ignore it (biases "
        "and other architectures are not supported)");
  }
  return llvm::Error::success();
}

const std::vector<TensorView> &WeightStore::tensors() const {
  return impl->tensors;
}

//===----------------------------------------------------------------------===//
// Synthetic weights
//===----------------------------------------------------------------------===//

namespace {
/// xoshiro256** seeded through splitmix64, with normal deviates from the
/// Marsaglia polar method and a hand-written logarithm: only IEEE +, -, *, /
/// and sqrt, so a seed gives the same bits with every compiler and libm.
class NormalGenerator {
public:
  explicit NormalGenerator(uint64_t seed) {
    for (uint64_t &word : state)
      word = splitmix64(seed);
  }

  static uint64_t splitmix64(uint64_t &x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  double next() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double factor = std::sqrt(-2.0 * log(s) / s);
    spare = v * factor;
    hasSpare = true;
    return u * factor;
  }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t nextBits() {
    uint64_t result = rotl(state[1] * 5, 7) * 9;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(nextBits() >> 11) * 0x1p-53; }

  /// Natural logarithm of x in (0, 1): x = m * 2^e with m in [sqrt(1/2),
  /// sqrt(2)), log m = 2 atanh((m - 1) / (m + 1)) by its series (relative
  /// error below 1e-12, far below what float weights can hold).
  static double log(double x) {
    int exponent;
    double m = std::frexp(x, &exponent);
    if (m < 0.70710678118654752440) {
      m *= 2.0;
      --exponent;
    }
    double t = (m - 1.0) / (m + 1.0), t2 = t * t;
    double series = 1.0 / 15.0;
    for (double k : {13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0})
      series = series * t2 + 1.0 / k;
    return exponent * 0.69314718055994530942 + 2.0 * t * series;
  }

  uint64_t state[4];
  double spare = 0.0;
  bool hasSpare = false;
};
} // namespace

static std::string formatGB(uint64_t bytes) {
  return llvm::formatv("{0:f1}", static_cast<double>(bytes) / 1e9).str();
}

llvm::Error llmc::writeSyntheticModel(const ModelSpec &spec,
                                      llvm::StringRef dir, DType dtype,
                                      uint64_t seed, double std,
                                      bool progress) {
  if (llvm::Error err = spec.validate())
    return llvm::createStringError(dir + ": " + llvm::toString(std::move(err)));
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(
        dir + ": cannot create directory: " + ec.message());

  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  if (llvm::Error err = writeHFConfig(spec, configPath))
    return err;

  std::vector<CheckpointTensor> tensors = checkpointTensors(spec);
  llvm::StringRef dtypeTag = dtype == DType::F32    ? "F32"
                             : dtype == DType::BF16 ? "BF16"
                                                    : "F16";
  Object header{{"__metadata__", Object{{"format", "pt"}}}};
  uint64_t offset = 0;
  for (const CheckpointTensor &tensor : tensors) {
    uint64_t bytes = dtypeBytes(dtype);
    for (int64_t dim : tensor.shape)
      bytes *= dim;
    header[tensor.name] = Object{
        {"dtype", dtypeTag},
        {"shape", Array(tensor.shape)},
        {"data_offsets", Array{offset, offset + bytes}},
    };
    offset += bytes;
  }
  uint64_t totalBytes = offset;
  std::string headerText;
  llvm::raw_string_ostream(headerText) << Value(std::move(header));
  headerText.append(llvm::alignTo(headerText.size(), 8) - headerText.size(),
                    ' ');

  llvm::SmallString<256> path(dir), tempPath;
  llvm::sys::path::append(path, "model.safetensors");
  tempPath = path;
  tempPath += ".tmp";
  std::error_code ec;
  llvm::raw_fd_ostream os(tempPath, ec);
  if (ec)
    return llvm::createStringError(tempPath +
                                   ": cannot write: " + ec.message());
  char sizeBytes[8];
  llvm::support::endian::write64le(sizeBytes, headerText.size());
  os.write(sizeBytes, sizeof(sizeBytes));
  os << headerText;

  // Each tensor draws from its own stream so that its values do not depend
  // on the tensors before it; values are generated and written in chunks.
  constexpr int64_t chunkElements = 1 << 20;
  std::vector<float> values(chunkElements);
  std::vector<char> encoded(chunkElements * dtypeBytes(dtype));
  uint64_t written = 0;
  int lastPercent = -1;
  for (auto [index, tensor] : llvm::enumerate(tensors)) {
    uint64_t streamSeed = seed ^ (0x5851f42d4c957f2dull * (index + 1));
    NormalGenerator generator(NormalGenerator::splitmix64(streamSeed));
    double scale = tensor.isNorm ? std / 4 : std;
    double bias = tensor.isNorm ? 1.0 : 0.0;
    int64_t elements = 1;
    for (int64_t dim : tensor.shape)
      elements *= dim;
    for (int64_t start = 0; start < elements; start += chunkElements) {
      int64_t count = std::min(chunkElements, elements - start);
      for (int64_t i = 0; i < count; ++i)
        values[i] = static_cast<float>(bias + scale * generator.next());
      char *out = encoded.data();
      for (int64_t i = 0; i < count; ++i) {
        switch (dtype) {
        case DType::F32:
          llvm::support::endian::write32le(out + 4 * i,
                                           llvm::bit_cast<uint32_t>(values[i]));
          break;
        case DType::BF16:
          llvm::support::endian::write16le(out + 2 * i,
                                           floatToBF16(values[i]));
          break;
        case DType::F16:
          llvm::support::endian::write16le(out + 2 * i, floatToF16(values[i]));
          break;
        }
      }
      os.write(out, count * dtypeBytes(dtype));
      written += count * dtypeBytes(dtype);
      int percent = static_cast<int>(100 * written / std::max<uint64_t>(
                                                          totalBytes, 1));
      if (progress && percent != lastPercent) {
        llvm::errs() << "\rsynth: " << percent << "% (" << formatGB(written)
                     << "/" << formatGB(totalBytes) << " GB)";
        lastPercent = percent;
      }
    }
  }
  if (progress)
    llvm::errs() << "\n";
  os.close();
  if (os.has_error()) {
    std::error_code writeError = os.error();
    os.clear_error();
    llvm::sys::fs::remove(tempPath);
    return llvm::createStringError(tempPath +
                                   ": write failed: " + writeError.message());
  }
  if (std::error_code renameError = llvm::sys::fs::rename(tempPath, path))
    return llvm::createStringError(path + ": cannot rename from " + tempPath +
                                   ": " + renameError.message());
  return llvm::Error::success();
}
