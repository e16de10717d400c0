//===- FakeCuda.cpp - A stand-in libcuda.so.1 for the runtime's tests -----===//
//
// Implements the CUDA driver entry points llmc's runtime uses, with host
// memory as "device" memory (zero-filled, so every logit is 0) and kernels
// that do nothing. It writes what the runtime asked for to $FAKE_CUDA_LOG:
//
//   load <bytes> bytes of PTX, <n> kernels   each cuModuleLoadData
//   forward: <n> launches, sequence <hash>   at the end of each forward call
//                                            (the logits' copy back), the
//                                            hash over kernel names, grids,
//                                            blocks and parameter counts
//   launch <kernel> grid <x,y,z> block <x,y,z> params <n>   with
//                                            FAKE_CUDA_LOG_LAUNCHES=1
//
// A launch whose kernel is not in the loaded PTX, or whose parameter array
// has a null entry among the kernel's declared parameters, is logged as an
// error. FAKE_CUDA_DEVICES sets the device count (default 1) and
// FAKE_CUDA_FAIL_LOAD=1 makes the module load fail as an incompatible PTX
// would.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct Kernel {
  std::string name;
  int params = 0;
};

std::map<std::string, int> paramCounts;
std::vector<Kernel *> functions;
uint64_t sequenceHash = 1469598103934665603ull;
int launches = 0;

void log(const std::string &line) {
  const char *path = std::getenv("FAKE_CUDA_LOG");
  if (!path)
    return;
  if (FILE *file = std::fopen(path, "a")) {
    std::fprintf(file, "%s\n", line.c_str());
    std::fclose(file);
  }
}

void mix(const std::string &text) {
  for (unsigned char c : text) {
    sequenceHash ^= c;
    sequenceHash *= 1099511628211ull;
  }
}

/// Counts each `.entry name(` kernel's `.param`s in the PTX text.
void parsePTX(const char *ptx) {
  const char *at = ptx;
  while ((at = std::strstr(at, ".entry "))) {
    at += std::strlen(".entry ");
    const char *open = std::strchr(at, '(');
    const char *close = open ? std::strchr(open, ')') : nullptr;
    if (!open || !close)
      return;
    std::string name(at, open);
    int params = 0;
    for (const char *p = open; (p = std::strstr(p, ".param")) && p < close;
         p += 6)
      ++params;
    paramCounts[name] = params;
    at = close;
  }
}

} // namespace

extern "C" {

int cuInit(unsigned) { return 0; }

int cuDeviceGetCount(int *count) {
  const char *devices = std::getenv("FAKE_CUDA_DEVICES");
  *count = devices ? std::atoi(devices) : 1;
  return 0;
}

int cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return 0;
}

int cuDeviceGetName(char *name, int length, int) {
  std::snprintf(name, size_t(length), "Fake GPU");
  return 0;
}

int cuDeviceGetAttribute(int *value, int attribute, int) {
  *value = attribute == 75 ? 9 : 0; // compute capability 9.0
  return 0;
}

int cuDevicePrimaryCtxRetain(void **context, int) {
  static int token;
  *context = &token;
  return 0;
}

int cuCtxSetCurrent(void *) { return 0; }

int cuModuleLoadData(void **module, const void *image) {
  const char *ptx = static_cast<const char *>(image);
  if (std::getenv("FAKE_CUDA_FAIL_LOAD"))
    return 218; // CUDA_ERROR_INVALID_PTX
  parsePTX(ptx);
  log("load " + std::to_string(std::strlen(ptx)) + " bytes of PTX, " +
      std::to_string(paramCounts.size()) + " kernels");
  static int token;
  *module = &token;
  return 0;
}

int cuModuleGetFunction(void **function, void *, const char *name) {
  auto it = paramCounts.find(name);
  if (it == paramCounts.end()) {
    log(std::string("error: no kernel ") + name + " in the PTX");
    return 500; // CUDA_ERROR_NOT_FOUND
  }
  functions.push_back(new Kernel{name, it->second});
  *function = functions.back();
  return 0;
}

int cuMemAlloc_v2(uint64_t *address, size_t bytes) {
  void *p = std::calloc(1, bytes);
  if (!p)
    return 2; // CUDA_ERROR_OUT_OF_MEMORY
  *address = reinterpret_cast<uint64_t>(p);
  return 0;
}

int cuMemFree_v2(uint64_t address) {
  std::free(reinterpret_cast<void *>(address));
  return 0;
}

int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes) {
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
  return 0;
}

int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *) {
  return cuMemcpyHtoD_v2(dst, src, bytes);
}

int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *) {
  std::memcpy(dst, reinterpret_cast<const void *>(src), bytes);
  char hash[32];
  std::snprintf(hash, sizeof(hash), "%016llx",
                static_cast<unsigned long long>(sequenceHash));
  log("forward: " + std::to_string(launches) + " launches, sequence " + hash);
  launches = 0;
  sequenceHash = 1469598103934665603ull;
  return 0;
}

int cuStreamCreate(void **stream, unsigned) {
  static int token;
  *stream = &token;
  return 0;
}

int cuStreamSynchronize(void *) { return 0; }

int cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                   unsigned bx, unsigned by, unsigned bz, unsigned shared,
                   void *, void **params, void **extra) {
  auto *kernel = static_cast<Kernel *>(function);
  std::string line = kernel->name + " grid " + std::to_string(gx) + "," +
                     std::to_string(gy) + "," + std::to_string(gz) + " block " +
                     std::to_string(bx) + "," + std::to_string(by) + "," +
                     std::to_string(bz) + " params " +
                     std::to_string(kernel->params);
  for (int i = 0; i < kernel->params; ++i)
    if (!params || !params[i])
      log("error: " + kernel->name + " parameter " + std::to_string(i) +
          " is null");
  if (extra || shared)
    log("error: " + kernel->name + " launched with extra or shared memory");
  if (std::getenv("FAKE_CUDA_LOG_LAUNCHES"))
    log("launch " + line);
  mix(line);
  ++launches;
  return 0;
}

int cuGetErrorString(int result, const char **text) {
  *text = result == 218 ? "a PTX JIT compilation failed" : "fake CUDA error";
  return 0;
}

} // extern "C"
