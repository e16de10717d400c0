//===- Report.cpp - llmc compile --report: one HTML page of the kernels ---===//

#include "Report.h"

#include "Ceilings.h"
#include "ProfileFile.h"

#include "codegen/Passes.h"
#include "dialects/llm/IR/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace llvm;
using namespace llmc;

namespace {

std::string printOp(mlir::Operation *op, mlir::AsmState &state) {
  std::string text;
  raw_string_ostream os(text);
  op->print(os, state);
  return text;
}

/// `text` with HTML's special characters escaped.
std::string escape(StringRef text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

/// An id for an HTML anchor: the name's letters and digits, '-' otherwise.
std::string anchor(StringRef name) {
  std::string id = "m-";
  for (char c : name)
    id += isAlnum(c) ? c : '-';
  return id;
}

/// 12345678 as "12,345,678".
std::string grouped(double value) {
  std::string digits = formatv("{0:F0}", value).str();
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-')
      out += ',';
    out += digits[i];
  }
  return out;
}

/// One module's measured numbers in one phase of a --profile-out file.
using Measured = bench::ModuleTime;

/// A --profile-out file: phase -> module -> numbers, and the threads.
struct Profile {
  std::map<std::string, std::map<std::string, Measured>> phases;
  int threads = 0;
  bool empty() const { return phases.empty(); }
  auto count(const std::string &phase) const { return phases.count(phase); }
  auto find(const std::string &phase) const { return phases.find(phase); }
  auto end() const { return phases.end(); }
};

Expected<Profile> readProfile(StringRef path) {
  Expected<bench::ProfileFile> file = bench::readProfileFile(path);
  if (!file)
    return file.takeError();
  Profile profile;
  profile.threads = file->threads;
  for (const bench::PhaseTimes &phase : file->phases)
    for (const bench::ModuleTime &module : phase.modules)
      profile.phases[phase.name][module.name] = module;
  return profile;
}

constexpr StringLiteral kStyle = R"css(
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; }
th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { cursor: pointer; background: #f4f4f4; }
pre { background: #f8f8f8; padding: 6px; overflow-x: auto; font-size: 12px; }
code { font-size: 12px; }
section.module { border-top: 2px solid #bbb; margin-top: 1.5em; }
.muted { color: #777; }
)css";

// Sorting the module table by a column when its header is clicked; the page
// reads the same without it.
constexpr StringLiteral kScript = R"js(
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, column) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.from(body.rows);
      var numeric = th.classList.contains('num');
      var key = function (row) {
        var cell = row.cells[column];
        var v = cell.getAttribute('data-value') || cell.textContent;
        return numeric ? parseFloat(v) || 0 : v;
      };
      var descending = th.getAttribute('data-sorted') !== 'desc';
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
      });
      th.setAttribute('data-sorted', descending ? 'desc' : 'asc');
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.body.setAttribute('data-script', 'ran');
)js";

/// The fields of llm.costs, in the order the page lists them.
constexpr StringLiteral kCostFields[] = {"bytes_per_call", "bytes_per_row",
                                         "flops_per_row", "bytes_per_pair",
                                         "flops_per_pair"};

} // namespace

