//===- FakeCuda.cpp - A stand-in libcuda.so.1 for the runtime's tests -----===//
//
// Implements the CUDA driver entry points llmc's runtime uses, with host
// memory as "device" memory (zero-filled, so every logit is 0) and kernels
// that do nothing. It writes what the runtime asked for to $FAKE_CUDA_LOG:
//
//   load <bytes> bytes of PTX, <n> kernels   each cuModuleLoadData
//   forward: <n> launches, sequence <hash>   at the end of each forward call
//                                            that launched kernels directly
//                                            (at the logits' copy back), the
//                                            hash over kernel names, grids,
//                                            blocks and parameter values
//   capture: <n> launches, sequence <hash>   a stream capture's end
//   replay: <n> launches, sequence <hash>    each cuGraphLaunch
//   position <p>                             each write of llmc_position
//   launch <kernel> grid <x,y,z> block <x,y,z> params <n>   with
//                                            FAKE_CUDA_LOG_LAUNCHES=1
//
// Kernels do nothing, except that the argmax kernels (llmc_argmax_*) store
// the key of token 0, the first of the fake's equal logits, into the 8-byte
// allocation one of their parameters points to. A launch whose kernel is
// not in the loaded PTX, or whose parameter array has a null entry among
// the kernel's declared parameters, is logged as an error. Copies back to
// the host are logged as `copy back <bytes> bytes`. FAKE_CUDA_DEVICES sets the
// device count (default 1), FAKE_CUDA_FAIL_LOAD=1 makes the module load fail as
// an incompatible PTX would and FAKE_CUDA_NO_GRAPHS=1 makes stream capture
// unsupported.
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
  /// The size in bytes of each parameter.
  std::vector<int> params;
};

constexpr uint64_t kHashSeed = 1469598103934665603ull;
std::map<std::string, std::vector<int>> paramSizes;
std::vector<Kernel *> functions;
uint64_t sequenceHash = kHashSeed;
int launches = 0;
/// The device global llmc_position, when the PTX declares it.
int64_t *positionGlobal = nullptr;

/// The size of each allocation by address.
std::map<uint64_t, size_t> allocations;

/// A captured graph: its launch count, sequence hash and argmax stores.
struct Graph {
  int launches;
  uint64_t hash;
  std::vector<uint64_t *> keys;
};
bool capturing = false;
/// The argmax stores of the launches captured so far.
std::vector<uint64_t *> capturedKeys;

/// The argmax key of token 0 when every logit is 0.
constexpr uint64_t kZeroLogitsKey = 0x80000000ffffffffull;

void log(const std::string &line) {
  const char *path = std::getenv("FAKE_CUDA_LOG");
  if (!path)
    return;
  if (FILE *file = std::fopen(path, "a")) {
    std::fprintf(file, "%s\n", line.c_str());
    std::fclose(file);
  }
}

void mix(const void *data, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) {
    sequenceHash ^= static_cast<const unsigned char *>(data)[i];
    sequenceHash *= 1099511628211ull;
  }
}

std::string hex(uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%016llx",
                static_cast<unsigned long long>(value));
  return text;
}

/// The size of a PTX parameter declared as `.param <type> name` or
/// `.param .align A .b8 name[N]`.
int paramSize(const char *declaration) {
  int align = 0, bytes = 0;
  if (std::sscanf(declaration, ".param .align %d .b8 %*[^[][%d]", &align,
                  &bytes) == 2)
    return bytes;
  char type[8] = {};
  if (std::sscanf(declaration, ".param .%1[usbf]%2[0-9]", type, type + 1) != 2)
    return 0;
  return std::atoi(type + 1) / 8;
}

/// Records each `.entry name(` kernel's `.param` sizes in the PTX text.
void parsePTX(const char *ptx) {
  const char *at = ptx;
  while ((at = std::strstr(at, ".entry "))) {
    at += std::strlen(".entry ");
    const char *open = std::strchr(at, '(');
    const char *close = open ? std::strchr(open, ')') : nullptr;
    if (!open || !close)
      return;
    std::string name(at, open);
    std::vector<int> sizes;
    for (const char *p = open; (p = std::strstr(p, ".param")) && p < close;
         p += 6)
      sizes.push_back(paramSize(p));
    paramSizes[name] = sizes;
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
  if (std::strstr(ptx, ".global .align 8 .b8 llmc_position[8]"))
    positionGlobal = static_cast<int64_t *>(std::calloc(1, 8));
  log("load " + std::to_string(std::strlen(ptx)) + " bytes of PTX, " +
      std::to_string(paramSizes.size()) + " kernels");
  static int token;
  *module = &token;
  return 0;
}

int cuModuleGetGlobal_v2(uint64_t *address, size_t *bytes, void *,
                         const char *name) {
  if (std::strcmp(name, "llmc_position") != 0 || !positionGlobal)
    return 500; // CUDA_ERROR_NOT_FOUND
  *address = reinterpret_cast<uint64_t>(positionGlobal);
  *bytes = 8;
  return 0;
}

int cuModuleGetFunction(void **function, void *, const char *name) {
  auto it = paramSizes.find(name);
  if (it == paramSizes.end()) {
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
  allocations[*address] = bytes;
  return 0;
}

int cuMemFree_v2(uint64_t address) {
  allocations.erase(address);
  std::free(reinterpret_cast<void *>(address));
  return 0;
}

int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes) {
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
  if (positionGlobal && reinterpret_cast<int64_t *>(dst) == positionGlobal)
    log("position " + std::to_string(*positionGlobal));
  return 0;
}

int cuMemsetD8_v2(uint64_t dst, unsigned char value, size_t bytes) {
  std::memset(reinterpret_cast<void *>(dst), value, bytes);
  log("memset " + std::to_string(bytes) + " bytes to " + std::to_string(value));
  return 0;
}

int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *) {
  return cuMemcpyHtoD_v2(dst, src, bytes);
}

