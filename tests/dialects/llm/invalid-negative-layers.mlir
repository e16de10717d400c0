// RUN: llm-opt %s --verify-diagnostics
// XFAIL: *
// ParamOp::verify checks `getLayers() < 0`, but the I64Attr accessor returns
// uint64_t, so the check never fires and a negative layer count is accepted.
// Remove the XFAIL (and move this case into invalid.mlir) once it is fixed.

// expected-error @+1 {{layers must be >= 0}}
llm.param @w : tensor<4x8xf32> {layers = -1 : i64, sources = ["w"]}
