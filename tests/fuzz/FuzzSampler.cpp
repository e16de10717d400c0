//===- FuzzSampler.cpp - The sampler over arbitrary floats ----------------===//
//
// The first 24 bytes choose the configuration (any float bits, NaN and
// infinities included); the rest are the logits. The result must be a token
// id in range, or -1 exactly when no logit is usable.
//
//===----------------------------------------------------------------------===//

#include "runtime/Sampler.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 24)
    return 0;
  llmc::SamplerConfig config;
  std::memcpy(&config.temperature, data, 4);
  std::memcpy(&config.topP, data + 4, 4);
  std::memcpy(&config.minP, data + 8, 4);
  std::memcpy(&config.repeatPenalty, data + 12, 4);
  config.topK = data[16] % 8;
  config.repeatLastN = data[17] % 8;
  std::memcpy(&config.seed, data + 16, 8);
  std::vector<float> logits((size - 24) / 4);
  if (logits.empty())
    return 0;
  std::memcpy(logits.data(), data + 24, logits.size() * 4);
  int64_t vocab = int64_t(logits.size());
  llmc::Sampler sampler(config);
  sampler.accept(int64_t(data[18]) % vocab);
  int64_t token = sampler.sample(logits.data(), vocab);
  bool usable = false;
  for (float l : logits)
    usable |= !std::isnan(l) && l != -INFINITY;
  if (usable ? (token < 0 || token >= vocab || std::isnan(logits[token]))
             : token != -1)
    std::abort();
  return 0;
}
