//===- LLMOps.cpp - llm dialect: registration and verifiers ---------------===//

#include "dialects/llm/IR/LLMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::llm;

#include "dialects/llm/IR/LLMDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/IR/LLMTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llm/IR/LLMAttrs.cpp.inc"

void LLMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/llm/IR/LLMOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/llm/IR/LLMTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/llm/IR/LLMAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

LogicalResult TargetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringRef triple, StringRef cpu,
                                 StringRef features, int64_t vectorBits,
                                 int64_t vectorRegisters, int64_t l1Bytes,
                                 int64_t l2Bytes, bool scalable,
                                 int64_t smCount, int64_t sharedMemoryBytes) {
  if (triple.empty())
    return emitError() << "target needs a triple";
  if (vectorBits < 32 || !llvm::isPowerOf2_64(vectorBits))
    return emitError() << "vector_bits must be a power of two >= 32, got "
                       << vectorBits;
  if (vectorRegisters <= 0 || l1Bytes <= 0 || l2Bytes <= 0)
    return emitError()
           << "vector_registers, l1_bytes and l2_bytes must be positive";
  if (smCount < 0 || sharedMemoryBytes < 0)
    return emitError() << "sm_count and shared_memory_bytes must be >= 0";
  return success();
}

/// `<tiles = [r, b, d] (, scalable_lanes = n)? (, input_bits = n)?>`.
Attribute LoweringConfigAttr::parse(AsmParser &parser, Type) {
  SmallVector<int64_t> tiles;
  if (parser.parseLess() || parser.parseKeyword("tiles") ||
      parser.parseEqual() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        return parser.parseInteger(tiles.emplace_back());
      }))
    return {};
  std::optional<int64_t> scalableLanes, inputBits;
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    SMLoc at = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    std::optional<int64_t> *slot = key == "scalable_lanes" ? &scalableLanes
                                   : key == "input_bits"   ? &inputBits
                                                           : nullptr;
    if (!slot || slot->has_value()) {
      parser.emitError(at) << (slot ? "repeated" : "unknown") << " key '"
                           << key << "'";
      return {};
    }
    if (parser.parseInteger(slot->emplace()))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<LoweringConfigAttr>(parser.getContext(), tiles,
                                               scalableLanes, inputBits);
}

void LoweringConfigAttr::print(AsmPrinter &printer) const {
  printer << "<tiles = [";
  llvm::interleaveComma(getTiles(), printer);
  printer << "]";
  if (std::optional<int64_t> lanes = getScalableLanes())
    printer << ", scalable_lanes = " << *lanes;
  if (std::optional<int64_t> bits = getInputBits())
    printer << ", input_bits = " << *bits;
  printer << ">";
}

LogicalResult
LoweringConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                           ArrayRef<int64_t> tiles,
                           std::optional<int64_t> scalableLanes,
                           std::optional<int64_t> inputBits) {
  if (inputBits && *inputBits != 8 && *inputBits != 16)
    return emitError() << "input_bits must be 8 or 16";
  if (tiles.size() != 3 ||
      llvm::any_of(tiles, [](int64_t t) { return t <= 0; }))
    return emitError() << "tiles must be [rows, block, depth], all positive";
  if (scalableLanes && (*scalableLanes <= 0 || tiles[1] % *scalableLanes != 0))
    return emitError() << "scalable_lanes must be positive and divide the "
                          "block";
  return success();
}

LogicalResult PackedLayoutAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, std::optional<int64_t> block,
    std::optional<int64_t> interleave, std::optional<int64_t> offset,
    std::optional<int64_t> layerStride) {
  if (block && *block <= 0)
    return emitError() << "block must be positive";
  if (interleave && (!block || *interleave <= 1))
    return emitError() << "interleave must be > 1 and needs a block";
  if (offset.has_value() != layerStride.has_value())
    return emitError() << "offset and layer_stride go together";
  if ((offset && *offset < 0) || (layerStride && *layerStride < 0))
    return emitError() << "offset and layer_stride must be >= 0";
  return success();
}

