//===- ImportLlama.cpp - Build the llm IR of a Llama model ----------------===//
//
// Every op is located at the Hugging Face module it computes
// (`model.layers.{layer}.self_attn.q_proj`): the layer function is shared by
// all layers, so per-layer modules keep the literal `{layer}` placeholder.
// Diagnostics, IR dumps and the names of the generated kernels point back to
// the model through these locations.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportLlama.h"

#include "dialects/llm/IR/LLMOps.h"
#include "frontend/LlamaTensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include <map>

using namespace mlir;
using namespace mlir::llm;

namespace llmc {
namespace {

class Importer {
public:
  Importer(MLIRContext &context, const ModelSpec &spec,
           const TensorSource &weights, const ImportOptions &options)
      : b(&context), spec(spec), weights(weights), options(options) {}

  llvm::Expected<OwningOpRef<ModuleOp>> run();

private:
  Type elementType(DType type) {
    switch (type) {
    case DType::F32:
      return b.getF32Type();
    case DType::BF16:
      return b.getBF16Type();
    case DType::F16:
      return b.getF16Type();
    }
    return b.getF32Type();
  }

  /// The location of ops computing the Hugging Face module `module`.
  Location at(StringRef module) {
    return NameLoc::get(b.getStringAttr(module));
  }

  /// The location of ops computing `suffix` of the current decoder layer.
  Location atLayer(StringRef suffix) { return at(layerModule(suffix)); }

  /// Declares the parameter of `tensor`, located at its module. Matrices
  /// keep the checkpoint's element type (or the requested one), vectors
  /// become f32. A family whose layers are quantized differently becomes a
  /// parameter per quantization, each holding its layers.
  llvm::Error param(const LlamaTensor &tensor) {
    std::string first = substituteLayer(tensor.tensorName(), 0);
    const TensorView *stored = weights.find(first);
    if (!stored)
      return llvm::createStringError("missing tensor '" + first + "'");
    bool quantized = tensor.shape.size() == 2 && options.quantizationGroup &&
                     (tensor.param != "embed" || options.quantizeEmbedding);
    ImportOptions::ParamQuantization uniform;
    uniform.bits = options.quantizationBits;
    auto it = options.paramQuantization.find(tensor.param);
    if (it != options.paramQuantization.end())
      uniform = it->second;
    auto split = options.layerQuantization.find(tensor.param);
    if (!quantized || !tensor.perLayer ||
        split == options.layerQuantization.end())
      return declare(tensor, *stored, tensor.param, tensor.module,
                     quantized ? &uniform : nullptr, {});
    if (int64_t(split->second.size()) != spec.numLayers)
      return llvm::createStringError(
          "internal error: " + tensor.param +
          " needs a quantization for every layer");
    SmallVector<ImportOptions::ParamQuantization> kinds;
    SmallVector<SmallVector<int64_t>> lists;
    for (int64_t l = 0; l < spec.numLayers; ++l) {
      auto *kind = llvm::find(kinds, split->second[l]);
      if (kind == kinds.end()) {
        kinds.push_back(split->second[l]);
        lists.emplace_back();
        kind = std::prev(kinds.end());
      }
      lists[kind - kinds.begin()].push_back(l);
    }
    if (kinds.size() == 1)
      return declare(tensor, *stored, tensor.param, tensor.module, &kinds[0],
                     {});
    std::vector<std::string> &byLayer = layerParams[tensor.param.str()];
    byLayer.resize(spec.numLayers);
    for (auto [kind, list] : llvm::zip(kinds, lists)) {
      std::string name =
          (tensor.param + "_i" + llvm::Twine(kind.bits)).str();
      for (unsigned n = 2; types.contains(name); ++n)
        name = (tensor.param + "_i" + llvm::Twine(kind.bits) + "_" +
                llvm::Twine(n))
                   .str();
      // model.layers.{0,1,4}.mlp.down_proj
      auto [head, tail] = StringRef(tensor.module).split("{layer}");
      std::string layers;
      llvm::raw_string_ostream os(layers);
      llvm::interleave(list, os, ",");
      std::string module = (head + "{" + layers + "}" + tail).str();
      if (llvm::Error err =
              declare(tensor, *stored, name, module, &kind, list))
        return err;
      for (int64_t l : list)
        byLayer[l] = name;
    }
    return llvm::Error::success();
  }

