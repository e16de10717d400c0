//===- llm-opt.cpp - mlir-opt with the llm dialect and llmc's passes -------===//

#include "codegen/Pipelines.h"
#include "dialects/llm/IR/LLMOps.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "runtime/abi/Version.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::llm::registerLLMCDialects(registry);
  mlir::llm::registerLLMCPasses();
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "llm-opt (llmc " << LLMC_VERSION << ", LLVM/MLIR "
       << LLVM_VERSION_STRING << ")\n";
  });
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "llmc optimizer driver\n", registry));
}
