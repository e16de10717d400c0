//===- CudaDevice.cpp - Runs a GPU model through the CUDA driver ----------===//
//
// The few driver entry points llmc uses are declared here with the types of
// the CUDA driver API's C interface (handles are pointers, device memory is
// a 64-bit address) and resolved with dlsym, the `_v2` names where the
// driver has them.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaDevice.h"

#include "runtime/Profile.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <iterator>
#include <vector>

using namespace llmc;

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;

/// The driver's entry points.
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*memcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*memcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*getErrorString)(CUresult, const char **);
  CUresult (*moduleGetGlobal)(CUdeviceptr *, size_t *, CUmodule, const char *);
};

/// The CUDA graph entry points; a driver without them runs every launch
/// directly.
struct GraphDriver {
  CUresult (*beginCapture)(CUstream, int);
  CUresult (*endCapture)(CUstream, CUgraph *);
  CUresult (*instantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*launch)(CUgraphExec, CUstream);
  CUresult (*execDestroy)(CUgraphExec);
  CUresult (*destroy)(CUgraph);
};
/// Device timers, for --profile.
using CUevent = struct CUevent_st *;
struct EventDriver {
  CUresult (*create)(CUevent *, unsigned);
  CUresult (*record)(CUevent, CUstream);
  CUresult (*elapsed)(float *, CUevent, CUevent);
  CUresult (*destroy)(CUevent);
};

/// CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: other threads' CUDA calls are not
/// affected by the capture.
constexpr int kCaptureThreadLocal = 1;

/// Resolves every entry point of `driver` from `handle`; the name of the
/// first missing one otherwise.
const char *resolve(void *handle, Driver &driver) {
  struct Entry {
    const char *name;
    void **slot;
  };
  const Entry entries[] = {
      {"cuInit", reinterpret_cast<void **>(&driver.init)},
      {"cuDeviceGetCount", reinterpret_cast<void **>(&driver.deviceGetCount)},
      {"cuDeviceGet", reinterpret_cast<void **>(&driver.deviceGet)},
      {"cuDeviceGetName", reinterpret_cast<void **>(&driver.deviceGetName)},
      {"cuDeviceGetAttribute",
       reinterpret_cast<void **>(&driver.deviceGetAttribute)},
      {"cuDevicePrimaryCtxRetain",
       reinterpret_cast<void **>(&driver.primaryCtxRetain)},
      {"cuCtxSetCurrent", reinterpret_cast<void **>(&driver.ctxSetCurrent)},
      {"cuModuleLoadData", reinterpret_cast<void **>(&driver.moduleLoadData)},
      {"cuModuleGetFunction",
       reinterpret_cast<void **>(&driver.moduleGetFunction)},
      {"cuMemAlloc_v2", reinterpret_cast<void **>(&driver.memAlloc)},
      {"cuMemFree_v2", reinterpret_cast<void **>(&driver.memFree)},
      {"cuMemcpyHtoD_v2", reinterpret_cast<void **>(&driver.memcpyHtoD)},
      {"cuMemsetD8_v2", reinterpret_cast<void **>(&driver.memsetD8)},
      {"cuMemcpyHtoDAsync_v2",
       reinterpret_cast<void **>(&driver.memcpyHtoDAsync)},
      {"cuMemcpyDtoHAsync_v2",
       reinterpret_cast<void **>(&driver.memcpyDtoHAsync)},
      {"cuStreamCreate", reinterpret_cast<void **>(&driver.streamCreate)},
      {"cuStreamSynchronize",
       reinterpret_cast<void **>(&driver.streamSynchronize)},
      {"cuLaunchKernel", reinterpret_cast<void **>(&driver.launchKernel)},
      {"cuGetErrorString", reinterpret_cast<void **>(&driver.getErrorString)},
      {"cuModuleGetGlobal_v2",
       reinterpret_cast<void **>(&driver.moduleGetGlobal)},
  };
  for (const Entry &entry : entries) {
    *entry.slot = dlsym(handle, entry.name);
    if (!*entry.slot)
      return entry.name;
  }
  return nullptr;
}

