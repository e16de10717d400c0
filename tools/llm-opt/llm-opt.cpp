//===- llm-opt.cpp - mlir-opt with the llm dialect and llmc's passes -------===//

#include "codegen/Pipelines.h"
#include "dialects/llm/IR/LLMOps.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::llm::registerLLMCDialects(registry);
  mlir::llm::registerLLMCPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "llmc optimizer driver\n", registry));
}