void Report::recordLLM(mlir::ModuleOp module) {
  mlir::MLIRContext *context = module.getContext();
  if (mlir::DictionaryAttr costs =
          mlir::llm::LLMDialect::CostsAttrHelper(context).getAttr(module))
    for (mlir::NamedAttribute entry : costs) {
      Module &m = modules[entry.getName().str()];
      if (auto fields = dyn_cast<mlir::DictionaryAttr>(entry.getValue()))
        for (mlir::NamedAttribute field : fields) {
          if (auto value = dyn_cast<mlir::IntegerAttr>(field.getValue()))
            m.costs[field.getName().str()] = value.getInt();
          else if (field.getName() == "rows")
            m.outputRows = true;
        }
    }
  for (mlir::func::FuncOp func : module.getOps<mlir::func::FuncOp>()) {
    if (func.isExternal())
      continue;
    mlir::AsmState state(func);
    func.walk([&](mlir::Operation *op) {
      if (!isa<mlir::llm::LLMDialect>(op->getDialect()) ||
          isa<mlir::llm::WeightOp>(op))
        return;
      std::string name = mlir::llm::kernelNameOf(op->getLoc());
      if (name.empty())
        return;
      Module &m = modules[name];
      SetVector<StringRef> sources;
      mlir::llm::collectModuleNames(op->getLoc(), sources);
      for (StringRef source : sources)
        if (!is_contained(m.sources, source.str()))
          m.sources.push_back(source.str());
      m.llmOps.push_back(printOp(op, state));
      if (auto linear = dyn_cast<mlir::llm::LinearOp>(op)) {
        std::string text;
        raw_string_ostream os(text);
        if (auto config =
                mlir::llm::LLMDialect::LoweringConfigAttrHelper(context)
                    .getAttr(op))
          os << "tiles: " << config << "\n";
        if (auto read = linear.getWeight().getDefiningOp<mlir::llm::WeightOp>())
          if (mlir::llm::ParamOp param = read.getParamOp()) {
            os << "weight @" << param.getSymName() << ": "
               << param.getTensorType();
            if (param.getGroup())
              os << ", groups of " << *param.getGroup();
            if (mlir::llm::PackedLayoutAttr layout = param.getLayout())
              os << "\n  packed " << layout;
            os << "\n  " << mlir::llm::paramLayerBytes(param)
               << " bytes per layer";
          }
        if (auto read =
                linear.getOffsets()
                    ? linear.getOffsets().getDefiningOp<mlir::llm::WeightOp>()
                    : mlir::llm::WeightOp())
          if (mlir::llm::ParamOp param = read.getParamOp()) {
            os << "\ngroup offsets @" << param.getSymName() << ": "
               << param.getTensorType() << ", added at each group's end";
            if (mlir::llm::PackedLayoutAttr layout = param.getLayout())
              os << "\n  packed " << layout;
            os << "\n  " << mlir::llm::paramLayerBytes(param)
               << " bytes per layer";
          }
        m.strategy.push_back(text);
      }
    });
  }
}

void Report::recordLinalg(mlir::ModuleOp module) {
  sawLinalg = true;
  for (mlir::func::FuncOp func : module.getOps<mlir::func::FuncOp>()) {
    if (func.isExternal())
      continue;
    mlir::AsmState state(func);
    for (mlir::Operation &op : func.getBody().getOps()) {
      if (!isa<mlir::linalg::LinalgOp, mlir::scf::ForallOp, mlir::scf::ForOp>(
              op))
        continue;
      std::string name = mlir::llm::kernelNameOf(op.getLoc());
      // The loop over the layers (its body is a call) is not a kernel.
      if (name.empty() || !modules.count(name))
        continue;
      modules[name].loops.push_back(printOp(&op, state));
    }
  }
}

void Report::recordAssembly(StringRef text) {
  sawAssembly = true;
  // A function runs from its label ("name:" or "\"name\":") to the
  // .Lfunc_end label after it.
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  std::string current;
  std::string body;
  for (StringRef line : lines) {
    if (current.empty()) {
      if (line.empty() || line.starts_with("\t") || line.starts_with(".") ||
          line.starts_with("#") || !line.ends_with(":"))
        continue;
      StringRef label = line.drop_back().trim('"');
      // Kernels are named after their module, or the module and ".N".
      for (const auto &entry : modules) {
        StringRef module = entry.first;
        StringRef rest = label;
        if (!rest.consume_front(module))
          continue;
        if (!rest.empty() && !(rest.consume_front(".") && !rest.empty() &&
                               all_of(rest, isDigit)))
          continue;
        current = label.str();
        kernelModule[current] = module.str();
        body.clear();
        break;
      }
      continue;
    }
    if (line.starts_with(".Lfunc_end")) {
      kernelAsm[current] = body;
      current.clear();
      continue;
    }
    body += line.str();
    body += '\n';
  }
}