/// Checks one discardable `llm.*` attribute: its type, and the op it may
/// sit on.
LogicalResult LLMDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto expect = [&](bool typeOk, bool placeOk, StringRef what,
                    StringRef where) -> LogicalResult {
    if (!typeOk)
      return op->emitError() << "'" << name << "' must be " << what;
    if (!placeOk)
      return op->emitError() << "'" << name << "' belongs on " << where;
    return success();
  };
  Attribute value = attr.getValue();
  bool onModule = isa<ModuleOp>(op);
  if (name == TargetAttrHelper::getNameStr())
    return expect(isa<TargetAttr>(value), onModule, "a #llm.target",
                  "a module");
  if (name == LayoutAttrHelper::getNameStr())
    return expect(isa<PackedLayoutAttr>(value), isa<ParamOp>(op),
                  "a #llm.packed_layout", "an llm.param");
  if (name == LoweringConfigAttrHelper::getNameStr())
    return expect(isa<LoweringConfigAttr>(value),
                  !isa<LLMDialect>(op->getDialect()) || isa<LinearOp>(op),
                  "a #llm.lowering_config",
                  "an llm.linear or the op it lowers to");
  if (name == KvCacheTypeAttrHelper::getNameStr()) {
    auto type = dyn_cast<TypeAttr>(value);
    return expect(type && (type.getValue().isF32() || type.getValue().isBF16()),
                  onModule, "f32 or bf16", "a module");
  }
  if (name == NumLayersAttrHelper::getNameStr() ||
      name == WeightsBytesAttrHelper::getNameStr() ||
      name == ScratchBytesAttrHelper::getNameStr() ||
      name == KvBytesPerPositionAttrHelper::getNameStr() ||
      name == MaxTokensAttrHelper::getNameStr()) {
    auto integer = dyn_cast<IntegerAttr>(value);
    return expect(integer && integer.getType().isInteger(64) &&
                      integer.getInt() >= 0,
                  onModule, "a non-negative i64", "a module");
  }
  if (name == CostsAttrHelper::getNameStr()) {
    auto costs = dyn_cast<DictionaryAttr>(value);
    bool ok = costs && llvm::all_of(costs, [](NamedAttribute entry) {
                auto fields = dyn_cast<DictionaryAttr>(entry.getValue());
                return fields && llvm::all_of(fields, [](NamedAttribute f) {
                         auto integer = dyn_cast<IntegerAttr>(f.getValue());
                         return (integer && integer.getInt() >= 0) ||
                                (f.getName() == "rows" &&
                                 f.getValue() ==
                                     StringAttr::get(f.getValue().getContext(),
                                                     "outputs"));
                       });
              });
    return expect(ok, onModule,
                  "a dictionary of kernel names to dictionaries of "
                  "non-negative integers (and rows = \"outputs\")",
                  "a module");
  }
  if (name == ZeroScratchAttrHelper::getNameStr())
    return expect(isa<UnitAttr>(value), onModule, "a unit attribute",
                  "a module");
  if (name == ZeroFillAttrHelper::getNameStr())
    return expect(isa<UnitAttr>(value),
                  op->getName().getStringRef() == "gpu.launch",
                  "a unit attribute", "a gpu.launch");
  if (name == KernelModuleAttrHelper::getNameStr())
    return expect(isa<StringAttr>(value), isa<FunctionOpInterface>(op), "a string",
                  "a kernel function");
  return op->emitError() << "unknown llm attribute '" << name << "'";
}

//===----------------------------------------------------------------------===//
// Parameter layout accessors
//===----------------------------------------------------------------------===//

PackedLayoutAttr ParamOp::getLayout() {
  return LLMDialect::LayoutAttrHelper(getContext()).getAttr(*this);
}

std::optional<int64_t> ParamOp::getBlock() {
  if (PackedLayoutAttr layout = getLayout())
    return layout.getBlock();
  return std::nullopt;
}

int64_t ParamOp::getInterleave() {
  if (PackedLayoutAttr layout = getLayout())
    return layout.getInterleave().value_or(1);
  return 1;
}