/// Resolves the graph entry points; false when one is missing.
bool resolve(void *handle, GraphDriver &graphs) {
  void **slots[] = {reinterpret_cast<void **>(&graphs.beginCapture),
                    reinterpret_cast<void **>(&graphs.endCapture),
                    reinterpret_cast<void **>(&graphs.instantiate),
                    reinterpret_cast<void **>(&graphs.launch),
                    reinterpret_cast<void **>(&graphs.execDestroy),
                    reinterpret_cast<void **>(&graphs.destroy)};
  const char *names[] = {"cuStreamBeginCapture_v2",     "cuStreamEndCapture",
                         "cuGraphInstantiateWithFlags", "cuGraphLaunch",
                         "cuGraphExecDestroy",          "cuGraphDestroy"};
  for (size_t i = 0; i < std::size(names); ++i) {
    *slots[i] = dlsym(handle, names[i]);
    if (!*slots[i])
      return false;
  }
  return true;
}

/// Resolves the event entry points; the name of the first missing one.
const char *resolve(void *handle, EventDriver &events) {
  void **slots[] = {reinterpret_cast<void **>(&events.create),
                    reinterpret_cast<void **>(&events.record),
                    reinterpret_cast<void **>(&events.elapsed),
                    reinterpret_cast<void **>(&events.destroy)};
  const char *names[] = {"cuEventCreate", "cuEventRecord", "cuEventElapsedTime",
                         "cuEventDestroy_v2"};
  for (size_t i = 0; i < std::size(names); ++i) {
    *slots[i] = dlsym(handle, names[i]);
    if (!*slots[i])
      return names[i];
  }
  return nullptr;
}

/// The architecture of `ptx` (".target sm_90a"), for messages.
std::string ptxTarget(const char *ptx) {
  const char *at = std::strstr(ptx, ".target ");
  if (!at)
    return "an unknown architecture";
  at += std::strlen(".target ");
  size_t length = std::strcspn(at, " \t\r\n,");
  return std::string(at, length);
}

class CudaDevice;
/// The device the generated host code launches on (one per process).
CudaDevice *current = nullptr;

class CudaDevice final : public ForwardDevice {
public:
  ~CudaDevice() override {
    if (current == this)
      current = nullptr;
    dropGraph();
    for (CUevent event : events)
      timers.destroy(event);
    // The driver frees the context's memory when the process exits; the
    // buffers are freed here for a device closed earlier (tests).
    for (CUdeviceptr buffer : {weights, scratch, tokens, logits, kv, key})
      if (buffer && driver.memFree)
        driver.memFree(buffer);
  }

  bool open(const LlmcModelInfo &modelInfo, const void *hostWeights,
            std::string &error) {
    info = modelInfo;
    handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      error = std::string("no NVIDIA driver: cannot load libcuda.so.1 (") +
              (why ? why : "not found") +
              "); this executable runs its model on an NVIDIA GPU (it was "
              "compiled with --target nvptx64-nvidia-cuda)";
      return false;
    }
    if (const char *missing = resolve(handle, driver)) {
      error = std::string("the NVIDIA driver's libcuda.so.1 has no ") +
              missing + "; it is too old for this executable";
      return false;
    }
    int count = 0;
    if (!check(driver.init(0), "cuInit", error) ||
        !check(driver.deviceGetCount(&count), "cuDeviceGetCount", error))
      return false;
    if (count == 0) {
      error = "no CUDA GPU found (the NVIDIA driver reports none)";
      return false;
    }
    char name[256] = {};
    int major = 0, minor = 0;
    CUcontext context = nullptr;
    if (!check(driver.deviceGet(&device, 0), "cuDeviceGet", error) ||
        !check(driver.deviceGetName(name, sizeof(name) - 1, device),
               "cuDeviceGetName", error) ||
        !check(
            driver.deviceGetAttribute(&major, kComputeCapabilityMajor, device),
            "cuDeviceGetAttribute", error) ||
        !check(
            driver.deviceGetAttribute(&minor, kComputeCapabilityMinor, device),
            "cuDeviceGetAttribute", error) ||
        !check(driver.primaryCtxRetain(&context, device),
               "cuDevicePrimaryCtxRetain", error) ||
        !check(driver.ctxSetCurrent(context), "cuCtxSetCurrent", error))
      return false;