  /// Declares parameter `name` of `tensor` at `module`, quantized as `q`
  /// says unless null, holding the layers of `layerList` only unless empty.
  llvm::Error declare(const LlamaTensor &tensor, const TensorView &stored,
                      StringRef name, StringRef module,
                      const ImportOptions::ParamQuantization *q,
                      ArrayRef<int64_t> layerList) {
    std::string source = tensor.tensorName();
    Type element = b.getF32Type();
    IntegerAttr group;
    if (tensor.shape.size() == 2)
      element = elementType(options.weightType.value_or(stored.dtype));
    if (q) {
      unsigned bits = q->bits;
      int64_t groupSize = q->group ? q->group : *options.quantizationGroup;
      // The embedding table, gathered by rows, stays 8-bit (or 6-bit, as
      // GGUF's Q6_K tables are kept).
      if (tensor.param == "embed" && bits != 6)
        bits = 8;
      if (tensor.shape[1] % groupSize != 0)
        return llvm::createStringError(
            "--group-size " + llvm::Twine(groupSize) + " does not divide the " +
            llvm::Twine(tensor.shape[1]) + " columns of " +
            substituteLayer(source, 0));
      element = b.getIntegerType(bits == 4 || bits == 6 ? bits : 8);
      group = b.getI64IntegerAttr(groupSize);
      if (q->asymmetric)
        offsetParam(tensor, name, module, bits, groupSize, layerList);
    }
    auto type = RankedTensorType::get(tensor.shape, element);
    b.create<ParamOp>(at(module), name, type, layersOf(tensor, layerList),
                      b.getStrArrayAttr({source}), StringAttr(), group,
                      offsets.contains(name), DenseI64ArrayAttr(),
                      listAttr(layerList));
    types[name] = type;
    modules[name] = module.str();
    return llvm::Error::success();
  }

  /// The copies a parameter of `tensor` holding `layerList` (all layers
  /// when empty) stacks.
  int64_t layersOf(const LlamaTensor &tensor, ArrayRef<int64_t> layerList) {
    if (!tensor.perLayer)
      return 0;
    return layerList.empty() ? spec.numLayers : int64_t(layerList.size());
  }

  DenseI64ArrayAttr listAttr(ArrayRef<int64_t> layerList) {
    return layerList.empty() ? DenseI64ArrayAttr()
                             : b.getDenseI64ArrayAttr(layerList);
  }

  /// Declares the group offsets of the asymmetric matrix `param` of
  /// `tensor`: an f16 [rows, cols / group] parameter named
  /// `<param>_offsets`.
  void offsetParam(const LlamaTensor &tensor, StringRef param,
                   StringRef module, unsigned bits, int64_t group,
                   ArrayRef<int64_t> layerList) {
    std::string name = (param + "_offsets").str();
    auto type = RankedTensorType::get(
        {tensor.shape[0], tensor.shape[1] / group}, b.getF16Type());
    b.create<ParamOp>(at(module), name, type, layersOf(tensor, layerList),
                      b.getStrArrayAttr({tensor.tensorName()}), StringAttr(),
                      IntegerAttr(), false,
                      b.getDenseI64ArrayAttr({bits, group}),
                      listAttr(layerList));
    types[name] = type;
    modules[name] = module.str();
    offsets[param] = name;
  }

  /// The parameter of family `family` that the layer function being built
  /// reads.
  StringRef pick(StringRef family) {
    auto it = layerParams.find(family);
    return it == layerParams.end() ? family
                                   : StringRef(it->second[buildingLayer]);
  }

  Value weight(StringRef name, Value layer) {
    return b.create<WeightOp>(at(modules.lookup(name)), types.lookup(name),
                              name, layer);
  }

  RankedTensorType rowsOf(int64_t cols) {
    return RankedTensorType::get({ShapedType::kDynamic, cols}, b.getF32Type());
  }

