//===- LlamaTensors.cpp - The tensors of a Llama checkpoint ---------------===//

#include "frontend/LlamaTensors.h"

#include "frontend/TensorSource.h"

using namespace llmc;

std::string LlamaTensor::tensorName() const { return module + ".weight"; }

std::vector<LlamaTensor> llmc::llamaTensors(const ModelSpec &spec) {
  int64_t h = spec.hiddenSize, inter = spec.intermediateSize;
  int64_t q = spec.numHeads * spec.headDim;
  int64_t kv = spec.numKVHeads * spec.headDim;
  auto layer = [](llvm::StringRef suffix) { return layerModule(suffix); };
  std::vector<LlamaTensor> tensors = {
      {"embed", "model.embed_tokens", {spec.vocabSize, h}, false, false},
      {"attn_norm", layer("input_layernorm"), {h}, true, true},
      {"wq", layer("self_attn.q_proj"), {q, h}, true, false},
      {"wk", layer("self_attn.k_proj"), {kv, h}, true, false},
      {"wv", layer("self_attn.v_proj"), {kv, h}, true, false},
      {"wo", layer("self_attn.o_proj"), {h, q}, true, false},
      {"mlp_norm", layer("post_attention_layernorm"), {h}, true, true},
      {"w_gate", layer("mlp.gate_proj"), {inter, h}, true, false},
      {"w_up", layer("mlp.up_proj"), {inter, h}, true, false},
      {"w_down", layer("mlp.down_proj"), {h, inter}, true, false},
      {"final_norm", "model.norm", {h}, false, true},
  };
  if (!spec.tiedEmbeddings)
    tensors.push_back(
        {"lm_head", "lm_head", {spec.vocabSize, h}, false, false});
  return tensors;
}

std::vector<CheckpointTensor> llmc::checkpointTensors(const ModelSpec &spec) {
  std::vector<LlamaTensor> families = llamaTensors(spec);
  std::vector<CheckpointTensor> result;
  for (size_t i = 0; i < families.size(); ++i) {
    if (!families[i].perLayer) {
      result.push_back(
          {families[i].tensorName(), families[i].shape, families[i].isNorm});
      continue;
    }
    // A run of per-layer families is written layer by layer.
    size_t end = i;
    while (end < families.size() && families[end].perLayer)
      ++end;
    for (int64_t layer = 0; layer < spec.numLayers; ++layer)
      for (size_t j = i; j < end; ++j)
        result.push_back({substituteLayer(families[j].tensorName(), layer),
                          families[j].shape, families[j].isNorm});
    i = end - 1;
  }
  return result;
}

std::string llmc::layerModule(llvm::StringRef suffix) {
  std::string module = ("model.layers." + kLayerPlaceholder).str();
  if (!suffix.empty())
    module += ("." + suffix).str();
  return module;
}

std::string llmc::layerTensorName(int64_t layer, llvm::StringRef suffix) {
  return substituteLayer(layerModule(suffix), layer);
}