    // The kernels, loaded once for the whole run.
    CUmodule module = nullptr;
    CUresult loaded = driver.moduleLoadData(&module, llmc_gpu_ptx);
    if (loaded != 0) {
      std::string compiled = ptxTarget(llmc_gpu_ptx);
      std::string arch = "sm_" + std::to_string(major) + std::to_string(minor);
      error = "cannot load the kernels, compiled for " + compiled + ", on " +
              name + " (compute capability " + std::to_string(major) + "." +
              std::to_string(minor) + "): " + describe(loaded);
      if (compiled.compare(0, arch.size(), arch) != 0)
        error += "; recompile with --mcpu " + arch;
      return false;
    }
    const char *kernelName = llmc_gpu_kernel_names;
    for (int64_t i = 0; i < llmc_gpu_kernel_count; ++i) {
      CUfunction function = nullptr;
      if (!check(driver.moduleGetFunction(&function, module, kernelName),
                 "cuModuleGetFunction", error))
        return false;
      functions.push_back(function);
      kernelName += std::strlen(kernelName) + 1;
    }
    if (!check(driver.streamCreate(&stream, 0), "cuStreamCreate", error))
      return false;
    // The kernels read the position from this global (llm-device-position),
    // so one decode step's launches are the same at every position and are
    // captured once as a graph.
    size_t positionBytes = 0;
    if (driver.moduleGetGlobal(&position, &positionBytes, module,
                               "llmc_position") != 0 ||
        positionBytes != sizeof(int64_t))
      position = 0;
    graphsAvailable = position && resolve(handle, graphs);
    // --profile: an event after each launch; the decode step then runs its
    // launches directly, not as a graph, so that each can be timed.
    if (profileEnabled()) {
      if (const char *missing = resolve(handle, timers)) {
        error = std::string("--profile: the NVIDIA driver's libcuda.so.1 has "
                            "no ") +
                missing;
        return false;
      }
      timing = true;
      graphsAvailable = false;
    }

    // Weights uploaded once; buffers for the largest call.
    int64_t rows = info.max_tokens_per_call;
    if (!allocate(weights, info.weights_bytes, "the weights", error) ||
        !allocate(scratch, info.scratch_bytes, "the scratch arena", error) ||
        !allocate(tokens, rows * int64_t(sizeof(int32_t)), "the tokens",
                  error) ||
        !allocate(logits, rows * info.vocab_size * int64_t(sizeof(float)),
                  "the logits", error) ||
        !allocate(key, sizeof(int64_t), "the argmax", error) ||
        !check(
            driver.memcpyHtoD(weights, hostWeights, size_t(info.weights_bytes)),
            "cuMemcpyHtoD (weights)", error))
      return false;
    if ((info.flags & LLMC_MODEL_ZERO_SCRATCH) &&
        !check(driver.memsetD8(scratch, 0, size_t(info.scratch_bytes)),
               "cuMemsetD8 (the scratch arena)", error))
      return false;
    current = this;
    return true;
  }

  bool reserve(int64_t kvCapacity, std::string &error) override {
    dropGraph();
    if (kv)
      driver.memFree(kv);
    kv = 0;
    kvBytes = info.kv_bytes_per_position * kvCapacity;
    return allocate(kv, kvBytes, "the KV cache", error);
  }

  bool hasArgmax() const override { return _mlir_ciface_llmc_argmax; }

  bool run(const int32_t *hostTokens, int64_t n, int64_t pos, int64_t nOut,
           int64_t kvCapacity, float *hostLogits, int64_t *greedyToken,
           std::string &error) override {
    bool argmax = greedyToken != nullptr;
    if (n > info.max_tokens_per_call || nOut > n || nOut < 1 ||
        (argmax && !hasArgmax()) || (!argmax && !hostLogits)) {
      error = "internal error: a call of " + std::to_string(n) + " tokens";
      return false;
    }
    if (!check(driver.memcpyHtoDAsync(tokens, hostTokens,
                                      size_t(n) * sizeof(int32_t), stream),
               "cuMemcpyHtoDAsync (tokens)", error))
      return false;
    positionValue = pos;
    if (position &&
        !check(driver.memcpyHtoDAsync(position, &positionValue,
                                      sizeof(positionValue), stream),
               "cuMemcpyHtoDAsync (position)", error))
      return false;
    // A decode step: the graph captured at the first one, replayed.
    bool replay = graphsAvailable && n == 1 && nOut == 1;
    if (replay && graphExec && graphArgmax != argmax)
      dropGraph();
    if (replay && !graphExec && !capture(kvCapacity, argmax, error))
      return false;
    if (replay && graphExec) {
      if (!check(graphs.launch(graphExec, stream), "cuGraphLaunch", error))
        return false;
    } else {
      timed.clear();
      if (timing && !recordEvent(-1, error))
        return false;
      if (!forward(n, pos, nOut, kvCapacity, argmax, error))
        return false;
    }
    // Only what the caller reads comes back: the key, or the logits.
    if (argmax) {
      if (!check(
              driver.memcpyDtoHAsync(&keyValue, key, sizeof(keyValue), stream),
              "cuMemcpyDtoHAsync (argmax)", error) ||
          !check(driver.streamSynchronize(stream), "the model's kernels",
                 error))
        return false;
      *greedyToken = tokenFromArgmaxKey(keyValue, info.vocab_size);
      return reportTimes(error);
    }
    return check(driver.memcpyDtoHAsync(
                     hostLogits, logits,
                     size_t(nOut * info.vocab_size) * sizeof(float), stream),
                 "cuMemcpyDtoHAsync (logits)", error) &&
           check(driver.streamSynchronize(stream), "the model's kernels",
                 error) &&
           reportTimes(error);
  }

  /// One launch of the generated host code.
  void launch(int64_t kernel, const int64_t grid[3], const int64_t block[3],
              int32_t sharedBytes, void **params) {
    if (!launchError.empty())
      return;
    if (kernel < 0 || kernel >= int64_t(functions.size())) {
      launchError = "internal error: launch of kernel " +
                    std::to_string(kernel) + " of " +
                    std::to_string(functions.size());
      return;
    }
    for (int i = 0; i < 3; ++i)
      if (grid[i] < 1 || grid[i] > INT32_MAX || block[i] < 1 ||
          block[i] > 1024) {
        launchError = "internal error: kernel " + std::to_string(kernel) +
                      " launched on a grid it cannot have";
        return;
      }
    CUresult result = driver.launchKernel(
        functions[kernel], unsigned(grid[0]), unsigned(grid[1]),
        unsigned(grid[2]), unsigned(block[0]), unsigned(block[1]),
        unsigned(block[2]), unsigned(sharedBytes), stream, params, nullptr);
    if (result != 0) {
      launchError = "CUDA error launching kernel " + std::to_string(kernel) +
                    ": " + describe(result);
      return;
    }
    if (timing)
      recordEvent(kernel, launchError);
  }

