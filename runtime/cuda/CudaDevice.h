//===- CudaDevice.h - Runs a GPU model through the CUDA driver ----*- C++
//-*-===//
//
// The CUDA layer of the runtime, linked only into executables of GPU models
// (libllmc_runtime_cuda.a). It loads the driver with dlopen at run time, so
// neither building llmc nor linking an executable needs CUDA; it has no math
// of its own: it moves bytes and launches the kernels llmc generated.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CUDA_CUDADEVICE_H
#define LLMC_RUNTIME_CUDA_CUDADEVICE_H

#include "runtime/Session.h"

#include <memory>
#include <string>

namespace llmc {

/// Opens the first CUDA GPU, loads the model's kernels (llmc_gpu_ptx) once
/// and uploads the `info.weights_bytes` bytes at `weights`. Null with a
/// one-line `error` when there is no driver, no GPU, or the kernels do not
/// load. Declared weak: executables of CPU models do not link it.
std::unique_ptr<ForwardDevice> openCudaDevice(const LlmcModelInfo &info,
                                              const void *weights,
                                              std::string &error)
    __attribute__((weak));

} // namespace llmc

#endif // LLMC_RUNTIME_CUDA_CUDADEVICE_H