/// Activations are [tokens, features] with a dynamic token count and a static
/// feature count.
static LogicalResult verifyActivation(Operation *op, Type type,
                                      StringRef what) {
  auto tensor = cast<RankedTensorType>(type);
  if (tensor.getRank() != 2 || !ShapedType::isDynamic(tensor.getDimSize(0)) ||
      ShapedType::isDynamic(tensor.getDimSize(1)))
    return op->emitOpError() << what
                             << " must be a tensor<?xNxf32> with static N, got "
                             << type;
  return success();
}

static int64_t columns(Value v) {
  return cast<RankedTensorType>(v.getType()).getDimSize(1);
}

/// The group offsets of `matrix` ([rows, cols]), when present, are
/// [rows, groups] with the groups dividing the columns.
static LogicalResult verifyGroupOffsets(Operation *op, Value offsets,
                                        RankedTensorType matrix,
                                        StringRef columnsName) {
  if (!offsets)
    return success();
  auto type = cast<RankedTensorType>(offsets.getType());
  if (type.getRank() == 2 && type.getDimSize(0) == matrix.getDimSize(0) &&
      type.getDimSize(1) > 0 && matrix.getDimSize(1) % type.getDimSize(1) == 0)
    return success();
  return op->emitOpError() << "offsets must be [" << matrix.getDimSize(0)
                           << ", groups] with the groups dividing the "
                           << matrix.getDimSize(1) << " " << columnsName
                           << ", got " << type;
}

//===----------------------------------------------------------------------===//
// ParamOp / WeightOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  RankedTensorType type = getTensorType();
  if (!type.hasStaticShape() || type.getRank() < 1 || type.getRank() > 2)
    return emitOpError("type must be a static rank-1 or rank-2 tensor");
  Type element = type.getElementType();
  if (std::optional<int64_t> group = getGroup()) {
    if ((!element.isInteger(8) && !element.isInteger(6) &&
         !element.isInteger(4)) ||
        type.getRank() != 2)
      return emitOpError(
          "a quantized parameter (group) must be an i8, i6 or i4 matrix");
    if (*group <= 0 || type.getDimSize(1) % *group != 0)
      return emitOpError("the quantization group must divide the columns");
  } else if (!element.isF32() && !element.isBF16() && !element.isF16()) {
    return emitOpError("element type must be f32, bf16 or f16 (i8, i6 or "
                       "i4 with a quantization group)");
  }
  if (getLayersAttr().getInt() < 0)
    return emitOpError("layers must be >= 0");
  if (getSources().empty())
    return emitOpError("needs at least one source tensor");
  if (std::optional<ArrayRef<int64_t>> list = getLayerList()) {
    if (int64_t(list->size()) != getLayers() || list->empty())
      return emitOpError("layer_list must name exactly `layers` layers");
    for (size_t i = 0; i < list->size(); ++i)
      if ((*list)[i] < 0 || (i > 0 && (*list)[i] <= (*list)[i - 1]))
        return emitOpError("layer_list must be ascending layer indices");
  }
  if (getBlock() && type.getRank() != 2)
    return emitOpError("a blocked layout needs a matrix");
  if (type.getRank() == 2 && type.getDimSize(1) % getInterleave() != 0)
    return emitOpError("the interleave must divide the columns");
  if (std::optional<int64_t> group = getGroup();
      group && *group % getInterleave() != 0)
    return emitOpError("the interleave must divide the quantization group");
  if (getAsymmetric() && !getGroup())
    return emitOpError("only a quantized parameter (group) is asymmetric");
  if (std::optional<ArrayRef<int64_t>> of = getOffsetsOf()) {
    if (of->size() != 2 ||
        ((*of)[0] != 4 && (*of)[0] != 6 && (*of)[0] != 8) || (*of)[1] <= 0)
      return emitOpError("offsets_of must be [bits (4, 6 or 8), group]");
    if (getGroup() || type.getRank() != 2 || !element.isF16())
      return emitOpError("group offsets (offsets_of) must be an f16 matrix");
  }
  return success();
}

ParamOp WeightOp::getParamOp() {
  return SymbolTable::lookupNearestSymbolFrom<ParamOp>(*this, getParamAttr());
}

