//===- Report.h - llmc compile --report: one HTML page of the kernels -----===//
//
// The compilation hands the report its module at each stage (llm IR after
// fusion and strategy, linalg IR, the host assembly); the report keeps, per
// kernel module (the name llm-outline-kernels gives kernels), the llm ops it
// came from, their tiles and packed layouts, its loop nests, its kernels'
// assembly and its costs (llm.costs), and with a --profile-out file of the
// executable the measured time of each module beside them. write() makes one
// self-contained HTML file: no network, no external scripts or fonts.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TOOLS_LLMC_REPORT_H
#define LLMC_TOOLS_LLMC_REPORT_H

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace llmc {

class Report {
public:
  /// What the page says the compilation was (shown in its header).
  struct Header {
    std::string input, target, command;
    /// The target is this machine's CPU: llmc-bench's measured ceilings
    /// for it apply.
    bool forThisMachine = false;
  };

  /// The llm IR after fusion and the strategy: ops, tiles, layouts, costs.
  void recordLLM(mlir::ModuleOp module);
  /// The linalg IR: each module's loop nests.
  void recordLinalg(mlir::ModuleOp module);
  /// The host assembly (`.s` text): each kernel function's code.
  void recordAssembly(llvm::StringRef text);
  /// A GPU target's PTX: each `.entry` kernel's code, under the module
  /// `kernelModules` names for it (kernel name -> model module).
  void recordPTX(llvm::StringRef ptx,
                 const std::map<std::string, std::string> &kernelModules);

  /// Writes the page to `path`; `profilePath`, when not empty, is an
  /// executable's --profile-out file whose times go beside the costs.
  llvm::Error write(llvm::StringRef path, const Header &header,
                    llvm::StringRef profilePath) const;

private:
  struct Module {
    /// The model modules whose ops the kernel computes (one unless fused).
    std::vector<std::string> sources;
    /// The llm ops, printed, and each projection's tiles and weight layout.
    std::vector<std::string> llmOps, strategy;
    /// Top-level linalg-level ops (loop nests), printed.
    std::vector<std::string> loops;
    /// llm.costs fields.
    std::map<std::string, int64_t> costs;
    bool outputRows = false;
  };
  template <typename T>
  using NameMap =
      llvm::MapVector<std::string, T, std::map<std::string, unsigned>>;
  NameMap<Module> modules;
  /// Kernel function name -> its module, and its assembly.
  NameMap<std::string> kernelModule, kernelAsm;
  bool sawLinalg = false, sawAssembly = false;
  /// The kernels' code is PTX (a GPU target), not host assembly.
  bool sawPTX = false;
};

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_REPORT_H
