//===- TestTokens.cpp - Deterministic token lists for end-to-end tests ----===//
//
// `llmc-test-tokens N VOCAB SEED` prints N token ids in [0, VOCAB) as one
// comma-separated line, from a splitmix64 stream seeded with SEED, so that
// lit tests can feed the same long inputs to a compiled model and to
// `llmc-reference`.
//
//===----------------------------------------------------------------------===//

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

namespace {

llvm::cl::OptionCategory tokensCategory("llmc-test-tokens options");

llvm::cl::opt<uint64_t> count(llvm::cl::Positional, llvm::cl::Required,
                              llvm::cl::desc("<number of tokens>"),
                              llvm::cl::cat(tokensCategory));
llvm::cl::opt<uint64_t> vocab(llvm::cl::Positional, llvm::cl::Required,
                              llvm::cl::desc("<vocab size>"),
                              llvm::cl::cat(tokensCategory));
llvm::cl::opt<uint64_t> seed(llvm::cl::Positional, llvm::cl::Required,
                             llvm::cl::desc("<seed>"),
                             llvm::cl::cat(tokensCategory));

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace

int main(int argc, char **argv) {
  llvm::cl::HideUnrelatedOptions(tokensCategory);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "llmc-test-tokens: seeded token ids\n");
  if (count == 0 || vocab == 0) {
    llvm::WithColor::error(llvm::errs(), "llmc-test-tokens")
        << "the token count and the vocab size must be positive\n";
    return 1;
  }
  uint64_t state = seed;
  for (uint64_t i = 0; i < count; ++i)
    llvm::outs() << (i ? "," : "") << splitmix64(state) % vocab;
  llvm::outs() << "\n";
  return 0;
}