LogicalResult WeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto param =
      symbolTable.lookupNearestSymbolFrom<ParamOp>(*this, getParamAttr());
  if (!param)
    return emitOpError() << "'" << getParam()
                         << "' does not reference an llm.param";
  if (param.getType() != getType())
    return emitOpError() << "type " << getType()
                         << " differs from the parameter's " << param.getType();
  if ((param.getLayers() > 0) != static_cast<bool>(getLayer()))
    return emitOpError() << "a layer index is required exactly when the "
                            "parameter is stacked over layers";
  return success();
}

//===----------------------------------------------------------------------===//
// Activation ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  auto table = cast<RankedTensorType>(getTable().getType());
  if (table.getRank() != 2)
    return emitOpError("table must be [vocab, hidden]");
  if (failed(verifyActivation(*this, getType(), "result")))
    return failure();
  if (columns(getResult()) != table.getDimSize(1))
    return emitOpError("result width must equal the table's hidden size");
  return verifyGroupOffsets(*this, getOffsets(), table, "columns");
}

LogicalResult RMSNormOp::verify() {
  if (failed(verifyActivation(*this, getInput().getType(), "input")) ||
      failed(verifyActivation(*this, getType(), "result")))
    return failure();
  auto weight = cast<RankedTensorType>(getWeight().getType());
  if (weight.getRank() != 1 || weight.getDimSize(0) != columns(getInput()))
    return emitOpError("weight must be a vector of the input's width");
  if (getInput().getType() != getType())
    return emitOpError("result type must equal the input type");
  if (getEps().convertToDouble() <= 0)
    return emitOpError("eps must be positive");
  return success();
}

LogicalResult RMSInvOp::verify() {
  if (failed(verifyActivation(*this, getInput().getType(), "input")))
    return failure();
  auto type = cast<RankedTensorType>(getType());
  if (type.getRank() != 1 || !ShapedType::isDynamic(type.getDimSize(0)))
    return emitOpError("result must be tensor<?xf32>");
  if (getEps().convertToDouble() <= 0)
    return emitOpError("eps must be positive");
  return success();
}

LogicalResult LinearOp::verify() {
  if (failed(verifyActivation(*this, getInput().getType(), "input")) ||
      failed(verifyActivation(*this, getType(), "result")))
    return failure();
  auto weight = cast<RankedTensorType>(getWeight().getType());
  if (weight.getRank() != 2)
    return emitOpError("weight must be a matrix [out, in]");
  if (weight.getDimSize(1) != columns(getInput()))
    return emitOpError() << "weight has " << weight.getDimSize(1)
                         << " input columns but the input has "
                         << columns(getInput());
  if (weight.getDimSize(0) != columns(getResult()))
    return emitOpError() << "weight has " << weight.getDimSize(0)
                         << " output rows but the result has "
                         << columns(getResult()) << " columns";
  if (Value scale = getRowScale()) {
    auto type = cast<RankedTensorType>(scale.getType());
    if (type.getRank() != 1)
      return emitOpError("row scale must be a vector");
  }
  return verifyGroupOffsets(*this, getOffsets(), weight, "input columns");
}

int64_t LinearOp::getOffsetsGroup() {
  Value offsets = getOffsets();
  if (!offsets)
    return 0;
  return columns(getInput()) /
         cast<RankedTensorType>(offsets.getType()).getDimSize(1);
}

LogicalResult GroupSumOp::verify() {
  if (failed(verifyActivation(*this, getInput().getType(), "input")) ||
      failed(verifyActivation(*this, getType(), "result")))
    return failure();
  int64_t group = getGroup();
  if (group <= 0 || columns(getInput()) % group != 0)
    return emitOpError() << "group " << group << " must divide the input's "
                         << columns(getInput()) << " columns";
  if (columns(getResult()) != columns(getInput()) / group)
    return emitOpError() << "result must have " << columns(getInput()) / group
                         << " columns, one per group";
  return success();
}

LogicalResult SliceOp::verify() {
  if (failed(verifyActivation(*this, getInput().getType(), "input")) ||
      failed(verifyActivation(*this, getType(), "result")))
    return failure();
  int64_t offset = getOffset();
  if (offset < 0 || offset + columns(getResult()) > columns(getInput()))
    return emitOpError() << "columns [" << offset << ", "
                         << offset + columns(getResult())
                         << ") exceed the input's " << columns(getInput());
  return success();
}

