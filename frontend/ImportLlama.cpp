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
  /// become f32.
  llvm::Error param(const LlamaTensor &tensor) {
    std::string source = tensor.tensorName();
    std::string first = substituteLayer(source, 0);
    const TensorView *stored = weights.find(first);
    if (!stored)
      return llvm::createStringError("missing tensor '" + first + "'");
    Type element = b.getF32Type();
    IntegerAttr group;
    if (tensor.shape.size() == 2)
      element = elementType(options.weightType.value_or(stored->dtype));
    if (tensor.shape.size() == 2 && options.quantizationGroup &&
        (tensor.param != "embed" || options.quantizeEmbedding)) {
      unsigned bits = options.quantizationBits;
      int64_t groupSize = *options.quantizationGroup;
      bool asymmetric = false;
      auto it = options.paramQuantization.find(tensor.param);
      if (it != options.paramQuantization.end()) {
        bits = it->second.bits;
        asymmetric = it->second.asymmetric;
        if (it->second.group)
          groupSize = it->second.group;
      }
      // The embedding table, gathered by rows, stays 8-bit (or 6-bit, as
      // GGUF's Q6_K tables are kept).
      if (tensor.param == "embed" && bits != 6)
        bits = 8;
      if (tensor.shape[1] % groupSize != 0)
        return llvm::createStringError(
            "--group-size " + llvm::Twine(groupSize) + " does not divide the " +
            llvm::Twine(tensor.shape[1]) + " columns of " + first);
      element = b.getIntegerType(bits == 4 || bits == 6 ? bits : 8);
      group = b.getI64IntegerAttr(groupSize);
      if (asymmetric)
        offsetParam(tensor, source, bits, groupSize);
    }
    auto type = RankedTensorType::get(tensor.shape, element);
    b.create<ParamOp>(at(tensor.module), tensor.param, type,
                      tensor.perLayer ? spec.numLayers : 0,
                      b.getStrArrayAttr({source}), StringAttr(), group,
                      offsets.contains(tensor.param), DenseI64ArrayAttr());
    types[tensor.param] = type;
    modules[tensor.param] = tensor.module;
    return llvm::Error::success();
  }

  /// Declares the group offsets of the asymmetric matrix `tensor`: an f16
  /// [rows, cols / group] parameter named `<param>_offsets`.
  void offsetParam(const LlamaTensor &tensor, StringRef source, unsigned bits,
                   int64_t group) {
    std::string name = (tensor.param + "_offsets").str();
    auto type = RankedTensorType::get(
        {tensor.shape[0], tensor.shape[1] / group}, b.getF16Type());
    b.create<ParamOp>(at(tensor.module), name, type,
                      tensor.perLayer ? spec.numLayers : 0,
                      b.getStrArrayAttr({source}), StringAttr(), IntegerAttr(),
                      false, b.getDenseI64ArrayAttr({bits, group}));
    types[name] = type;
    modules[name] = tensor.module;
    offsets[tensor.param] = name;
  }

  Value weight(StringRef name, Value layer) {
    return b.create<WeightOp>(at(modules.lookup(name)), types.lookup(name),
                              name, layer);
  }

  RankedTensorType rowsOf(int64_t cols) {
    return RankedTensorType::get({ShapedType::kDynamic, cols}, b.getF32Type());
  }

  /// A projection by parameter `name`, located at its module.
  Value linear(Value x, StringRef name, Value layer) {
    return linear(x, name, layer, at(modules.lookup(name)));
  }

  /// An asymmetric matrix's projection carries its group offsets.
  Value linear(Value x, StringRef name, Value layer, Location loc) {
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

  func::FuncOp buildLayer();
  void buildForward(func::FuncOp layer);

  OpBuilder b;
  const ModelSpec &spec;
  const TensorSource &weights;
  const ImportOptions &options;
  llvm::StringMap<RankedTensorType> types;
  /// The module each parameter belongs to.
  llvm::StringMap<std::string> modules;
  /// The offsets parameter of each asymmetric matrix.
  llvm::StringMap<std::string> offsets;
};

func::FuncOp Importer::buildLayer() {
  Location loc = at(layerModule(""));
  int64_t hidden = spec.hiddenSize;
  Type kv = KVCacheType::get(b.getContext());
  auto type = b.getFunctionType(
      {rowsOf(hidden), b.getIndexType(), b.getIndexType(), kv},
      {rowsOf(hidden)});
  auto func = b.create<func::FuncOp>(loc, "llm_layer", type);
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

void Importer::buildForward(func::FuncOp layer) {
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
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  Value layers = b.create<arith::ConstantIndexOp>(loc, spec.numLayers);
  auto loop = b.create<scf::ForOp>(
      loc, zero, layers, one, ValueRange{x},
      [&](OpBuilder &nb, Location nloc, Value l, ValueRange carried) {
        auto call = nb.create<func::CallOp>(
            nloc, layer, ValueRange{carried[0], l, start, cache});
        nb.create<scf::YieldOp>(nloc, call.getResults());
      });
  // Only the rows whose logits are wanted go through the final norm and the
  // output projection.
  Value last = b.create<LastRowsOp>(at("model"), rowsOf(spec.hiddenSize),
                                    loop.getResult(0), count);
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
  func::FuncOp layer = buildLayer();
  buildForward(layer);
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
