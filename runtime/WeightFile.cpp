//===- WeightFile.cpp - Read-only mapping of the packed weight file -------===//

#include "runtime/WeightFile.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
