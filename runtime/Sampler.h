//===- Sampler.h - Next-token selection from logits -----------------------===//
//
// Greedy (argmax) or temperature sampling with a repetition penalty and
// top-k, top-p (nucleus) and min-p truncation, applied in the order Hugging
// Face transformers applies them: penalty, temperature, top-k, top-p, min-p.
// The random generator is our own so that a seed gives the same tokens on
// every platform and standard library.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SAMPLER_H
#define LLMC_RUNTIME_SAMPLER_H

#include <cstdint>
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
  /// Keep only tokens at least minP times as likely as the most likely one
  /// (0 keeps everything).
  float minP = 0.0f;
  /// Tokens among the last repeatLastN accepted ones have their logit
  /// divided by repeatPenalty when positive and multiplied by it otherwise
  /// (the CTRL penalty); 1 disables it. Applies to greedy decoding too.
  float repeatPenalty = 1.0f;
  int64_t repeatLastN = 64;
  uint64_t seed = 0;
};

/// Picks token ids from rows of logits.
class Sampler {
public:
  explicit Sampler(const SamplerConfig &config);

  /// Returns the chosen token id among `vocab` logits, or -1 when no logit
  /// is a number above -infinity (a broken model). NaN logits are never
  /// chosen; +infinity ones win outright; a temperature that is not a
  /// positive number selects greedy decoding, and one so small that the
  /// scaled logits overflow tends to the greedy choice, as its limit does.
  int64_t sample(const float *logits, int64_t vocab);

  /// Whether sample() returns the argmax of the logits whatever they are
  /// (greedy decoding without a repetition penalty), so that the model's own
  /// argmax may pick the token.
  bool isGreedy() const;

  /// Records a token of the sequence (prompt or generated) for the
  /// repetition penalty.
  void accept(int64_t token);

  /// Returns a uniform number in [0, 1) and advances the generator.
  double nextUniform();

private:
  /// Returns `logits` or, with a repetition penalty and history, a penalized
  /// copy of them.
  const float *penalize(const float *logits, int64_t vocab);
  /// Returns `logits` or, when some are NaN, a copy in which they are
  /// -infinity.
  const float *dropNaNs(const float *logits, int64_t vocab);
  /// Reduces `ids` (all candidates, unordered) to the top-p nucleus, in no
  /// particular order, without sorting the vocabulary.
  void selectNucleus(const float *logits, double total);

  SamplerConfig config;
  uint64_t state;
  /// The last repeatLastN accepted tokens, oldest first.
  std::vector<int64_t> history;
  std::vector<float> penalized;
  std::vector<float> cleaned;
  std::vector<int64_t> ids;
  /// exp((logit - max) / temperature) by token id.
  std::vector<float> weights;
};

/// Returns the index of the largest of `n` values (the first on ties).
int64_t argmax(const float *values, int64_t n);

/// The token an argmax key of _mlir_ciface_llmc_argmax (runtime/abi/
/// ModelABI.h) names among `vocab` logits: what sample() returns greedily,
/// -1 when no logit is a number above -infinity or the key is not one of
/// `vocab` logits.
int64_t tokenFromArgmaxKey(uint64_t key, int64_t vocab);

} // namespace llmc

#endif // LLMC_RUNTIME_SAMPLER_H
