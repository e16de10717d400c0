//===- ModelABI.h - Contract between generated code and the runtime -------===//
//
// The compiler emits one object file per model. It defines the symbols below;
// the runtime (and only the runtime) calls them. This header is plain C so that
// both the compiler (which writes the metadata) and the runtime (which reads
// it) share one definition.
//
// runtime/abi/ holds the headers both sides include (the CMake INTERFACE
// library `llmc_abi`): the compiler links it without reaching into the
// runtime's sources, and the runtime without depending on the compiler.
//
// Execution model: SPMD. The runtime starts `nthreads` workers and every worker
// calls `_mlir_ciface_llmc_forward` with its own `tid`. The generated code
// splits each kernel's iteration space across the workers (fixed shares, or
// chunks claimed from `llmc_next_chunk()`) and calls `llmc_barrier()` between
// dependent kernels. The runtime provides both; it has no math of its own.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ABI_MODELABI_H
#define LLMC_RUNTIME_ABI_MODELABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A rank-1 MLIR memref descriptor (the layout MLIR's C interface uses).
typedef struct LlmcMemRef1D {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
} LlmcMemRef1D;

#define LLMC_MODEL_INFO_MAGIC 0x314f464e49434d4cULL /* "LMCINFO1" */
#define LLMC_WEIGHTS_MAGIC "LLMCWTS1"
/// The weight file starts with this many bytes of header (LlmcWeightsHeader,
/// zero padded); the packed weights follow, then the optional tokenizer (the
/// compiled image of the model's tokenizer.json, see
/// runtime/abi/TokenizerImage.h).
#define LLMC_WEIGHTS_HEADER_BYTES 4096

/// Constant metadata the compiler emits as the global `llmc_model_info`.
/// All fields are 64-bit so the struct has no padding on any target.
typedef struct LlmcModelInfo {
  uint64_t magic;           /* LLMC_MODEL_INFO_MAGIC */
  uint64_t fingerprint;     /* must equal LlmcWeightsHeader.fingerprint */
  int64_t vocab_size;
  int64_t hidden_size;
  int64_t num_layers;
  int64_t num_heads;
  int64_t num_kv_heads;
  int64_t head_dim;
  int64_t max_positions;    /* the model's own context limit */
  int64_t max_tokens_per_call; /* forward() takes at most this many tokens */
  int64_t kv_bytes_per_position; /* all layers, keys and values */
  int64_t scratch_bytes;    /* activation arena forward() needs */
  int64_t weights_bytes;    /* size of the packed weight blob */
  int64_t bos_token_id;     /* -1 when unknown */
  int64_t eos_token_id;     /* -1 when unknown */
  int64_t flags;            /* LLMC_MODEL_* bits */
} LlmcModelInfo;

/// LlmcModelInfo.flags: forward() expects the scratch arena all zero before
/// its first call and leaves it so (a GPU model zeroes an accumulation
/// buffer after its last use instead of before its first, which saves a
/// launch per layer).
#define LLMC_MODEL_ZERO_SCRATCH 1
/// LlmcModelInfo.flags: forward() is not split among workers (a GPU
/// model's kernels emulated on the CPU, `llmc compile --emulate-gpu`):
/// every worker would run each kernel in full over the same buffers, so it
/// runs on one thread whatever --threads asks.
#define LLMC_MODEL_ONE_WORKER 2

/// Header at offset 0 of the weight file written by `llmc compile`.
typedef struct LlmcWeightsHeader {
  char magic[8];            /* LLMC_WEIGHTS_MAGIC, not NUL terminated */
  uint64_t fingerprint;
  uint64_t weights_offset;  /* page aligned */
  uint64_t weights_bytes;
  uint64_t tokenizer_offset; /* 0 when the model has no tokenizer.json */
  uint64_t tokenizer_bytes;
} LlmcWeightsHeader;

/// Defined by the generated object.
extern const LlmcModelInfo llmc_model_info;

/// Defined by the generated object: the LLVM CPU name and feature list
/// ("+avx2,+fma,-avx512f") it was compiled for, NUL terminated. The runtime
/// checks at start that this CPU has every enabled feature it can detect.
extern const char llmc_target_cpu[];
extern const char llmc_target_features[];