private:
  /// Runs the generated host code of one forward call, which launches its
  /// kernels on `stream`.
  bool forward(int64_t n, int64_t pos, int64_t nOut, int64_t kvCapacity,
               bool argmax, std::string &error) {
    LlmcMemRef1D tokenRef = memref(tokens, n);
    LlmcMemRef1D weightRef = memref(weights, info.weights_bytes);
    LlmcMemRef1D kvRef = memref(kv, kvBytes);
    LlmcMemRef1D scratchRef = memref(scratch, info.scratch_bytes);
    LlmcMemRef1D logitsRef = memref(logits, nOut * info.vocab_size);
    launchError.clear();
    current = this;
    _mlir_ciface_llmc_forward(0, 1, &tokenRef, pos, nOut, kvCapacity,
                              &weightRef, &kvRef, &scratchRef, &logitsRef);
    if (argmax) {
      void *last = reinterpret_cast<void *>(
          logits + uint64_t((nOut - 1) * info.vocab_size) * sizeof(float));
      LlmcMemRef1D rowRef{last, last, 0, info.vocab_size, 1};
      LlmcMemRef1D keyRef = memref(key, 1);
      _mlir_ciface_llmc_argmax(&rowRef, &keyRef);
    }
    if (launchError.empty())
      return true;
    error = launchError;
    return false;
  }

  /// Captures the launches of a one-token forward call as a graph. A driver
  /// that cannot capture leaves graphs off: every step launches directly.
  bool capture(int64_t kvCapacity, bool argmax, std::string &error) {
    if (graphs.beginCapture(stream, kCaptureThreadLocal) != 0) {
      graphsAvailable = false;
      return true;
    }
    // The position is a device global: any position captures the same step.
    bool launched = forward(1, positionValue, 1, kvCapacity, argmax, error);
    CUgraph graph = nullptr;
    CUresult ended = graphs.endCapture(stream, &graph);
    if (!launched || !check(ended, "cuStreamEndCapture", error)) {
      if (graph)
        graphs.destroy(graph);
      return false;
    }
    CUresult made = graphs.instantiate(&graphExec, graph, 0);
    graphs.destroy(graph);
    if (made != 0)
      graphExec = nullptr;
    graphArgmax = argmax;
    return check(made, "cuGraphInstantiateWithFlags", error);
  }

  /// Records the next event of the pool on the stream, after the launch of
  /// `kernel` (-1: the start of the forward call).
  bool recordEvent(int64_t kernel, std::string &error) {
    size_t next = timed.size();
    if (next == events.size()) {
      CUevent event = nullptr;
      if (!check(timers.create(&event, 0), "cuEventCreate", error))
        return false;
      events.push_back(event);
    }
    timed.push_back(kernel);
    return check(timers.record(events[next], stream), "cuEventRecord", error);
  }

  /// After the stream synchronized: each launch's time, from the event
  /// before it to its own, goes to the profile.
  bool reportTimes(std::string &error) {
    for (size_t i = 1; i < timed.size(); ++i) {
      float ms = 0;
      if (!check(timers.elapsed(&ms, events[i - 1], events[i]),
                 "cuEventElapsedTime", error))
        return false;
      profileKernelTime(timed[i], uint64_t(double(ms) * 1e6));
    }
    timed.clear();
    return true;
  }

  void dropGraph() {
    if (graphExec)
      graphs.execDestroy(graphExec);
    graphExec = nullptr;
  }

  static LlmcMemRef1D memref(CUdeviceptr address, int64_t size) {
    void *p = reinterpret_cast<void *>(address);
    return LlmcMemRef1D{p, p, 0, size, 1};
  }

  std::string describe(CUresult result) const {
    const char *text = nullptr;
    if (driver.getErrorString(result, &text) != 0 || !text)
      return "CUDA error " + std::to_string(result);
    return text;
  }

  bool check(CUresult result, const char *what, std::string &error) const {
    if (result == 0)
      return true;
    error = std::string("CUDA error in ") + what + ": " + describe(result);
    return false;
  }

  bool allocate(CUdeviceptr &buffer, int64_t bytes, const char *what,
                std::string &error) {
    CUresult result =
        driver.memAlloc(&buffer, size_t(std::max<int64_t>(bytes, 256)));
    if (result == 0)
      return true;
    error = "cannot allocate " + std::to_string(bytes) +
            " bytes of GPU "
            "memory for " +
            what + ": " + describe(result);
    return false;
  }

  LlmcModelInfo info{};
  void *handle = nullptr;
  Driver driver{};
  CUdevice device = 0;
  CUstream stream = nullptr;
  std::vector<CUfunction> functions;
  CUdeviceptr weights = 0, scratch = 0, tokens = 0, logits = 0, kv = 0;
  /// The device global llmc_position; 0 in kernels that take it as a
  /// parameter.
  CUdeviceptr position = 0;
  /// Read by the asynchronous copy: lives until the call synchronizes.
  int64_t positionValue = 0;
  GraphDriver graphs{};
  bool graphsAvailable = false;
  /// The decode step, for the current KV cache, with the argmax or not.
  CUgraphExec graphExec = nullptr;
  bool graphArgmax = false;
  /// The argmax key on the device, and its copy.
  CUdeviceptr key = 0;
  uint64_t keyValue = 0;
  int64_t kvBytes = 0;
  std::string launchError;
  /// --profile: the event pool, and the kernel each recorded event follows
  /// in the forward call in flight (-1 for its start).
  EventDriver timers{};
  bool timing = false;
  std::vector<CUevent> events;
  std::vector<int64_t> timed;
};

} // namespace

std::unique_ptr<ForwardDevice> llmc::openCudaDevice(const LlmcModelInfo &info,
                                                    const void *weights,
                                                    std::string &error) {
  if (!llmc_gpu_ptx || !llmc_gpu_kernel_names) {
    error = "this executable has no GPU kernels";
    return nullptr;
  }
  auto device = std::make_unique<CudaDevice>();
  if (!device->open(info, weights, error))
    return nullptr;
  return device;
}

extern "C" void llmc_gpu_launch(int64_t kernel, int64_t gridX, int64_t gridY,
                                int64_t gridZ, int64_t blockX, int64_t blockY,
                                int64_t blockZ, int32_t sharedBytes,
                                void **params, int64_t count) {
  (void)count;
  if (!current) {
    std::fprintf(stderr, "internal error: a GPU launch with no device open\n");
    std::abort();
  }
  const int64_t grid[3] = {gridX, gridY, gridZ};
  const int64_t block[3] = {blockX, blockY, blockZ};
  current->launch(kernel, grid, block, sharedBytes, params);
}
