//===- Sampler.cpp - Next-token selection from logits ---------------------===//

#include "runtime/Sampler.h"

#include <algorithm>
#include <cmath>

using namespace llmc;

int64_t llmc::argmax(const float *values, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (values[i] > values[best])
      best = i;
  return best;
}

Sampler::Sampler(const SamplerConfig &config)
    : config(config), state(config.seed) {}

double Sampler::nextUniform() {
  // splitmix64: tiny, fast and identical everywhere.
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return double(z >> 11) * (1.0 / 9007199254740992.0);
}

int64_t Sampler::sample(const float *logits, int64_t vocab) {
  if (config.temperature <= 0.0f || config.topK == 1)
    return argmax(logits, vocab);

  candidates.clear();
  candidates.reserve(vocab);
  for (int64_t i = 0; i < vocab; ++i)
    candidates.emplace_back(logits[i], i);
  auto byLogit = [](const std::pair<float, int64_t> &a,
                    const std::pair<float, int64_t> &b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = candidates.size();
  if (config.topK > 0 && size_t(config.topK) < keep) {
    keep = size_t(config.topK);
    std::partial_sort(candidates.begin(), candidates.begin() + keep,
                      candidates.end(), byLogit);
    candidates.resize(keep);
  } else {
    std::sort(candidates.begin(), candidates.end(), byLogit);
  }

  // Softmax with temperature over the sorted candidates (max first).
  double maxLogit = candidates[0].first;
  std::vector<double> probs(keep);
  double sum = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((candidates[i].first - maxLogit) / config.temperature);
    sum += probs[i];
  }
  if (config.topP < 1.0f) {
    double cumulative = 0.0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += probs[i] / sum;
      if (cumulative >= config.topP) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    sum = 0.0;
    for (size_t i = 0; i < keep; ++i)
      sum += probs[i];
  }

  double r = nextUniform() * sum;
  for (size_t i = 0; i < keep; ++i) {
    r -= probs[i];
    if (r < 0.0)
      return candidates[i].second;
  }
  return candidates[keep - 1].second;
}
