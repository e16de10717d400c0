//===- Sampler.h - Next-token selection from logits -----------------------===//
//
// Greedy (argmax) or temperature sampling with optional top-k and top-p
// (nucleus) truncation. The random generator is our own so that a seed gives
// the same tokens on every platform and standard library.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SAMPLER_H
#define LLMC_RUNTIME_SAMPLER_H

#include <cstdint>
#include <utility>
#include <vector>

namespace llmc {

/// How the next token is chosen.
struct SamplerConfig {
  /// 0 selects greedy decoding (argmax); otherwise logits are divided by it.
  float temperature = 0.0f;
  /// Keep the smallest set of most likely tokens whose probability reaches
  /// topP (1 keeps everything).
  float topP = 1.0f;
  /// Keep only the topK most likely tokens (0 keeps everything).
  int64_t topK = 0;
  uint64_t seed = 0;
};

/// Picks token ids from rows of logits.
class Sampler {
public:
  explicit Sampler(const SamplerConfig &config);

  /// Returns the chosen token id among `vocab` logits.
  int64_t sample(const float *logits, int64_t vocab);

  /// Returns a uniform number in [0, 1) and advances the generator.
  double nextUniform();

private:
  SamplerConfig config;
  uint64_t state;
  std::vector<std::pair<float, int64_t>> candidates;
};

/// Returns the index of the largest of `n` values (the first on ties).
int64_t argmax(const float *values, int64_t n);

} // namespace llmc

#endif // LLMC_RUNTIME_SAMPLER_H
