//===- RuntimeBench.cpp - Microbenchmarks of the runtime's C++
//-------------===//
//
// The parts of a generation step that are not generated code: encoding the
// prompt (Tokenizer::encode) and choosing the next token (Sampler::sample)
// over a Llama 3 sized vocabulary. The tokenizer is the small test fixture
// unless $LLMC_TOKENIZER_JSON names another tokenizer.json (for example the
// real Llama 3 one that scripts/install-deps.sh puts in models/tokenizer/).
//
//===----------------------------------------------------------------------===//

#include "frontend/TokenizerJson.h"
#include "runtime/Sampler.h"
#include "runtime/Tokenizer.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace llmc;

namespace {

/// Llama 3's vocabulary size.
constexpr int64_t kVocab = 128256;

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string tokenizerPath() {
  const char *env = std::getenv("LLMC_TOKENIZER_JSON");
  return env && *env ? env : LLMC_DEFAULT_TOKENIZER_JSON;
}

/// About `bytes` of text mixing English prose, code, numbers, runs of
/// whitespace, accented Latin, CJK, emoji and an added token, picked by a
/// seeded generator so every run encodes the same input.
std::string mixedText(size_t bytes) {
  static const char *const pieces[] = {
      "The quick brown fox jumps over the lazy dog. ",
      "It's what they'd've said, isn't it? ",
      "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }\n",
      "    return x;\n\n",
      "Prices rose 3.75% to $1,234,567.89 in 2024-11-27. ",
      "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade, "
      "Stra\u00dfe. ",
      "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002",
      "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! ",
      "\U0001F600\U0001F680 ok \U0001F44D ",
      "<|begin_of_text|>",
      "\t\tindented\t\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n",
  };
  constexpr size_t numPieces = sizeof(pieces) / sizeof(pieces[0]);
  std::string text;
  text.reserve(bytes + 128);
  uint64_t state = 1;
  while (text.size() < bytes)
    text += pieces[splitmix64(state) % numPieces];
  return text;
}

void BM_TokenizerEncode(benchmark::State &state) {
  std::string path = tokenizerPath();
  // Compiled to the image executables load, as llmc does.
  llvm::Expected<std::string> image = compileTokenizerJsonFile(path);
  Tokenizer tokenizer;
  std::string error;
  if (!image)
    error = llvm::toString(image.takeError());
  if (!image || !tokenizer.loadImage(*image, error)) {
    state.SkipWithError(
        ("cannot load tokenizer '" + path + "': " + error).c_str());
    return;
  }
  std::string text = mixedText(size_t(1) << 20);
  size_t tokens = 0;
  for (auto _ : state) {
    std::vector<int64_t> ids = tokenizer.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["tokens"] = double(tokens);
  state.counters["tok/s"] = benchmark::Counter(
      double(tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(path);
}
BENCHMARK(BM_TokenizerEncode)->Unit(benchmark::kMillisecond);

/// Logits shaped like a language model's: mostly small, a few large.
std::vector<float> makeLogits() {
  std::vector<float> logits(kVocab);
  uint64_t state = 42;
  for (float &l : logits) {
    double u = double(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
    l = float(8.0 * std::pow(u, 8.0) - 2.0);
  }
  return logits;
}

/// Arg 0: top-p in percent (100 keeps everything).
void BM_SamplerTopP(benchmark::State &state) {
  std::vector<float> logits = makeLogits();
  SamplerConfig config;
  config.temperature = 0.8f;
  config.topP = float(state.range(0)) / 100.0f;
  config.seed = 7;
  Sampler sampler(config);
  for (auto _ : state)
    benchmark::DoNotOptimize(sampler.sample(logits.data(), kVocab));
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_SamplerTopP)->Arg(90)->Arg(100)->Unit(benchmark::kMicrosecond);

/// Greedy decoding: the argmax that --temperature 0 costs, for comparison.
void BM_SamplerGreedy(benchmark::State &state) {
  std::vector<float> logits = makeLogits();
  Sampler sampler(SamplerConfig{});
  for (auto _ : state)
    benchmark::DoNotOptimize(sampler.sample(logits.data(), kVocab));
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_SamplerGreedy)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
