//===- FakeModel.h - Test-only stand-in for a compiled model --------------===//
//
// FakeModel.cpp defines llmc_model_info and _mlir_ciface_llmc_forward the way
// a generated object does, so the runtime can be tested without the compiler.
// Its logits for a position holding token t are 1.0 at (t + 1) % vocab plus
// 0.5 at (sum of all cached tokens up to that position) % vocab: greedy
// decoding counts upwards, and the second peak proves the KV cache kept every
// earlier chunk.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TESTS_UNIT_RUNTIME_FAKEMODEL_H
#define LLMC_TESTS_UNIT_RUNTIME_FAKEMODEL_H

#include "runtime/abi/ModelABI.h"

#include <cstdint>
#include <vector>

namespace llmc {
namespace fake {

constexpr int64_t kVocab = 32;
constexpr int64_t kMaxPositions = 64;
constexpr int64_t kMaxTokensPerCall = 4;
constexpr int64_t kWeightsBytes = 64;
constexpr uint64_t kFingerprint = 0x5eed5eed12345678ULL;
constexpr int64_t kBos = 1;
constexpr int64_t kEos = 31;

/// One forward() call as seen by worker 0.
struct Call {
  int64_t pos, n, nOut, nthreads;
};

/// The calls since the last clearCalls().
const std::vector<Call> &calls();
void clearCalls();
/// Number of ABI violations seen (bad sizes, weights, out-of-cache writes).
int64_t errors();

/// The weights the fake model expects: byte i has value i.
std::vector<uint8_t> weights();

} // namespace fake
} // namespace llmc

#endif // LLMC_TESTS_UNIT_RUNTIME_FAKEMODEL_H