void Report::recordPTX(
    StringRef ptx, const std::map<std::string, std::string> &kernelModules) {
  sawAssembly = sawPTX = true;
  // A kernel runs from its ".entry name(" line to the "}" line that closes
  // its body.
  SmallVector<StringRef> lines;
  ptx.split(lines, '\n');
  std::string current, body;
  for (StringRef line : lines) {
    if (current.empty()) {
      size_t entry = line.find(".entry ");
      if (entry == StringRef::npos)
        continue;
      StringRef name = line.drop_front(entry + 7);
      name = name.take_until([](char c) { return c == '(' || c == ' '; });
      auto module = kernelModules.find(name.str());
      current = name.str();
      kernelModule[current] =
          module == kernelModules.end() ? current : module->second;
      body = line.str() + "\n";
      continue;
    }
    body += line.str();
    body += '\n';
    if (line == "}") {
      kernelAsm[current] = body;
      current.clear();
    }
  }
}

Error Report::write(StringRef path, const Header &header,
                    StringRef profilePath) const {
  Profile profile;
  if (!profilePath.empty()) {
    Expected<Profile> read = readProfile(profilePath);
    if (!read)
      return read.takeError();
    profile = std::move(*read);
  }
  // The roofline: the best read bandwidth and float rate llmc-bench
  // measured on this machine with the profile's thread count.
  // Without a profile: with as many threads as the executable starts by
  // default (every CPU this process may run on).
  std::optional<bench::Ceilings> ceilings;
  unsigned ceilingThreads =
      !profile.empty() && profile.threads > 0
          ? unsigned(profile.threads)
          : unsigned(llvm::hardware_concurrency().compute_thread_count());
  if (header.forThisMachine && ceilingThreads > 0)
    ceilings = bench::readCachedCeilings(ceilingThreads);
  double peak = ceilings ? ceilings->f32Fma : 0;
  if (ceilings && (ceilings->bandwidth <= 0 || peak <= 0))
    ceilings.reset();
  // A module's compute peak: projections on the 8-bit dot product against
  // its rate, on the bf16 dot product against that rate, the rest against
  // the f32 FMA rate.
  // 16-bit inputs take two passes of the dot product (int8_dot = 2).
  auto peakOf = [&](const Module &m) {
    auto it = m.costs.find("int8_dot");
    if (it != m.costs.end() && it->second > 0 && ceilings->int8Dot > 0)
      return ceilings->int8Dot / double(it->second);
    // bf16 weights on the bf16 dot product: against its rate.
    auto bf16 = m.costs.find("bf16_dot");
    return bf16 != m.costs.end() && bf16->second > 0 && ceilings->bf16Dot > 0
               ? ceilings->bf16Dot
               : peak;
  };
  // The time the roofline allows one call of module `m` measured as `v`,
  // in ns (0 when it cannot say).
  auto predictedNs = [&](const Module &m, const Measured &v) {
    if (!ceilings || !v.bytes || !v.flops || v.calls <= 0)
      return 0.0;
    return std::max(*v.bytes / v.calls / ceilings->bandwidth,
                    *v.flops / v.calls / peakOf(m));
  };

  // One decode step's FLOPs and bytes of a module at 1,024 cached
  // positions, and the time the roofline allows them, in ns.
  auto stepCost = [](const Module &m, StringRef field) {
    auto it = m.costs.find(field.str());
    return it == m.costs.end() ? 0.0 : double(it->second);
  };
  auto stepFlops = [&](const Module &m) {
    return stepCost(m, "flops_per_row") + stepCost(m, "flops_per_pair") * 1024;
  };
  auto stepBytes = [&](const Module &m) {
    return stepCost(m, "bytes_per_call") + stepCost(m, "bytes_per_row") +
           stepCost(m, "bytes_per_pair") * 1024;
  };
  auto predictedStepNs = [&](const Module &m) {
    if (!ceilings || m.costs.empty())
      return 0.0;
    return std::max(stepBytes(m) / ceilings->bandwidth,
                    stepFlops(m) / peakOf(m));
  };

  std::error_code ec;
  ToolOutputFile out(path, ec, sys::fs::OF_Text);
  if (ec)
    return createStringError("cannot write '" + path + "': " + ec.message());
  raw_ostream &os = out.os();

  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
     << "<title>llmc report: " << escape(header.input) << "</title>\n<style>"
     << kStyle << "</style></head>\n<body>\n<h1>llmc report</h1>\n<p>"
     << "input <code>" << escape(header.input) << "</code>, target <code>"
     << escape(header.target) << "</code></p>\n<p class=\"muted\"><code>"
     << escape(header.command) << "</code></p>\n";

  // The kernels of each module, as the assembly names them.
  std::map<std::string, std::vector<std::string>> kernelsOf;
  for (const auto &[kernel, module] : kernelModule)
    kernelsOf[module].push_back(kernel);

  // Largest first: by decode time when measured, else by the bytes and
  // FLOPs of a decode step. Modules without a kernel or costs of their own
  // (views such as the slices of a fused projection's output) have no row
  // and their sections come last.
  std::vector<std::string> order;
  for (const auto &entry : modules)
    order.push_back(entry.first);
  auto weight = [&](const std::string &name) {
    auto decode = profile.find("decode");
    if (decode != profile.end()) {
      auto it = decode->second.find(name);
      return it == decode->second.end() ? -1.0 : it->second.ns;
    }
    double sum = 0;
    for (const auto &[field, value] : modules.find(name)->second.costs)
      sum += double(value);
    return sum;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const std::string &a, const std::string &b) {
                     return weight(a) > weight(b);
                   });
  auto listed = [&](const std::string &name) {
    return !modules.find(name)->second.costs.empty() || kernelsOf.count(name);
  };
  std::stable_partition(order.begin(), order.end(), listed);

  const char *phases[] = {"decode", "prefill"};
  os << "<h2>Modules</h2>\n<p>One row per kernel module: the model modules "
        "an llm op of this name computes (several when fused), its kernels "
        "in the assembly, and what llm-estimate-costs counts: weight bytes "
        "per call, FLOPs and bytes per row (per output row for the lm_head), "
        "per (row, cached position) pair for attention.";
  if (!profile.empty())
    os << " Measured: <code>" << escape(profilePath) << "</code>"
       << (profile.threads > 0 ? formatv(", {0} threads", profile.threads).str()
                               : std::string())
       << ".";
  // The sentence naming a dot product's rate, where some module's
  // projections run on it (llm.costs' `field`).
  auto onDotProduct = [&](StringRef field, StringRef name, double rate,
                          StringRef unit) {
    bool used = llvm::any_of(modules, [&](const auto &entry) {
      return entry.second.costs.count(field.str()) != 0;
    });
    if (rate <= 0 || !used)
      return std::string();
    return formatv(" Projections on the {0} dot product are set against its "
                   "rate, {1:F1} {2}.",
                   name, rate, unit)
        .str();
  };
  if (ceilings)
    os << formatv(" The roofline: {0:F1} GB/s and {1:F1} GFLOP/s, the best "
                  "read bandwidth and f32 FMA rate llmc-bench measured here "
                  "with {2} threads (<code>",
                  ceilings->bandwidth, peak, ceilingThreads)
       << escape(ceilings->source)
       << "</code>); <i>predicted</i> is the time it allows one decode step's "
          "call at 1,024 cached positions"
       << (profile.empty() ? ""
                           : ", <i>of roofline</i> that time over the "
                             "time measured")
       << "." << onDotProduct("int8_dot", "8-bit", ceilings->int8Dot, "GOP/s")
       << onDotProduct("bf16_dot", "bf16", ceilings->bf16Dot, "GFLOP/s");
  else
    os << " No roofline: "
       << (header.forThisMachine ? ""
                                 : "the target is "
                                   "not this machine, "
                                   "or ")
       << "llmc-bench has not measured this machine with " << ceilingThreads
       << " threads (llmc-bench --threads " << ceilingThreads << " does).";
  os << " Click a header to sort.</p>\n<table class=\"sortable\" "
        "id=\"modules\"><thead><tr><th>module</th><th class=\"num\">kernels"
        "</th>";
  for (StringRef field : kCostFields)
    os << "<th class=\"num\">" << field << "</th>";
  if (ceilings)
    os << "<th class=\"num\">predicted decode &micro;s/call</th>";
  for (const char *phase : phases)
    if (profile.count(phase))
      os << "<th class=\"num\">" << phase << " share</th><th class=\"num\">"
         << phase << " &micro;s/call</th><th class=\"num\">" << phase
         << " GB/s</th><th class=\"num\">" << phase << " GFLOP/s</th>"
         << (ceilings ? "<th class=\"num\">" + std::string(phase) +
                            " of roofline</th>"
                      : std::string());
  os << "</tr></thead>\n<tbody>\n";
  for (const std::string &name : order) {
    const Module &m = modules.find(name)->second;
    if (!listed(name))
      continue;
    auto kernels = kernelsOf.find(name);
    os << "<tr data-module=\"" << escape(name) << "\"><td><a href=\"#"
       << anchor(name) << "\">" << escape(name) << "</a></td><td class=\"num\">"
       << (kernels == kernelsOf.end() ? 0 : kernels->second.size()) << "</td>";
    for (StringRef field : kCostFields) {
      auto it = m.costs.find(field.str());
      int64_t value = it == m.costs.end() ? 0 : it->second;
      os << "<td class=\"num\" data-value=\"" << value << "\">"
         << (value ? grouped(double(value)) : "") << "</td>";
    }
    if (ceilings) {
      double predicted = predictedStepNs(m);
      if (predicted > 0)
        os << formatv("<td class=\"num\" data-value=\"{0}\">{1:F2}</td>",
                      predicted, predicted / 1e3);
      else
        os << "<td></td>";
    }
    for (const char *phase : phases) {
      auto measuredPhase = profile.find(phase);
      if (measuredPhase == profile.end())
        continue;
      auto it = measuredPhase->second.find(name);
      if (it == measuredPhase->second.end()) {
        os << "<td></td><td></td><td></td><td></td>"
           << (ceilings ? "<td></td>" : "");
        continue;
      }
      const Measured &v = it->second;
      double perCall = v.calls > 0 ? v.ns / 1e3 / v.calls : 0;
      os << formatv("<td class=\"num\" data-value=\"{0}\">{1:P1}</td>", v.share,
                    v.share)
         << formatv("<td class=\"num\">{0:F2}</td>", perCall);
      if (v.bytes && v.flops && v.ns > 0)
        os << formatv("<td class=\"num\">{0:F1}</td><td class=\"num\">{1:F1}"
                      "</td>",
                      *v.bytes / v.ns, *v.flops / v.ns);
      else
        os << "<td></td><td></td>";
      if (ceilings) {
        double allowed = predictedNs(m, v), measured = v.ns / v.calls;
        if (allowed > 0 && measured > 0)
          os << formatv("<td class=\"num\" data-value=\"{0}\">{0:P0}</td>",
                        allowed / measured);
        else
          os << "<td></td>";
      }
    }
    os << "</tr>\n";
  }
  os << "</tbody></table>\n";

  auto printKernel = [&](const std::string &kernel) {
    std::string code = kernelAsm.lookup(kernel);
    size_t instructions = 0;
    SmallVector<StringRef> lines;
    StringRef(code).split(lines, '\n');
    for (StringRef line : lines)
      if (line.starts_with("\t") && !line.ltrim().starts_with("."))
        ++instructions;
    os << "<details class=\"kernel\" data-kernel=\"" << escape(kernel)
       << "\"><summary>" << (sawPTX ? "GPU kernel" : "Kernel") << " <code>"
       << escape(kernel) << "</code>: " << instructions
       << (sawPTX ? " PTX instructions" : " instructions")
       << "</summary>\n<pre>" << escape(code) << "</pre></details>\n";
  };
  for (const std::string &name : order) {
    const Module &m = modules.find(name)->second;
    os << "<section class=\"module\" id=\"" << anchor(name)
       << "\" data-module=\"" << escape(name) << "\">\n<h2>" << escape(name)
       << "</h2>\n";
    if (m.sources.size() > 1) {
      os << "<p>Fused from ";
      for (size_t i = 0; i < m.sources.size(); ++i)
        os << (i ? ", " : "") << "<code>" << escape(m.sources[i]) << "</code>";
      os << ".</p>\n";
    }
    // The costs of one decode step at 1024 cached positions, and of a row.
    if (!m.costs.empty()) {
      double flops = stepFlops(m), bytes = stepBytes(m);
      os << "<p class=\"costs\">One decode step";
      if (stepCost(m, "flops_per_pair") > 0 ||
          stepCost(m, "bytes_per_pair") > 0)
        os << " at 1,024 cached positions";
      os << ": <span data-cost=\"flops\">" << grouped(flops)
         << "</span> FLOPs, <span data-cost=\"bytes\">" << grouped(bytes)
         << "</span> bytes"
         << formatv(" ({0:F2} FLOPs per byte).", bytes > 0 ? flops / bytes : 0)
         << (m.outputRows ? " Its rows are the output rows." : "");
      if (double predicted = predictedStepNs(m); predicted > 0)
        os << formatv(" The roofline predicts <span class=\"predicted\">"
                      "{0:F2} &micro;s</span> for it ({1} bound).",
                      predicted / 1e3,
                      bytes / ceilings->bandwidth >= flops / peakOf(m)
                          ? "memory"
                          : "compute");
      os << "</p>\n";
    }
    for (const char *phase : phases) {
      auto measuredPhase = profile.find(phase);
      if (measuredPhase == profile.end())
        continue;
      auto it = measuredPhase->second.find(name);
      if (it == measuredPhase->second.end())
        continue;
      const Measured &v = it->second;
      os << "<p class=\"measured\">" << phase << ": "
         << formatv("{0:F0} calls, {1:F3} ms, {2:P1} of the forward time",
                    v.calls, v.ns / 1e6, v.share);
      if (v.bytes && v.flops && v.ns > 0)
        os << formatv(", {0:F1} GB/s, {1:F1} GFLOP/s", *v.bytes / v.ns,
                      *v.flops / v.ns);
      if (double allowed = predictedNs(m, v); allowed > 0 && v.calls > 0) {
        bool memory = *v.bytes / ceilings->bandwidth >= *v.flops / peakOf(m);
        os << formatv("; the roofline allows {0:F2} &micro;s per call ({1} "
                      "bound), measured {2:F2}: <span class=\"roofline\">"
                      "{3:P0}</span> of it",
                      allowed / 1e3, memory ? "memory" : "compute",
                      v.ns / v.calls / 1e3, allowed / (v.ns / v.calls));
      }
      os << ".</p>\n";
    }
    if (!m.llmOps.empty()) {
      os << "<h3>llm ops</h3>\n<pre class=\"llm\">";
      for (const std::string &op : m.llmOps)
        os << escape(op) << "\n";
      os << "</pre>\n";
    }
    if (!m.strategy.empty()) {
      os << "<h3>Strategy</h3>\n<pre class=\"strategy\">";
      for (const std::string &text : m.strategy)
        os << escape(text) << "\n";
      os << "</pre>\n";
    }
    if (sawLinalg) {
      os << "<details class=\"loops\"><summary>Loop nests (linalg IR): "
         << m.loops.size() << "</summary>\n<pre>";
      for (const std::string &loop : m.loops)
        os << escape(loop) << "\n";
      os << "</pre></details>\n";
    }
    auto kernels = kernelsOf.find(name);
    if (kernels != kernelsOf.end())
      for (const std::string &kernel : kernels->second)
        printKernel(kernel);
    else if (sawAssembly)
      os << "<p class=\"muted\">No kernel of this name in the assembly (its "
            "work is part of another kernel).</p>\n";
    os << "</section>\n";
  }
  // Kernels of no model module (a GPU model's argmax).
  bool others = false;
  for (const auto &[module, kernels] : kernelsOf) {
    if (modules.count(module))
      continue;
    if (!others)
      os << "<section class=\"module\" id=\"other-kernels\"><h2>Other "
            "kernels</h2>\n";
    others = true;
    for (const std::string &kernel : kernels)
      printKernel(kernel);
  }
  if (others)
    os << "</section>\n";
  if (!sawAssembly)
    os << "<p class=\"muted\">No assembly was made (--emit stopped "
          "earlier).</p>\n";
  os << "<script>" << kScript << "</script>\n</body></html>\n";
  out.keep();
  return Error::success();
}
