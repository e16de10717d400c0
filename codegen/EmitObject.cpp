//===- EmitObject.cpp - LLVM dialect to object code -----------------------===//

#include "codegen/EmitObject.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"

#include <cstring>

using namespace mlir;
using namespace mlir::llm;

static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(TargetAttr target) {
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  std::string error;
  const llvm::Target *t =
      llvm::TargetRegistry::lookupTarget(target.getTriple().str(), error);
  if (!t)
    return llvm::createStringError(target.getTriple().str() + ": " + error);
  llvm::TargetOptions options;
  options.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  std::unique_ptr<llvm::TargetMachine> machine(t->createTargetMachine(
      target.getTriple(), target.getCpu(), target.getFeatures(), options,
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return llvm::createStringError("cannot create a target machine for " +
                                   target.getTriple().str());
  return std::move(machine);
}

/// A global named `name` holding the bytes of `value` (a struct of 64-bit
/// fields) as an array of i64.
template <typename Struct>
static llvm::GlobalVariable *addWords(llvm::Module &module, StringRef name,
                                      const Struct &value) {
  static_assert(sizeof(Struct) % 8 == 0, "all fields are 64-bit");
  uint64_t words[sizeof(Struct) / 8];
  std::memcpy(words, &value, sizeof(Struct));
  size_t count = sizeof(Struct) / 8;
  llvm::Type *i64 = llvm::Type::getInt64Ty(module.getContext());
  auto *arrayType = llvm::ArrayType::get(i64, count);
  SmallVector<llvm::Constant *> values;
  for (size_t i = 0; i < count; ++i)
    values.push_back(llvm::ConstantInt::get(i64, words[i]));
  auto *global = new llvm::GlobalVariable(
      module, arrayType, /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantArray::get(arrayType, values), name);
  global->setAlignment(llvm::Align(8));
  return global;
}

/// A constant NUL-terminated string global named `name`.
static void addString(llvm::Module &module, StringRef name, StringRef value) {
  llvm::Constant *text =
      llvm::ConstantDataArray::getString(module.getContext(), value);
  new llvm::GlobalVariable(module, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text, name);
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::llm::translateAndOptimize(ModuleOp module, TargetAttr target,
                                const ExecutableMetadata &metadata,
                                llvm::LLVMContext &context) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "llmc_model");
  if (!llvmModule)
    return llvm::createStringError("translation to LLVM IR failed");
  auto machine = createTargetMachine(target);
  if (!machine)
    return machine.takeError();
  llvmModule->setTargetTriple(target.getTriple());
  llvmModule->setDataLayout((*machine)->createDataLayout());
  addWords(*llvmModule, "llmc_model_info", metadata.info);
  addString(*llvmModule, "llmc_build_info", metadata.buildInfo);
  if (metadata.generation)
    addWords(*llvmModule, "llmc_generation_defaults", *metadata.generation);
  addString(*llvmModule, "llmc_target_cpu", target.getCpu());
  addString(*llvmModule, "llmc_target_features", target.getFeatures());
  std::string vectorWidth = std::to_string(target.getVectorBits());
  for (llvm::Function &fn : *llvmModule) {
    if (fn.isDeclaration())
      continue;
    fn.addFnAttr("target-cpu", target.getCpu());
    fn.addFnAttr("target-features", target.getFeatures());
    fn.addFnAttr("prefer-vector-width", vectorWidth);
    fn.addFnAttr("min-legal-vector-width", vectorWidth);
  }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(machine->get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);
  return std::move(llvmModule);
}

llvm::Error mlir::llm::emitCode(llvm::Module &module, TargetAttr target,
                                OutputKind kind, llvm::StringRef path) {
  auto machine = createTargetMachine(target);
  if (!machine)
    return machine.takeError();
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(path + ": " + ec.message());
  llvm::legacy::PassManager pm;
  if ((*machine)->addPassesToEmitFile(
          pm, os, nullptr,
          kind == OutputKind::Object ? llvm::CodeGenFileType::ObjectFile
                                     : llvm::CodeGenFileType::AssemblyFile))
    return llvm::createStringError("the target cannot emit this file type");
  pm.run(module);
  os.flush();
  return llvm::Error::success();
}
