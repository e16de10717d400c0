//===- FuzzWeightsHeader.cpp - The weight file header on arbitrary bytes --===//

#include "runtime/WeightFile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  LlmcModelInfo info = {};
  info.magic = LLMC_MODEL_INFO_MAGIC;
  info.fingerprint = 0x1234;
  info.weights_bytes = 4096;
  info.vocab_size = 32;
  (void)llmc::validateWeightsHeader(data, size, info);
  return 0;
}
