//===- FakeModel.cpp - Test-only stand-in for a compiled model ------------===//

#include "FakeModel.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

using namespace llmc;

extern "C" const LlmcModelInfo llmc_model_info = {
    LLMC_MODEL_INFO_MAGIC,
    fake::kFingerprint,
    fake::kVocab,
    /*hidden_size=*/8,
    /*num_layers=*/1,
    /*num_heads=*/1,
    /*num_kv_heads=*/1,
    /*head_dim=*/8,
    fake::kMaxPositions,
    fake::kMaxTokensPerCall,
    /*kv_bytes_per_position=*/sizeof(int64_t),
    /*scratch_bytes=*/256,
    fake::kWeightsBytes,
    fake::kBos,
    fake::kEos};

extern "C" const char llmc_target_cpu[] = "generic";
extern "C" const char llmc_target_features[] = "";

static std::vector<fake::Call> callLog;
static std::atomic<int64_t> errorCount{0};
static std::atomic<bool> callIsBad{false};

const std::vector<fake::Call> &fake::calls() { return callLog; }
void fake::clearCalls() { callLog.clear(); }
int64_t fake::errors() { return errorCount.load(); }

std::vector<uint8_t> fake::weights() {
  std::vector<uint8_t> w(kWeightsBytes);
  for (int64_t i = 0; i < kWeightsBytes; ++i)
    w[i] = uint8_t(i);
  return w;
}

extern "C" void _mlir_ciface_llmc_forward(int64_t tid, int64_t nthreads,
                                          LlmcMemRef1D *tokens, int64_t pos,
                                          int64_t nOut, int64_t kvCapacity,
                                          LlmcMemRef1D *weights,
                                          LlmcMemRef1D *kv,
                                          LlmcMemRef1D *scratch,
                                          LlmcMemRef1D *logits) {
  // LLMC_FAKE_DELAY_MS slows every call down (signal tests need time).
  static const int delayMs = [] {
    const char *value = std::getenv("LLMC_FAKE_DELAY_MS");
    return value ? std::atoi(value) : 0;
  }();
  if (delayMs > 0 && tid == 0)
    usleep(useconds_t(delayMs) * 1000);
  const int64_t n = tokens->size;
  const int32_t *ids = static_cast<const int32_t *>(tokens->aligned);
  int64_t *cache = static_cast<int64_t *>(kv->aligned);
  float *out = static_cast<float *>(logits->aligned);
  const uint8_t *w = static_cast<const uint8_t *>(weights->aligned);

  if (tid == 0) {
    callLog.push_back({pos, n, nOut, nthreads});
    bool bad = n < 1 || n > fake::kMaxTokensPerCall || nOut < 1 || nOut > n ||
               pos + n > kvCapacity ||
               kvCapacity % LLMC_KV_CAPACITY_MULTIPLE != 0 ||
               kv->size != kvCapacity * int64_t(sizeof(int64_t)) ||
               logits->size != nOut * fake::kVocab ||
               weights->size != fake::kWeightsBytes ||
               scratch->size != llmc_model_info.scratch_bytes ||
               reinterpret_cast<uintptr_t>(kv->aligned) % 64 != 0 ||
               reinterpret_cast<uintptr_t>(scratch->aligned) % 64 != 0;
    for (int64_t i = 0; i < fake::kWeightsBytes && !bad; ++i)
      bad = w[i] != uint8_t(i);
    if (bad)
      ++errorCount;
    callIsBad.store(bad);
  }
  // Workers decide together after a barrier, so none is left waiting.
  llmc_barrier();
  if (callIsBad.load())
    return;

  // Phase 1: append the tokens to the cache, split across workers.
  for (int64_t i = tid; i < n; i += nthreads)
    cache[pos + i] = ids[i];
  llmc_barrier();
  // Phase 2: every row reads cache entries other workers wrote.
  for (int64_t r = tid; r < nOut; r += nthreads) {
    int64_t p = pos + n - nOut + r;
    int64_t sum = 0;
    for (int64_t q = 0; q <= p; ++q)
      sum += cache[q];
    float *row = out + r * fake::kVocab;
    std::memset(row, 0, sizeof(float) * fake::kVocab);
    row[(cache[p] + 1) % fake::kVocab] += 1.0f;
    row[sum % fake::kVocab] += 0.5f;
  }
  llmc_barrier();
}
