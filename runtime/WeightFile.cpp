//===- WeightFile.cpp - Read-only mapping of the packed weight file -------===//

#include "runtime/WeightFile.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace llmc;

static std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string llmc::validateWeightsHeader(const void *data, size_t fileSize,
                                        const LlmcModelInfo &info) {
  if (fileSize < LLMC_WEIGHTS_HEADER_BYTES)
    return "file too small for the weights header (" +
           std::to_string(fileSize) + " bytes)";
  LlmcWeightsHeader h;
  std::memcpy(&h, data, sizeof(h));
  if (std::memcmp(h.magic, LLMC_WEIGHTS_MAGIC, sizeof(h.magic)) != 0)
    return "not an llmc weight file (bad magic)";
  if (h.fingerprint != info.fingerprint)
    return "weights were packed for a different model or build (fingerprint " +
           hex(h.fingerprint) + ", this executable expects " +
           hex(info.fingerprint) + ")";
  if (h.weights_bytes != uint64_t(info.weights_bytes))
    return "weight blob is " + std::to_string(h.weights_bytes) +
           " bytes, this executable expects " +
           std::to_string(info.weights_bytes);
  if (h.weights_offset < LLMC_WEIGHTS_HEADER_BYTES ||
      h.weights_offset % 4096 != 0)
    return "weights offset " + std::to_string(h.weights_offset) +
           " is not page aligned after the header";
  if (h.weights_offset > fileSize || h.weights_bytes > fileSize ||
      h.weights_offset + h.weights_bytes > fileSize)
    return "file is truncated (" + std::to_string(fileSize) +
           " bytes, weights end at " +
           std::to_string(h.weights_offset + h.weights_bytes) + ")";
  if (h.tokenizer_offset != 0 &&
      (h.tokenizer_offset > fileSize || h.tokenizer_bytes > fileSize ||
       h.tokenizer_offset + h.tokenizer_bytes > fileSize))
    return "file is truncated (tokenizer ends past the end of the file)";
  return std::string();
}

WeightFile::~WeightFile() {
  if (base)
    munmap(base, size);
}

namespace {

/// The mapping a SIGBUS may come from, and what to say then: the weight
/// file was truncated (or rewritten in place) while this process maps it.
struct MappedRegion {
  const char *begin = nullptr;
  const char *end = nullptr;
  char message[512] = {};
  size_t length = 0;
} watched;

extern "C" void onBusError(int signal, siginfo_t *info, void *) {
  const char *at = static_cast<const char *>(info->si_addr);
  if (at >= watched.begin && at < watched.end) {
    // Only async-signal-safe calls here.
    ssize_t written = write(STDERR_FILENO, watched.message, watched.length);
    (void)written;
    _exit(1);
  }
  // Not ours: die of it as the default action would.
  ::signal(signal, SIG_DFL);
  raise(signal);
}

/// Turns a SIGBUS on the mapping of `path` into a one-line error.
void watchMapping(const std::string &path, const void *base, size_t size) {
  watched.begin = static_cast<const char *>(base);
  watched.end = watched.begin + size;
  std::snprintf(watched.message, sizeof(watched.message),
                "error: the weight file '%s' was truncated or changed while "
                "the model was running; run again once it is complete\n",
                path.c_str());
  watched.length = std::strlen(watched.message);
  struct sigaction action = {};
  action.sa_sigaction = onBusError;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &action, nullptr);
}

} // namespace

bool WeightFile::open(const std::string &path, const LlmcModelInfo &info,
                      std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open weight file '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "weight file '" + path + "' is not a regular file";
    ::close(fd);
    return false;
  }
  size_t fileSize = size_t(st.st_size);
  if (fileSize < LLMC_WEIGHTS_HEADER_BYTES) {
    error = "weight file '" + path + "': " +
            validateWeightsHeader(nullptr, fileSize, info);
    ::close(fd);
    return false;
  }
  void *map = mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    error = "cannot map weight file '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::string reason = validateWeightsHeader(map, fileSize, info);
  if (!reason.empty()) {
    munmap(map, fileSize);
    error = "weight file '" + path + "': " + reason;
    return false;
  }
  base = map;
  size = fileSize;
  watchMapping(path, base, size);
  return true;
}

std::string WeightFile::tokenizerSection() const {
  const LlmcWeightsHeader &h = header();
  if (h.tokenizer_offset == 0 || h.tokenizer_bytes == 0)
    return std::string();
  return std::string(static_cast<const char *>(base) + h.tokenizer_offset,
                     h.tokenizer_bytes);
}

std::string llmc::writeRandomWeights(const std::string &path,
                                     const LlmcModelInfo &info,
                                     uint64_t seed) {
  std::string temp = path + ".tmp";
  FILE *file = std::fopen(temp.c_str(), "wb");
  if (!file)
    return "cannot create '" + temp + "': " + std::strerror(errno);
  std::vector<uint8_t> page(LLMC_WEIGHTS_HEADER_BYTES, 0);
  LlmcWeightsHeader header{};
  std::memcpy(header.magic, LLMC_WEIGHTS_MAGIC, sizeof(header.magic));
  header.fingerprint = info.fingerprint;
  header.weights_offset = LLMC_WEIGHTS_HEADER_BYTES;
  header.weights_bytes = uint64_t(info.weights_bytes);
  std::memcpy(page.data(), &header, sizeof(header));
  bool ok = std::fwrite(page.data(), 1, page.size(), file) == page.size();
  // splitmix64; each 16-bit half a bf16 of magnitude in [2^-8, 2^-4) (a
  // pair read as f32 is as small: its high half sets the exponent).
  uint64_t state = seed;
  std::vector<uint16_t> chunk(1 << 20);
  for (int64_t left = info.weights_bytes; ok && left > 0;) {
    for (uint16_t &half : chunk) {
      state += 0x9E3779B97F4A7C15ull;
      uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      uint16_t sign = uint16_t((z >> 63) << 15);
      uint16_t exponent = uint16_t(127 - 8 + (z >> 40) % 4);
      uint16_t mantissa = uint16_t(z & 0x7F);
      half = uint16_t(sign | (exponent << 7) | mantissa);
    }
    size_t bytes = size_t(std::min<int64_t>(left, int64_t(chunk.size() * 2)));
    ok = std::fwrite(chunk.data(), 1, bytes, file) == bytes;
    left -= int64_t(bytes);
  }
  ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(temp.c_str());
    return "cannot write '" + path + "': " + why;
  }
  return std::string();
}

void WeightFile::prefault() const {
#ifdef MADV_POPULATE_READ
  if (!base)
    return;
  // weights_offset is page aligned (LlmcWeightsHeader).
  char *start = static_cast<char *>(base) + header().weights_offset;
  (void)madvise(start, header().weights_bytes, MADV_POPULATE_READ);
#endif
}