int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *) {
  std::memcpy(dst, reinterpret_cast<const void *>(src), bytes);
  log("copy back " + std::to_string(bytes) + " bytes");
  if (launches)
    log("forward: " + std::to_string(launches) + " launches, sequence " +
        hex(sequenceHash));
  launches = 0;
  sequenceHash = kHashSeed;
  return 0;
}

int cuStreamBeginCapture_v2(void *, int) {
  if (std::getenv("FAKE_CUDA_NO_GRAPHS"))
    return 801; // CUDA_ERROR_NOT_SUPPORTED
  if (capturing || launches)
    log("error: capture begun with launches pending");
  capturing = true;
  return 0;
}

int cuStreamEndCapture(void *, void **graph) {
  if (!capturing)
    log("error: capture ended without beginning");
  capturing = false;
  *graph = new Graph{launches, sequenceHash, capturedKeys};
  capturedKeys.clear();
  log("capture: " + std::to_string(launches) + " launches, sequence " +
      hex(sequenceHash));
  launches = 0;
  sequenceHash = kHashSeed;
  return 0;
}

int cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long) {
  *exec = new Graph(*static_cast<Graph *>(graph));
  return 0;
}

int cuGraphLaunch(void *exec, void *) {
  auto *graph = static_cast<Graph *>(exec);
  log("replay: " + std::to_string(graph->launches) + " launches, sequence " +
      hex(graph->hash));
  for (uint64_t *key : graph->keys)
    *key = kZeroLogitsKey;
  return 0;
}

int cuGraphExecDestroy(void *exec) {
  delete static_cast<Graph *>(exec);
  return 0;
}

int cuGraphDestroy(void *graph) {
  delete static_cast<Graph *>(graph);
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
  int count = int(kernel->params.size());
  std::string line = kernel->name + " grid " + std::to_string(gx) + "," +
                     std::to_string(gy) + "," + std::to_string(gz) + " block " +
                     std::to_string(bx) + "," + std::to_string(by) + "," +
                     std::to_string(bz) + " params " + std::to_string(count);
  mix(line.data(), line.size());
  for (int i = 0; i < count; ++i) {
    if (!params || !params[i]) {
      log("error: " + kernel->name + " parameter " + std::to_string(i) +
          " is null");
      continue;
    }
    if (kernel->params[i] == 0)
      log("error: " + kernel->name + " parameter " + std::to_string(i) +
          " has a type the fake does not know");
    mix(params[i], size_t(kernel->params[i]));
  }
  if (kernel->name.compare(0, 11, "llmc_argmax") == 0 && params) {
    // The key: the smallest allocation a parameter points at.
    uint64_t *key = nullptr;
    size_t keyBytes = SIZE_MAX;
    for (int i = 0; i < count; ++i) {
      uint64_t value = 0;
      if (kernel->params[i] == 8 && params[i])
        std::memcpy(&value, params[i], 8);
      auto allocation = allocations.find(value);
      if (allocation != allocations.end() && allocation->second < keyBytes) {
        key = reinterpret_cast<uint64_t *>(value);
        keyBytes = allocation->second;
      }
    }
    if (key && capturing)
      capturedKeys.push_back(key);
    else if (key)
      *key = kZeroLogitsKey;
  }
  if (extra || shared)
    log("error: " + kernel->name + " launched with extra or shared memory");
  if (std::getenv("FAKE_CUDA_LOG_LAUNCHES"))
    log("launch " + line);
  ++launches;
  return 0;
}

// Device timers: an event stands for the number of launches before it was
// recorded; the time between two events is 2 microseconds per launch, so
// that --profile's table is predictable.
struct Event {
  int launches;
};

int cuEventCreate(Event **event, unsigned) {
  *event = new Event{0};
  return 0;
}

int cuEventRecord(Event *event, void *) {
  event->launches = launches;
  return 0;
}

int cuEventElapsedTime(float *ms, Event *start, Event *end) {
  *ms = float(end->launches - start->launches) * 0.002f;
  return 0;
}

int cuEventDestroy_v2(Event *event) {
  delete event;
  return 0;
}

int cuGetErrorString(int result, const char **text) {
  *text = result == 218 ? "a PTX JIT compilation failed" : "fake CUDA error";
  return 0;
}

} // extern "C"