LogicalResult RoPEOp::verify() {
  if (failed(verifyActivation(*this, getInput().getType(), "input")))
    return failure();
  if (getInput().getType() != getType())
    return emitOpError("result type must equal the input type");
  int64_t headDim = getHeadDim();
  if (headDim <= 0 || headDim % 2 != 0)
    return emitOpError("head_dim must be positive and even");
  if (columns(getInput()) % headDim != 0)
    return emitOpError("input width must be a multiple of head_dim");
  bool scaled = getScalingFactor().has_value();
  if (scaled != getLowFreqFactor().has_value() ||
      scaled != getHighFreqFactor().has_value() ||
      scaled != getOriginalMaxPositions().has_value())
    return emitOpError("llama3 scaling needs scaling_factor, low_freq_factor, "
                       "high_freq_factor and original_max_positions together");
  if (scaled && getLowFreqFactor()->convertToDouble() ==
                    getHighFreqFactor()->convertToDouble())
    return emitOpError("low_freq_factor and high_freq_factor must differ");
  if (std::optional<ArrayRef<double>> factors = getFreqFactors()) {
    if (scaled)
      return emitOpError("freq_factors and llama3 scaling are exclusive");
    if (int64_t(factors->size()) != headDim / 2)
      return emitOpError("freq_factors needs head_dim / 2 = ")
             << headDim / 2 << " entries, found " << factors->size();
    if (!llvm::all_of(*factors, [](double f) {
          return f > 0.0 && std::isfinite(f);
        }))
      return emitOpError("freq_factors must be positive and finite");
  }
  return success();
}

SmallVector<double> RoPEOp::getInverseFrequencies() {
  int64_t headDim = getHeadDim();
  double theta = getTheta().convertToDouble();
  SmallVector<double> inv;
  for (int64_t i = 0; i < headDim / 2; ++i) {
    double freq = std::pow(theta, -2.0 * i / headDim);
    if (getScalingFactor()) {
      double factor = getScalingFactor()->convertToDouble();
      double low = getLowFreqFactor()->convertToDouble();
      double high = getHighFreqFactor()->convertToDouble();
      double original = static_cast<double>(*getOriginalMaxPositions());
      double wavelen = 2.0 * M_PI / freq;
      if (wavelen > original / low) {
        freq = freq / factor;
      } else if (wavelen >= original / high) {
        double smooth = (original / wavelen - low) / (high - low);
        freq = (1.0 - smooth) * freq / factor + smooth * freq;
      }
    }
    if (std::optional<ArrayRef<double>> factors = getFreqFactors())
      freq /= (*factors)[i];
    inv.push_back(freq);
  }
  return inv;
}

LogicalResult AttentionOp::verify() {
  for (Value v : {getQuery(), getKey(), getValue()})
    if (failed(verifyActivation(*this, v.getType(), "operand")))
      return failure();
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(),
          headDim = getHeadDim();
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0)
    return emitOpError("head counts and head_dim must be positive");
  if (heads % kvHeads != 0)
    return emitOpError() << "num_heads (" << heads
                         << ") must be a multiple of num_kv_heads (" << kvHeads
                         << ")";
  if (columns(getQuery()) != heads * headDim)
    return emitOpError("query width must be num_heads * head_dim");
  if (columns(getKey()) != kvHeads * headDim ||
      columns(getValue()) != kvHeads * headDim)
    return emitOpError("key and value width must be num_kv_heads * head_dim");
  if (getType() != getQuery().getType())
    return emitOpError("result type must equal the query type");
  return success();
}

LogicalResult SwiGLUOp::verify() {
  if (failed(verifyActivation(*this, getInput().getType(), "input")) ||
      failed(verifyActivation(*this, getType(), "result")))
    return failure();
  if (columns(getInput()) != 2 * columns(getResult()))
    return emitOpError("input must have twice the result's columns");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/llm/IR/LLMOps.cpp.inc"
