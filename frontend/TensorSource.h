//===- TensorSource.h - Named tensors, whatever file holds them -*- C++ -*-===//
//
// The one interface through which the compiler reads a checkpoint's tensors:
// a name gives a dtype, a shape and the bytes. safetensors directories
// implement it (frontend/Weights.h); other formats plug in beside them. Also
// the element types tensors are stored in and their conversions to f32.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_TENSORSOURCE_H
#define LLMC_FRONTEND_TENSORSOURCE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// Element type of a stored tensor.
enum class DType { F32, BF16, F16 };

/// "f32", "bf16", "f16".
llvm::StringRef dtypeName(DType type);
/// Size of one element in bytes.
unsigned dtypeBytes(DType type);
/// Parses "f32"/"float32", "bf16"/"bfloat16", "f16"/"float16" (case
/// insensitive); also safetensors' "F32", "BF16", "F16".
llvm::Expected<DType> parseDType(llvm::StringRef name);

/// bf16 is the upper half of an f32.
float bf16ToFloat(uint16_t bits);
/// Rounds to nearest, ties to even; NaN stays NaN.
uint16_t floatToBF16(float value);
/// IEEE half, including subnormals, infinities and NaN.
float f16ToFloat(uint16_t bits);
/// Rounds to nearest, ties to even; overflow gives infinity.
uint16_t floatToF16(float value);

/// One tensor of a checkpoint, its bytes owned by the source.
struct TensorView {
  std::string name;
  std::string file; ///< the file that holds it, for messages
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;

  int64_t numElements() const;
  /// Element `i` converted to float (from f32, bf16 or f16).
  float at(int64_t i) const;
};

/// Looks tensors up by name.
class TensorSource {
public:
  virtual ~TensorSource();
  /// nullptr when absent.
  virtual const TensorView *find(llvm::StringRef name) const = 0;
  /// The caller is done with `name`'s view for now: a source that expanded
  /// it may free the expansion (a later find() expands it again). Views of
  /// a mapped file stay valid.
  virtual void release(llvm::StringRef name) const {}
};

/// Stands for the layer index in the names of per-layer tensors and modules
/// (`model.layers.{layer}.mlp.down_proj`).
constexpr llvm::StringLiteral kLayerPlaceholder = "{layer}";

/// `pattern` with its `{layer}` replaced by `layer` (unchanged without one).
std::string substituteLayer(llvm::StringRef pattern, int64_t layer);

} // namespace llmc

#endif // LLMC_FRONTEND_TENSORSOURCE_H
