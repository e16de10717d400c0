//===- Session.h - KV cache, chunked prefill and generation ---------------===//
//
// A Session owns everything one conversation needs besides the weights: the
// KV cache, the scratch arena, the logits buffer and the worker pool. It
// drives the generated forward function, which does all the model math.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SESSION_H
#define LLMC_RUNTIME_SESSION_H

#include "runtime/Sampler.h"
#include "runtime/ThreadPool.h"
#include "runtime/abi/ModelABI.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llmc {

/// The signature of `_mlir_ciface_llmc_forward`; tests pass a fake. Element
/// types of the memrefs: tokens i32; weights, kv and scratch i8 (sizes in
/// bytes); logits f32 with n_out * vocab elements.
using ForwardFn = void (*)(int64_t tid, int64_t nthreads, LlmcMemRef1D *tokens,
                           int64_t pos, int64_t nOut, int64_t kvCapacity,
                           LlmcMemRef1D *weights, LlmcMemRef1D *kv,
                           LlmcMemRef1D *scratch, LlmcMemRef1D *logits);

/// The signature of `_mlir_ciface_llmc_argmax` (runtime/abi/ModelABI.h).
using ArgmaxFn = void (*)(LlmcMemRef1D *logits, LlmcMemRef1D *key);

/// Run-time choices for a Session.
struct SessionConfig {
  /// Worker count; 0 means all available CPUs.
  int threads = 0;
  /// KV cache capacity in positions; 0 means min(4096, max_positions).
  int64_t contextSize = 0;
  /// Most tokens per forward call; 0 means the model's max_tokens_per_call.
  int64_t prefillChunk = 0;
};

/// Receives the logits of a prefill chunk: `rows` rows of vocab floats for
/// the input positions starting at `firstRow`. Returns false to abort.
using LogitsSink =
    std::function<bool(const float *logits, int64_t firstRow, int64_t rows)>;

/// Receives each generated token. Returns false to stop generating.
using TokenSink = std::function<bool(int64_t token)>;

/// Runs the generated forward() with the model's buffers in another memory
/// (a GPU's): it owns the weights, the KV cache and the scratch arena there.
class ForwardDevice {
public:
  virtual ~ForwardDevice();
  /// Makes room for a KV cache of `kvCapacity` positions.
  virtual bool reserve(int64_t kvCapacity, std::string &error) = 0;
  /// Runs `n` tokens from position `pos` and copies the logits of the last
  /// `nOut` into `logits` (nOut rows of vocab floats, host memory) or, with
  /// `greedyToken` (and then `logits` null), only the argmax key of the last
  /// row, decoded into *greedyToken (tokenFromArgmaxKey).
  virtual bool run(const int32_t *tokens, int64_t n, int64_t pos, int64_t nOut,
                   int64_t kvCapacity, float *logits, int64_t *greedyToken,
                   std::string &error) = 0;
  /// Whether run() can return greedy tokens.
  virtual bool hasArgmax() const = 0;
};

/// Readies a freshly allocated scratch arena of `info.scratch_bytes` for
/// the model's first forward() (zero where its flags ask for it).
void prepareScratch(void *arena, const LlmcModelInfo &info);

/// Frees memory from alignedAlloc().
struct AlignedFree {
  void operator()(void *p) const;
};

/// One model instance with its KV cache.
class Session {
public:
  /// Sets up the cache, scratch arena and threads. `weights` points at the
  /// packed weights (info.weights_bytes bytes). On failure returns false and
  /// sets `error`.
  bool init(const LlmcModelInfo &info, ForwardFn forward, const void *weights,
            const SessionConfig &config, std::string &error);
  /// The same for a model whose forward() runs on `device` (not owned), which
  /// holds the weights, cache and scratch.
  bool init(const LlmcModelInfo &info, ForwardDevice &device,
            const SessionConfig &config, std::string &error);

  /// Positions the KV cache holds.
  int64_t capacity() const { return kvCapacity; }
  /// The next position to be written (tokens already in the cache).
  int64_t position() const { return pos; }
  int threads() const { return pool ? pool->size() : 0; }

  /// Runs `tokens` through the model in chunks of at most
  /// min(max_tokens_per_call, SessionConfig::prefillChunk), appending them to
  /// the cache. When `sink` is set every position's logits are passed to it;
  /// otherwise only the last position's logits are kept (see lastLogits()).
  /// Returns false with `error` on invalid ids, a full context or an aborting
  /// sink.
  bool prefill(const std::vector<int64_t> &tokens, const LogitsSink &sink,
               std::string &error);