  /// A projection by parameter `name`, located at its module.
  Value linear(Value x, StringRef family, Value layer) {
    return linear(x, family, layer, at(modules.lookup(pick(family))));
  }

  /// An asymmetric matrix's projection carries its group offsets.
  Value linear(Value x, StringRef family, Value layer, Location loc) {
    StringRef name = pick(family);
    Value w = weight(name, layer);
    int64_t out = types.lookup(name).getDimSize(0);
    auto offset = offsets.find(name);
    Value o = offset == offsets.end() ? Value() : weight(offset->second, layer);
    return b.create<LinearOp>(loc, rowsOf(out), x, w, Value(), o);
  }

  Value norm(Value x, StringRef name, Value layer) {
    return b.create<RMSNormOp>(at(modules.lookup(name)), x.getType(), x,
                               weight(name, layer),
                               b.getF64FloatAttr(spec.rmsNormEps));
  }

  Value rope(Value x, Value start) {
    Location loc = atLayer("self_attn.rotary_emb");
    const RopeScaling &s = spec.ropeScaling;
    auto f64 = [&](double v) { return b.getF64FloatAttr(v); };
    return b.create<RoPEOp>(
        loc, x.getType(), x, start, b.getI64IntegerAttr(spec.headDim),
        f64(spec.ropeTheta), s.enabled ? f64(s.factor) : FloatAttr(),
        s.enabled ? f64(s.lowFreqFactor) : FloatAttr(),
        s.enabled ? f64(s.highFreqFactor) : FloatAttr(),
        s.enabled ? b.getI64IntegerAttr(s.originalMaxPositions)
                  : IntegerAttr(),
        spec.ropeFreqFactors.empty()
            ? DenseF64ArrayAttr()
            : b.getDenseF64ArrayAttr(spec.ropeFreqFactors));
  }

  func::FuncOp buildLayer(int64_t representative, StringRef name);
  void buildForward();

