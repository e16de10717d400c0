//===- Sampler.cpp - Next-token selection from logits ---------------------===//

#include "runtime/Sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <numeric>

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

void Sampler::accept(int64_t token) {
  if (config.repeatLastN <= 0 || config.repeatPenalty == 1.0f)
    return;
  history.push_back(token);
  if (int64_t(history.size()) > config.repeatLastN)
    history.erase(history.begin(),
                  history.end() - std::ptrdiff_t(config.repeatLastN));
}

const float *Sampler::penalize(const float *logits, int64_t vocab) {
  if (history.empty())
    return logits;
  penalized.assign(logits, logits + vocab);
  // Each distinct token is penalized once, however often it repeats.
  std::vector<int64_t> distinct = history;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (int64_t token : distinct) {
    if (token < 0 || token >= vocab)
      continue;
    float &l = penalized[size_t(token)];
    // Only finite logits are penalized, and they stay finite: a token is
    // made less likely, not removed (and -infinity is never revived).
    if (!std::isfinite(l))
      continue;
    float p = l > 0.0f ? l / config.repeatPenalty : l * config.repeatPenalty;
    l = std::clamp(p, -FLT_MAX, FLT_MAX);
  }
  return penalized.data();
}

void Sampler::selectNucleus(const float *logits, double total) {
  // The nucleus is a prefix of the tokens sorted by probability, and so is
  // every set {weight >= t}: lower t until such a set holds enough mass.
  // Language models put almost all the mass on a few tokens, so this usually
  // leaves a small set after a pass or two over the vocabulary.
  double target = double(config.topP) * total;
  size_t kept = 0;
  double mass = 0.0;
  for (float threshold = 1e-2f;; threshold *= 1e-2f) {
    if (threshold < 1e-30f)
      threshold = 0.0f;
    auto split = std::partition(
        ids.begin() + std::ptrdiff_t(kept), ids.end(),
        [&](int64_t id) { return weights[size_t(id)] >= threshold; });
    for (auto it = ids.begin() + std::ptrdiff_t(kept); it != split; ++it)
      mass += weights[size_t(*it)];
    kept = size_t(split - ids.begin());
    if (mass >= target || threshold == 0.0f)
      break;
  }
  ids.resize(kept);

  // The nucleus is the shortest prefix, in order of decreasing logit, of
  // these candidates with enough mass. Find it by weighted quickselect: split
  // around the median, keep the half that holds the boundary; only the last
  // few candidates are sorted.
  auto before = [logits](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t lo = 0, hi = ids.size();
  double need = target;
  while (hi - lo > 64) {
    auto mid = ids.begin() + std::ptrdiff_t(lo + (hi - lo) / 2);
    std::nth_element(ids.begin() + std::ptrdiff_t(lo), mid,
                     ids.begin() + std::ptrdiff_t(hi), before);
    double upper = 0.0;
    for (auto it = ids.begin() + std::ptrdiff_t(lo); it <= mid; ++it)
      upper += weights[size_t(*it)];
    size_t midIndex = size_t(mid - ids.begin());
    if (upper >= need) {
      hi = midIndex + 1;
    } else {
      need -= upper;
      lo = midIndex + 1;
    }
  }
  std::sort(ids.begin() + std::ptrdiff_t(lo), ids.begin() + std::ptrdiff_t(hi),
            before);
  size_t cut = hi;
  double cumulative = 0.0;
  for (size_t i = lo; i < hi; ++i) {
    cumulative += weights[size_t(ids[i])];
    if (cumulative >= need) {
      cut = i + 1;
      break;
    }
  }
  ids.resize(cut);
}

const float *Sampler::dropNaNs(const float *logits, int64_t vocab) {
  if (std::none_of(logits, logits + vocab,
                   [](float l) { return std::isnan(l); }))
    return logits;
  cleaned.assign(logits, logits + vocab);
  for (float &l : cleaned)
    if (std::isnan(l))
      l = -INFINITY;
  return cleaned.data();
}

bool Sampler::isGreedy() const {
  bool penalty = config.repeatPenalty != 1.0f && config.repeatPenalty > 0.0f &&
                 std::isfinite(config.repeatPenalty);
  return !penalty && (!(config.temperature > 0.0f) || config.topK == 1);
}

int64_t llmc::tokenFromArgmaxKey(uint64_t key, int64_t vocab) {
  if (key == 0)
    return -1;
  uint32_t order = uint32_t(key >> 32);
  uint32_t bits = order & 0x80000000u ? order & 0x7fffffffu : ~order;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  int64_t token = int64_t(0xffffffffu - uint32_t(key));
  if (value == -INFINITY || token >= vocab)
    return -1;
  return token;
}

int64_t Sampler::sample(const float *rawLogits, int64_t vocab) {
  if (vocab <= 0)
    return -1;
  const float *logits = dropNaNs(rawLogits, vocab);
  // A penalty that is not a positive number would reorder tokens
  // arbitrarily; it means no penalty.
  if (config.repeatPenalty != 1.0f && config.repeatPenalty > 0.0f &&
      std::isfinite(config.repeatPenalty))
    logits = penalize(logits, vocab);
  int64_t best = argmax(logits, vocab);
  float maxLogit = logits[best];
  if (maxLogit == -INFINITY)
    return -1;
  // Greedy, also when a +infinity logit makes every other weight 0.
  if (!(config.temperature > 0.0f) || config.topK == 1 || maxLogit == INFINITY)
    return best;

  auto before = [logits](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  ids.resize(size_t(vocab));
  std::iota(ids.begin(), ids.end(), int64_t(0));
  bool sorted = false;
  if (config.topK > 0 && config.topK < vocab) {
    std::nth_element(ids.begin(), ids.begin() + std::ptrdiff_t(config.topK - 1),
                     ids.end(), before);
    ids.resize(size_t(config.topK));
    std::sort(ids.begin(), ids.end(), before);
    sorted = true;
  }

  // Unnormalized probabilities with temperature; the most likely token
  // weighs 1. Divided in double: a tiny temperature gives weights of 0, not
  // 0 * infinity.
  double temperature = config.temperature;
  weights.resize(size_t(vocab));
  double total = 0.0;
  for (int64_t id : ids) {
    // -infinity weighs 0 even at an infinite temperature (not -inf / inf).
    float w =
        logits[id] == -INFINITY
            ? 0.0f
            : float(std::exp((double(logits[id]) - maxLogit) / temperature));
    weights[size_t(id)] = w;
    total += w;
  }

  if (config.topP < 1.0f) {
    if (sorted) {
      double cumulative = 0.0, target = double(config.topP) * total;
      for (size_t i = 0; i < ids.size(); ++i) {
        cumulative += weights[size_t(ids[i])];
        if (cumulative >= target) {
          ids.resize(i + 1);
          break;
        }
      }
    } else {
      selectNucleus(logits, total);
    }
  }
  if (config.minP > 0.0f)
    ids.erase(std::remove_if(ids.begin(), ids.end(),
                             [&](int64_t id) {
                               return weights[size_t(id)] < config.minP;
                             }),
              ids.end());

  // A min-p above 1 (or a top-p of NaN...) can leave nothing; the most
  // likely token always stays.
  if (ids.empty())
    return best;
  double sum = 0.0;
  for (int64_t id : ids)
    sum += weights[size_t(id)];
  double r = nextUniform() * sum;
  for (int64_t id : ids) {
    r -= weights[size_t(id)];
    if (r < 0.0)
      return id;
  }
  return ids.back();
}
