//===- Session.cpp - KV cache, chunked prefill and generation -------------===//

#include "runtime/Session.h"

#include "runtime/Profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>

using namespace llmc;

void *llmc::alignedAlloc(size_t bytes) {
  // Buffers of 2 MiB or more (the KV cache, the scratch arena) on huge
  // pages where the kernel gives them: attention's scan of a long context
  // steps to a new 4 KiB page every block of keys and values, and on 4 KiB
  // pages each step was a TLB miss the prefetches waited behind. 1B model
  // on Zen 5, four alternating runs, decode after 8 / after 2048 tokens:
  // 21.0-23.5 / 17.9-20.0 tok/s on 4 KiB pages, 23.5-25.9 / 19.4-23.0 on
  // huge pages.
  constexpr size_t kHugePage = size_t(2) << 20;
  if (bytes >= kHugePage) {
    size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void *p = std::aligned_alloc(kHugePage, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
      (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
  }
  size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  return std::aligned_alloc(64, rounded);
}

void AlignedFree::operator()(void *p) const { std::free(p); }

void llmc::prepareScratch(void *arena, const LlmcModelInfo &info) {
  // Tests poison the arena (NaN bits) to show that nothing reads it before
  // writing it, and that a model asking for a zero arena gets one.
  if (std::getenv("LLMC_POISON_SCRATCH"))
    std::memset(arena, 0xff, size_t(info.scratch_bytes));
  if (info.flags & LLMC_MODEL_ZERO_SCRATCH)
    std::memset(arena, 0, size_t(info.scratch_bytes));
}

static LlmcMemRef1D makeMemRef(const void *data, int64_t size) {
  void *p = const_cast<void *>(data);
  return LlmcMemRef1D{p, p, 0, size, 1};
}

ForwardDevice::~ForwardDevice() = default;

bool Session::initCommon(const LlmcModelInfo &modelInfo,
                         const SessionConfig &config, std::string &error) {
  info = modelInfo;
  if (info.magic != LLMC_MODEL_INFO_MAGIC || info.vocab_size <= 0 ||
      info.max_positions <= 0 || info.max_tokens_per_call <= 0 ||
      info.kv_bytes_per_position < 0 || info.scratch_bytes < 0) {
    error = "the compiled model's metadata (llmc_model_info) is invalid";
    return false;
  }
  chunkSize = config.prefillChunk > 0
                  ? std::min(config.prefillChunk, info.max_tokens_per_call)
                  : info.max_tokens_per_call;
  kvCapacity = config.contextSize > 0
                   ? config.contextSize
                   : std::min<int64_t>(4096, info.max_positions);
  if (kvCapacity > info.max_positions) {
    error = "--ctx " + std::to_string(kvCapacity) +
            " exceeds the model's maximum of " +
            std::to_string(info.max_positions) + " positions";
    return false;
  }
  kvAllocated = (kvCapacity + LLMC_KV_CAPACITY_MULTIPLE - 1) /
                LLMC_KV_CAPACITY_MULTIPLE * LLMC_KV_CAPACITY_MULTIPLE;
  if (info.kv_bytes_per_position > 0 &&
      kvAllocated > INT64_MAX / info.kv_bytes_per_position) {
    error = "KV cache size overflows";
    return false;
  }
  logits.reset(alignedAlloc(size_t(info.vocab_size) * sizeof(float)));
  if (!logits) {
    error = "out of memory allocating the logits buffer";
    return false;
  }
  logitsRows = 1;
  lastRow = static_cast<const float *>(logits.get());
  pos = 0;
  return true;
}

bool Session::init(const LlmcModelInfo &modelInfo, ForwardDevice &forwardDevice,
                   const SessionConfig &config, std::string &error) {
  if (!initCommon(modelInfo, config, error))
    return false;
  device = &forwardDevice;
  return device->reserve(kvAllocated, error);
}

bool Session::init(const LlmcModelInfo &modelInfo, ForwardFn forwardFn,
                   const void *weightData, const SessionConfig &config,
                   std::string &error) {
  if (!initCommon(modelInfo, config, error))
    return false;
  forward = forwardFn;
  weights = weightData;
  int64_t kvBytes = info.kv_bytes_per_position * kvAllocated;
  kvCache.reset(alignedAlloc(size_t(kvBytes)));
  scratch.reset(alignedAlloc(size_t(info.scratch_bytes)));
  if (!kvCache || !scratch) {
    error = "out of memory allocating the KV cache (" +
            std::to_string(kvBytes) + " bytes) and scratch arena (" +
            std::to_string(info.scratch_bytes) + " bytes)";
    return false;
  }
  prepareScratch(scratch.get(), info);
  int threads = config.threads > 0 ? config.threads : availableCpus();
  if (info.flags & LLMC_MODEL_ONE_WORKER)
    threads = 1;
  pool.reset(new ThreadPool(threads));
  return true;
}

std::string Session::checkTokenIds(const std::vector<int64_t> &tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= info.vocab_size)
      return "token id " + std::to_string(tokens[i]) + " (input position " +
             std::to_string(i) + ") is outside the vocabulary [0, " +
             std::to_string(info.vocab_size) + ")";
  return std::string();
}

std::string Session::checkRoom(int64_t more) const {
  if (more >= 0 && more <= kvCapacity - pos)
    return std::string();
  int64_t requested;
  std::string what = __builtin_add_overflow(pos, more, &requested)
                         ? std::to_string(pos) + " + " + std::to_string(more)
                         : std::to_string(requested);
  std::string error = "context full: " + what +
                      " positions requested, cache holds " +
                      std::to_string(kvCapacity);
  // A larger --ctx helps only up to the model's own maximum.
  bool overflowed = what.find('+') != std::string::npos;
  if (!overflowed && requested <= info.max_positions)
    return error + " (use --ctx " + std::to_string(requested) + ")";
  if (kvCapacity < info.max_positions)
    return error + "; the model's maximum is " +
           std::to_string(info.max_positions) + " positions (--ctx " +
           std::to_string(info.max_positions) + ")";
  return error + ", the model's maximum";
}

namespace {
/// The arguments every worker passes to forward() for one call.
struct ForwardCall {
  ForwardFn forward;
  LlmcMemRef1D tokens, weights, kv, scratch, logits;
  int64_t pos, nOut, kvCapacity;
};

void runForward(void *ctx, int tid, int nthreads) {
  const ForwardCall &call = *static_cast<const ForwardCall *>(ctx);
  // Each worker gets its own descriptors, so generated code may treat them
  // as private.
  LlmcMemRef1D tokens = call.tokens, weights = call.weights, kv = call.kv,
               scratch = call.scratch, logits = call.logits;
  call.forward(tid, nthreads, &tokens, call.pos, call.nOut, call.kvCapacity,
               &weights, &kv, &scratch, &logits);
}
} // namespace

bool Session::runChunk(const int64_t *tokens, int64_t n, int64_t nOut,
                       bool prefill, std::string &error,
                       int64_t *greedyToken) {
  // Every caller checked the room first (checkRoom); writing past the cache
  // would corrupt memory, so a broken invariant stops here.
  if (n <= 0 || n > kvCapacity - pos) {
    std::fprintf(stderr,
                 "internal error: %lld positions at %lld overflow "
                 "the KV cache of %lld\n",
                 static_cast<long long>(n), static_cast<long long>(pos),
                 static_cast<long long>(kvCapacity));
    std::abort();
  }
  if (nOut > logitsRows) {
    void *grown =
        alignedAlloc(size_t(nOut) * size_t(info.vocab_size) * sizeof(float));
    if (!grown) {
      error = "out of memory allocating the logits buffer";
      return false;
    }
    logits.reset(grown);
    logitsRows = nOut;
  }
  // Token ids cross the ABI as i32, the id type of llm.embedding.
  tokenIds.assign(tokens, tokens + n);
  if (device) {
    // The device reports its kernels' times inside run().
    if (profiled)
      profileBeginForward(n, nOut, pos, prefill);
    bool ran =
        device->run(tokenIds.data(), n, pos, nOut, kvAllocated,
                    greedyToken ? nullptr : static_cast<float *>(logits.get()),
                    greedyToken, error);
    if (profiled)
      profileEndForward();
    if (!ran)
      return false;
    pos += n;
    lastRow = greedyToken ? nullptr
                          : static_cast<const float *>(logits.get()) +
                                (nOut - 1) * info.vocab_size;
    return true;
  }
  ForwardCall call;
  call.forward = forward;
  call.tokens = makeMemRef(tokenIds.data(), n);
  call.weights = makeMemRef(weights, info.weights_bytes);
  call.kv =
      makeMemRef(kvCache.get(), info.kv_bytes_per_position * kvAllocated);
  call.scratch = makeMemRef(scratch.get(), info.scratch_bytes);
  call.logits = makeMemRef(logits.get(), nOut * info.vocab_size);
  call.pos = pos;
  call.nOut = nOut;
  call.kvCapacity = kvAllocated;
  if (profiled)
    profileBeginForward(n, nOut, pos, prefill);
  pool->run(runForward, &call);
  if (profiled)
    profileEndForward();
  pos += n;
  lastRow =
      static_cast<const float *>(logits.get()) + (nOut - 1) * info.vocab_size;
  if (greedyToken) {
    int64_t key = 0;
    LlmcMemRef1D row = makeMemRef(lastRow, info.vocab_size);
    LlmcMemRef1D keyRef = makeMemRef(&key, 1);
    argmaxFn(&row, &keyRef);
    *greedyToken = tokenFromArgmaxKey(uint64_t(key), info.vocab_size);
  }
  return true;
}

bool Session::warmUp(std::string &error) {
  error = checkRoom(1);
  if (!error.empty())
    return false;
  int64_t token = info.bos_token_id >= 0 && info.bos_token_id < info.vocab_size
                      ? info.bos_token_id
                      : 0;
  int64_t start = pos;
  const float *row = lastRow;
  profiled = false;
  bool ok = runChunk(&token, 1, 1, /*prefill=*/false, error);
  profiled = true;
  pos = start;
  lastRow = row;
  return ok;
}

bool Session::prefill(const std::vector<int64_t> &tokens,
                      const LogitsSink &sink, std::string &error) {
  error = checkTokenIds(tokens);
  if (!error.empty())
    return false;
  int64_t n = int64_t(tokens.size());
  error = checkRoom(n);
  if (!error.empty())
    return false;
  for (int64_t start = 0; start < n; start += chunkSize) {
    if (stopRequested()) {
      error = "interrupted";
      return false;
    }
    int64_t chunk = std::min(chunkSize, n - start);
    // Chunks whose logits nobody reads still ask for one row: the generated
    // code need not handle n_out == 0.
    int64_t nOut = sink ? chunk : 1;
    if (!runChunk(tokens.data() + start, chunk, nOut, /*prefill=*/true, error))
      return false;
    if (sink && !sink(static_cast<const float *>(logits.get()), start, nOut)) {
      error = "writing logits failed";
      return false;
    }
  }
  return true;
}

bool Session::generate(int64_t count, Sampler &sampler,
                       const std::vector<int64_t> &stopTokens,
                       const TokenSink &onToken, int64_t &generated,
                       std::string &error) {
  generated = 0;
  if (count <= 0)
    return true;
  // The last generated token is never fed back, so count - 1 more positions.
  error = checkRoom(count - 1);
  if (!error.empty())
    return false;
  // Greedy decoding takes the model's argmax: on a GPU only the token id
  // comes back, not the logits.
  bool modelArgmax = sampler.isGreedy() &&
                     (device ? device->hasArgmax() : argmaxFn != nullptr);
  int64_t next = 0;
  for (int64_t i = 0; i < count && !stopRequested(); ++i) {
    int64_t token =
        modelArgmax && i > 0 ? next : sampler.sample(lastRow, info.vocab_size);
    if (token < 0) {
      error = "the model produced no usable logits (all NaN or -infinity)";
      return false;
    }
    sampler.accept(token);
    ++generated;
    if (std::find(stopTokens.begin(), stopTokens.end(), token) !=
        stopTokens.end())
      return true;
    if (onToken && !onToken(token))
      return true;
    if (i + 1 < count) {
      if (!runChunk(&token, 1, 1, /*prefill=*/false, error,
                    modelArgmax ? &next : nullptr))
        return false;
      ++decodeCalls;
    }
  }
  return true;
}