  OpBuilder b;
  const ModelSpec &spec;
  const TensorSource &weights;
  const ImportOptions &options;
  llvm::StringMap<RankedTensorType> types;
  /// The module each parameter belongs to.
  llvm::StringMap<std::string> modules;
  /// The offsets parameter of each asymmetric matrix.
  llvm::StringMap<std::string> offsets;
  /// The parameter each layer reads, for families split by quantization.
  std::map<std::string, std::vector<std::string>, std::less<>> layerParams;
  /// The layer whose parameters the layer function being built reads.
  int64_t buildingLayer = 0;
};

/// The layer function of the layers whose parameters are those of layer
/// `representative`.
func::FuncOp Importer::buildLayer(int64_t representative, StringRef name) {
  buildingLayer = representative;
  Location loc = at(layerModule(""));
  int64_t hidden = spec.hiddenSize;
  Type kv = KVCacheType::get(b.getContext());
  auto type = b.getFunctionType(
      {rowsOf(hidden), b.getIndexType(), b.getIndexType(), kv},
      {rowsOf(hidden)});
  auto func = b.create<func::FuncOp>(loc, name, type);
  func.setPrivate();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(func.addEntryBlock());
  Value h = func.getArgument(0), layer = func.getArgument(1),
        start = func.getArgument(2), cache = func.getArgument(3);

  Value x = norm(h, "attn_norm", layer);
  Value q = rope(linear(x, "wq", layer), start);
  Value k = rope(linear(x, "wk", layer), start);
  Value v = linear(x, "wv", layer);
  Value attn = b.create<AttentionOp>(
      atLayer("self_attn"), q.getType(), q, k, v, cache, layer, start,
      b.getI64IntegerAttr(spec.numHeads), b.getI64IntegerAttr(spec.numKVHeads),
      b.getI64IntegerAttr(spec.headDim));
  // The residual adds happen in the decoder layer's own forward.
  Value h1 =
      b.create<AddOp>(atLayer("attn_residual"), h, linear(attn, "wo", layer));
  Value y = norm(h1, "mlp_norm", layer);
  Value gate =
      b.create<SiLUOp>(atLayer("mlp.act_fn"), linear(y, "w_gate", layer));
  Value up = linear(y, "w_up", layer);
  Value mlp =
      linear(b.create<MulOp>(atLayer("mlp"), gate, up), "w_down", layer);
  Value h2 = b.create<AddOp>(atLayer("mlp_residual"), h1, mlp);
  b.create<func::ReturnOp>(loc, h2);
  return func;
}

void Importer::buildForward() {
  Location loc = at("model");
  Type kv = KVCacheType::get(b.getContext());
  auto ids = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
  auto type = b.getFunctionType(
      {ids, b.getIndexType(), b.getIndexType(), kv}, {rowsOf(spec.vocabSize)});
  auto func = b.create<func::FuncOp>(loc, "llmc_forward", type);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(func.addEntryBlock());
  Value tokens = func.getArgument(0), start = func.getArgument(1),
        count = func.getArgument(2), cache = func.getArgument(3);
  Value table = weight("embed", Value());
  auto embedOffsets = offsets.find("embed");
  Value x = b.create<EmbeddingOp>(
      at("model.embed_tokens"), rowsOf(spec.hiddenSize), tokens, table,
      embedOffsets == offsets.end() ? Value()
                                    : weight(embedOffsets->second, Value()));
  // Layers reading the same parameters share a layer function (one for
  // most models); each run of consecutive layers is a loop calling it.
  std::map<std::vector<std::string>, func::FuncOp> functions;
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  for (int64_t begin = 0, end; begin < spec.numLayers; begin = end) {
    auto picks = [&](int64_t l) {
      std::vector<std::string> names;
      for (const auto &[family, byLayer] : layerParams)
        names.push_back(byLayer[l]);
      return names;
    };
    std::vector<std::string> key = picks(begin);
    for (end = begin + 1; end < spec.numLayers && picks(end) == key; ++end) {
    }
    func::FuncOp &layer = functions[key];
    if (!layer) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(func);
      layer = buildLayer(begin, functions.size() == 1
                                    ? "llm_layer"
                                    : "llm_layer_" +
                                          std::to_string(functions.size() - 1));
    }
    auto loop = b.create<scf::ForOp>(
        loc, b.create<arith::ConstantIndexOp>(loc, begin),
        b.create<arith::ConstantIndexOp>(loc, end), one, ValueRange{x},
        [&](OpBuilder &nb, Location nloc, Value l, ValueRange carried) {
          auto call = nb.create<func::CallOp>(
              nloc, layer, ValueRange{carried[0], l, start, cache});
          nb.create<scf::YieldOp>(nloc, call.getResults());
        });
    x = loop.getResult(0);
  }
  // Only the rows whose logits are wanted go through the final norm and the
  // output projection.
  Value last =
      b.create<LastRowsOp>(at("model"), rowsOf(spec.hiddenSize), x, count);
  Value normed = norm(last, "final_norm", Value());
  // A tied lm_head reads the embedding table but is still the lm_head module.
  Value logits = linear(normed, spec.tiedEmbeddings ? "embed" : "lm_head",
                        Value(), at("lm_head"));
  b.create<func::ReturnOp>(loc, logits);
}

llvm::Expected<OwningOpRef<ModuleOp>> Importer::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  module->setSymNameAttr(b.getStringAttr("llmc_model"));
  mlir::llm::LLMDialect::NumLayersAttrHelper(b.getContext())
      .setAttr(module.get(), b.getI64IntegerAttr(spec.numLayers));
  b.setInsertionPointToStart(module->getBody());
  for (const LlamaTensor &tensor : llamaTensors(spec))
    if (llvm::Error err = param(tensor))
      return std::move(err);
  buildForward();
  if (failed(verify(*module)))
    return llvm::createStringError("internal error: the imported llm IR does "
                                   "not verify");
  return std::move(module);
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
importLlama(MLIRContext &context, const ModelSpec &spec,
            const TensorSource &weights, const ImportOptions &options) {
  context.loadDialect<LLMDialect, arith::ArithDialect, func::FuncDialect,
                      scf::SCFDialect>();
  return Importer(context, spec, weights, options).run();
}

} // namespace llmc