/// Defined by objects llmc compiles (weak: absent from the tests' stand-in
/// models): what the executable's --version/--info print about how it was
/// made, as "key: value" lines (llmc's and LLVM's versions, the compile
/// command, the weight types), NUL terminated.
extern const char llmc_build_info[] __attribute__((weak));

#define LLMC_GENERATION_DEFAULTS_MAX_STOPS 8
/// The sampling defaults llmc read from the model's generation_config.json,
/// already resolved as transformers resolves them (`temperature` 0 when
/// do_sample is off). The runtime's options override each one. All fields
/// are 64-bit. Defined (weak) only when the model had the file.
typedef struct LlmcGenerationDefaults {
  double temperature;
  double top_p;
  double min_p;
  double repetition_penalty;
  int64_t top_k;
  /// eos_token_id of the file: generation also stops at these ids.
  int64_t stop_count;
  int64_t stop_ids[LLMC_GENERATION_DEFAULTS_MAX_STOPS];
} LlmcGenerationDefaults;
extern const LlmcGenerationDefaults llmc_generation_defaults
    __attribute__((weak));

/// The runtime passes forward() a `kv_capacity` that is a multiple of this
/// (it rounds the cache up; the positions it uses stay within the context):
/// the generated code may store the keys in blocks of that many positions.
#define LLMC_KV_CAPACITY_MULTIPLE 16

/// Defined by the generated object (MLIR C interface of `llmc_forward`).
/// Runs `tokens->size` tokens starting at absolute position `pos` through the
/// model, appending their keys and values to the cache (which holds
/// `kv_capacity` positions, a multiple of LLMC_KV_CAPACITY_MULTIPLE), and
/// writes the logits of the last `n_out` tokens to `logits` (row-major
/// [n_out, vocab]).
void _mlir_ciface_llmc_forward(int64_t tid, int64_t nthreads,
                               LlmcMemRef1D *tokens, int64_t pos,
                               int64_t n_out, int64_t kv_capacity,
                               LlmcMemRef1D *weights, LlmcMemRef1D *kv,
                               LlmcMemRef1D *scratch, LlmcMemRef1D *logits);

/// Defined by the runtime: waits until every worker of the current forward()
/// call has arrived.
void llmc_barrier(void);

/// Defined by the runtime: the next unclaimed chunk of the current kernel
/// (0, 1, 2, ... handed out once each across the workers of the forward()
/// call; the count starts over at every llmc_barrier()). Kernels split this
/// way loop until the chunk is past their end, so faster workers take more.
int64_t llmc_next_chunk(void);

/* GPU models (llmc compile --target nvptx64-nvidia-cuda). Their forward()
 * runs on the host with tid 0 of 1 and device pointers in every memref; it
 * only computes addresses and launches kernels. Defined by the generated
 * object of a GPU model, absent (weak, null) in a CPU model: */
/// The kernels' PTX text, NUL terminated.
extern const char llmc_gpu_ptx[] __attribute__((weak));
/// The kernel names in the order of their indices, each ended by NUL.
extern const char llmc_gpu_kernel_names[] __attribute__((weak));
extern const int64_t llmc_gpu_kernel_count __attribute__((weak));

/// Greedy decoding's argmax, generated for GPU models (and their emulation
/// on the CPU): writes to key->aligned[0] (an int64) the largest
///   order(logits[i] + 0) << 32 | (0xffffffff - i)
/// over the `logits->size` logits that are not NaN, `order` mapping a
/// float's bits b to b ^ 0xffffffff when negative and b | 0x80000000
/// otherwise (so unsigned order is float order; adding 0 turns -0 into 0),
/// or 0 when every logit is NaN. The largest key names the first index of the largest logit.
void _mlir_ciface_llmc_argmax(LlmcMemRef1D *logits, LlmcMemRef1D *key)
    __attribute__((weak));

/// Defined by the runtime's CUDA layer (libllmc_runtime_cuda.a), called by
/// the generated host code for each launch: kernel `kernel` (an index into
/// llmc_gpu_kernel_names) on a grid of blocks, `params` the addresses of
/// its `count` parameters as cuLaunchKernel takes them.
void llmc_gpu_launch(int64_t kernel, int64_t grid_x, int64_t grid_y,
                     int64_t grid_z, int64_t block_x, int64_t block_y,
                     int64_t block_z, int32_t shared_bytes, void **params,
                     int64_t count);

#ifdef __cplusplus
}
#endif

#endif // LLMC_RUNTIME_ABI_MODELABI_H