  /// Generates up to `count` tokens, starting from lastLogits(): samples,
  /// records the token in the sampler's history (Sampler::accept), passes it
  /// to `onToken`, and feeds it back to the model unless it
  /// was the last one. Stops early at a token in `stopTokens` (which is not
  /// passed on). Sets `generated` to the number of tokens sampled.
  bool generate(int64_t count, Sampler &sampler,
                const std::vector<int64_t> &stopTokens,
                const TokenSink &onToken, int64_t &generated,
                std::string &error);

  /// Logits of the last position run so far (vocab floats); null after a
  /// greedy generate() on a device, which copies back only the tokens.
  const float *lastLogits() const { return lastRow; }

  /// Lets greedy decoding take each token from `argmax` (the model's
  /// generated argmax) instead of the sampler; a device model uses its
  /// device's.
  void setArgmax(ArgmaxFn argmax) { argmaxFn = argmax; }

  /// Runs one token through the model and forgets it (the cached positions
  /// stay as they were). The first forward call of a process is the first
  /// to touch the weights' pages, the scratch arena and the threads' stacks;
  /// on a virtual machine that maps guest pages on first touch it took
  /// several times as long as the next one, even with the weights mapped up
  /// front. After a warm-up, timings measure the steady state (llama.cpp
  /// warms up the same way). Not counted by --profile.
  bool warmUp(std::string &error);

  /// Forward calls generate() has made so far: a token fed back is one;
  /// the first generated token comes from the prefill's logits.
  int64_t decodeForwardCalls() const { return decodeCalls; }

  /// Forgets the cached positions (the cache memory is kept).
  void reset() { pos = 0; }
  /// Forgets the positions from `position` on (a cancelled turn).
  void rewind(int64_t position) {
    if (position >= 0 && position < pos)
      pos = position;
  }

  /// While `*flag` is set, prefill() stops before its next forward call
  /// (returning false with "interrupted") and generate() before its next
  /// token (returning true). Null: never stop.
  void setStopFlag(const std::atomic<bool> *flag) { stopFlag = flag; }
  /// Whether the stop flag is set.
  bool stopRequested() const { return stopFlag && stopFlag->load(); }

  /// Checks that every id is in [0, vocab); returns an error message or "".
  std::string checkTokenIds(const std::vector<int64_t> &tokens) const;

  /// Checks that `more` positions fit after the cached ones; returns the
  /// "context full" message or "".
  std::string checkRoom(int64_t more) const;

private:
  bool initCommon(const LlmcModelInfo &info, const SessionConfig &config,
                  std::string &error);
  /// Runs `n` tokens of the prefill or of decode (`prefill`, for
  /// --profile); with `greedyToken`, also sets it to the argmax of the last
  /// row's logits (the model's argmax; a device then copies back only that
  /// token, not the logits).
  bool runChunk(const int64_t *tokens, int64_t n, int64_t nOut, bool prefill,
                std::string &error, int64_t *greedyToken = nullptr);

  LlmcModelInfo info{};
  ForwardFn forward = nullptr;
  ForwardDevice *device = nullptr;
  ArgmaxFn argmaxFn = nullptr;
  const void *weights = nullptr;
  int64_t kvCapacity = 0;
  /// kvCapacity rounded up to LLMC_KV_CAPACITY_MULTIPLE: the cache's size
  /// in positions, as forward() is told.
  int64_t kvAllocated = 0;
  int64_t chunkSize = 0;
  int64_t pos = 0;
  int64_t decodeCalls = 0;
  /// False during warmUp(): forward calls are not profiled.
  bool profiled = true;
  std::unique_ptr<void, AlignedFree> kvCache;
  std::unique_ptr<void, AlignedFree> scratch;
  std::unique_ptr<void, AlignedFree> logits;
  int64_t logitsRows = 0;
  std::vector<int32_t> tokenIds;
  const float *lastRow = nullptr;
  std::unique_ptr<ThreadPool> pool;
  const std::atomic<bool> *stopFlag = nullptr;
};

/// Allocates `bytes` (rounded up to 64) aligned to 64 bytes, uninitialized;
/// null when out of memory.
void *alignedAlloc(size_t bytes);

} // namespace llmc

#endif // LLMC_RUNTIME_SESSION_H
