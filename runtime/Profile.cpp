//===- Profile.cpp - Kernel timers of a model executable's --profile ------===//

#include "runtime/Profile.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

// Emitted by llm-time-kernels into the model object; absent (null) in
// executables without kernel marks. Groups are the modules the kernels
// compute (a module's second, third, ... kernel is in its group); each
// group's costs are 7 numbers: known, rows are output rows, FLOPs per row,
// bytes per row, bytes per call, FLOPs per pair, bytes per pair.
extern "C" {
extern const int64_t llmc_kernel_count __attribute__((weak));
extern const char llmc_kernel_names[] __attribute__((weak));
extern const int64_t llmc_kernel_group[] __attribute__((weak));
extern const int64_t llmc_kernel_caller[] __attribute__((weak));
extern const int64_t llmc_group_count __attribute__((weak));
extern const char llmc_group_names[] __attribute__((weak));
extern const int64_t llmc_group_costs[] __attribute__((weak));
}

using namespace llmc;

namespace {

constexpr int kCostFields = 9;

uint64_t nowNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

/// What one kernel, or one group, spent in one phase. `rows` and
/// `outputRows` sum the forward calls' token and output rows over the calls,
/// `pairs` their (query row, cached position) pairs.
struct Counters {
  uint64_t ns = 0, calls = 0, rows = 0, outputRows = 0, pairs = 0;
};

/// What one phase (decode or prefill) spent.
struct Phase {
  const char *name;
  std::vector<Counters> kernels;
  uint64_t forwardNs = 0, forwardCalls = 0, tokens = 0;
};

/// The numbers of the forward call in flight.
struct Forward {
  uint64_t rows = 0, outputRows = 0, pairs = 0;
};

struct Profiler {
  std::atomic<bool> enabled{false};
  std::vector<std::string> kernelNames, groupNames;
  std::vector<size_t> groupOf;
  /// The function each kernel was outlined from (llmc_kernel_caller).
  std::vector<int64_t> callerOf;
  Phase phases[2] = {{"decode", {}}, {"prefill", {}}};
  // Worker 0's open kernel; touched only by worker 0 during a forward call
  // and by the calling thread between calls (the pool's hand-off orders
  // them).
  Phase *current = nullptr;
  int threads = 0;
  Forward forward;
  int64_t open = -1;
  uint64_t openedNs = 0, forwardStartNs = 0;

  void close(uint64_t now) {
    if (open >= 0 && current) {
      Counters &c = current->kernels[size_t(open)];
      c.ns += now - openedNs;
      c.calls += 1;
      c.rows += forward.rows;
      c.outputRows += forward.outputRows;
      c.pairs += forward.pairs;
    }
    open = -1;
  }
};

Profiler &profiler() {
  static Profiler p;
  return p;
}

int64_t kernelCount() {
  if (!&llmc_kernel_count || !llmc_kernel_names || !llmc_kernel_group ||
      !&llmc_group_count || !llmc_group_names || !llmc_group_costs)
    return 0;
  return llmc_kernel_count;
}

std::vector<std::string> splitNames(const char *names, int64_t count) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < count; ++i) {
    out.emplace_back(names);
    names += std::strlen(names) + 1;
  }
  return out;
}

/// One group's totals in a phase, with what its costs make of them.
struct GroupRow {
  size_t group;
  Counters sum;
  int kernels = 0;
  bool known = false;
  /// Its FLOPs are 8-bit dot products in this many passes (llm.costs'
  /// int8_dot: 2 for 16-bit inputs); 0 when they are not.
  int64_t int8Passes = 0;
  /// Its FLOPs are bf16 dot products (llm.costs' bf16_dot).
  bool bf16Dot = false;
  double bytes = 0, flops = 0;
};

std::vector<GroupRow> groupRows(const Profiler &p, const Phase &phase) {
  std::vector<GroupRow> rows(p.groupNames.size());
  for (size_t g = 0; g < rows.size(); ++g)
    rows[g].group = g;
  // A module's kernels in one function run once each per call of the
  // module there; a module in several functions (layer functions of layers
  // whose weights differ in type) is called in each.
  std::map<std::pair<size_t, int64_t>, Counters> perCaller;
  for (size_t k = 0; k < phase.kernels.size(); ++k) {
    const Counters &c = phase.kernels[k];
    if (!c.calls)
      continue;
    GroupRow &row = rows[p.groupOf[k]];
    row.sum.ns += c.ns;
    row.kernels += 1;
    Counters &once = perCaller[{size_t(p.groupOf[k]), p.callerOf[k]}];
    once.calls = std::max(once.calls, c.calls);
    once.rows = std::max(once.rows, c.rows);
    once.outputRows = std::max(once.outputRows, c.outputRows);
    once.pairs = std::max(once.pairs, c.pairs);
  }
  for (const auto &[key, once] : perCaller) {
    GroupRow &row = rows[key.first];
    row.sum.calls += once.calls;
    row.sum.rows += once.rows;
    row.sum.outputRows += once.outputRows;
    row.sum.pairs += once.pairs;
  }
  for (GroupRow &row : rows) {
    const int64_t *cost = llmc_group_costs + row.group * kCostFields;
    row.known = cost[0] != 0;
    row.int8Passes = cost[7];
    row.bf16Dot = cost[8] != 0;
    double r = double(cost[1] ? row.sum.outputRows : row.sum.rows);
    row.flops = double(cost[2]) * r + double(cost[5]) * double(row.sum.pairs);
    row.bytes = double(cost[3]) * r + double(cost[4]) * double(row.sum.calls) +
                double(cost[6]) * double(row.sum.pairs);
  }
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [](const GroupRow &r) { return r.kernels == 0; }),
             rows.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const GroupRow &a, const GroupRow &b) {
                     return a.sum.ns > b.sum.ns;
                   });
  return rows;
}

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

/// Rate of `amount` units in `ns` nanoseconds, in units per ns (GB/s for
/// bytes, GFLOP/s for FLOPs).
double perNs(double amount, uint64_t ns) { return ns ? amount / double(ns) : 0; }

} // namespace

extern "C" void llmc_profile_mark(int64_t tid, int64_t kernel) {
  Profiler &p = profiler();
  if (tid != 0 || !p.enabled.load(std::memory_order_relaxed))
    return;
  uint64_t now = nowNs();
  p.close(now);
  p.open = kernel;
  p.openedNs = now;
}

bool llmc::profileAvailable() { return kernelCount() > 0; }

void llmc::profileEnable() {
  Profiler &p = profiler();
  int64_t count = kernelCount();
  if (count <= 0)
    return;
  p.kernelNames = splitNames(llmc_kernel_names, count);
  p.groupNames = splitNames(llmc_group_names, llmc_group_count);
  p.groupOf.assign(llmc_kernel_group, llmc_kernel_group + count);
  if (llmc_kernel_caller)
    p.callerOf.assign(llmc_kernel_caller, llmc_kernel_caller + count);
  else
    p.callerOf.assign(size_t(count), 0);
  for (Phase &phase : p.phases)
    phase.kernels.assign(size_t(count), Counters());
  p.enabled.store(true, std::memory_order_relaxed);
}

void llmc::profileSetThreads(int threads) { profiler().threads = threads; }

bool llmc::profileEnabled() {
  return profiler().enabled.load(std::memory_order_relaxed);
}

void llmc::profileKernelTime(int64_t kernel, uint64_t ns) {
  Profiler &p = profiler();
  if (!p.enabled.load(std::memory_order_relaxed) || !p.current || kernel < 0 ||
      size_t(kernel) >= p.current->kernels.size())
    return;
  Counters &c = p.current->kernels[size_t(kernel)];
  c.ns += ns;
  c.calls += 1;
  c.rows += p.forward.rows;
  c.outputRows += p.forward.outputRows;
  c.pairs += p.forward.pairs;
}

void llmc::profileBeginForward(int64_t tokens, int64_t outputRows,
                               int64_t position, bool prefill) {
  Profiler &p = profiler();
  if (!p.enabled.load(std::memory_order_relaxed))
    return;
  p.current = &p.phases[prefill ? 1 : 0];
  p.current->tokens += uint64_t(tokens);
  // Row i (at position + i) attends to positions 0 .. position + i.
  uint64_t n = uint64_t(tokens), pos = uint64_t(position);
  p.forward = {n, uint64_t(outputRows), n * pos + n * (n + 1) / 2};
  p.open = -1;
  p.forwardStartNs = nowNs();
}

void llmc::profileEndForward() {
  Profiler &p = profiler();
  if (!p.enabled.load(std::memory_order_relaxed) || !p.current)
    return;
  uint64_t now = nowNs();
  p.close(now);
  p.current->forwardNs += now - p.forwardStartNs;
  p.current->forwardCalls += 1;
  p.current = nullptr;
}

namespace {
ProfileCeilings &ceilingsInUse() {
  static ProfileCeilings ceilings;
  return ceilings;
}

/// The number after `"field":` inside text[begin, end), or 0.
double jsonNumber(const std::string &text, size_t begin, size_t end,
                  const char *field) {
  std::string quoted = std::string("\"") + field + "\"";
  size_t at = text.find(quoted, begin);
  if (at == std::string::npos || at >= end)
    return 0;
  at = text.find(':', at + quoted.size());
  if (at == std::string::npos || at >= end)
    return 0;
  return std::strtod(text.c_str() + at + 1, nullptr);
}
} // namespace

bool llmc::readCachedCeilings(const char *cpu, int threads,
                              ProfileCeilings &ceilings) {
  std::string path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    path = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    path = std::string(home) + "/.cache";
  else
    return false;
  path += "/llmc/ceilings.json";
  std::string model;
  if (FILE *info = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof(line), info))
      if (std::strncmp(line, "model name", 10) == 0) {
        const char *colon = std::strchr(line, ':');
        model = colon ? colon + 1 : "";
        break;
      }
    std::fclose(info);
  }
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  while (!model.empty() && isSpace(model.front()))
    model.erase(model.begin());
  while (!model.empty() && isSpace(model.back()))
    model.pop_back();
  std::string text;
  if (FILE *file = std::fopen(path.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0)
      text.append(buf, n);
    std::fclose(file);
  }
  // The entry: "cpu / model / N threads": {fields, no nested objects}, as
  // tools/llmc-bench/CeilingsCache.cpp writes it (machineKey(); the runtime
  // links no LLVM, so it reads the file with this scan).
  std::string key = std::string("\"") + cpu + " / " + model + " / " +
                    std::to_string(threads) + " threads\"";
  size_t at = text.find(key);
  if (at == std::string::npos)
    return false;
  size_t begin = text.find('{', at), end = text.find('}', begin);
  if (begin == std::string::npos || end == std::string::npos)
    return false;
  ceilings.bandwidth = jsonNumber(text, begin, end, "read_bandwidth_gb_per_s");
  ceilings.flops = jsonNumber(text, begin, end, "f32_fma_gflop_per_s");
  ceilings.bf16Flops = jsonNumber(text, begin, end, "bf16_dot_gflop_per_s");
  ceilings.int8Ops = jsonNumber(text, begin, end, "int8_dot_gop_per_s");
  ceilings.source = path + ", " + key.substr(1, key.size() - 2);
  return ceilings.bandwidth > 0 && ceilings.flops > 0;
}

void llmc::profileSetCeilings(const ProfileCeilings &ceilings) {
  ceilingsInUse() = ceilings;
}

std::string llmc::profileTable() {
  Profiler &p = profiler();
  const ProfileCeilings &ceilings = ceilingsInUse();
  bool roofline = ceilings.bandwidth > 0 && ceilings.flops > 0;
  std::string out;
  char line[1024];
  for (const Phase &phase : p.phases) {
    if (!phase.forwardCalls)
      continue;
    std::vector<GroupRow> rows = groupRows(p, phase);
    double total = double(phase.forwardNs), bytes = 0, flops = 0;
    uint64_t inKernels = 0;
    for (const GroupRow &row : rows) {
      bytes += row.bytes;
      flops += row.flops;
      inKernels += row.sum.ns;
    }
    std::snprintf(line, sizeof(line),
                  "profile %s: %llu forward calls, %llu tokens, %.3f ms "
                  "(%.3f ms per call): %.1f GB/s, %.1f GFLOP/s\n",
                  phase.name, (unsigned long long)phase.forwardCalls,
                  (unsigned long long)phase.tokens, total / 1e6,
                  total / 1e6 / double(phase.forwardCalls),
                  perNs(bytes, phase.forwardNs), perNs(flops, phase.forwardNs));
    out += line;
    // Projections on the 8-bit dot product are set against its peak.
    bool int8 = roofline && ceilings.int8Ops > 0 &&
                std::any_of(rows.begin(), rows.end(), [](const GroupRow &row) {
                  return row.int8Passes != 0;
                });
    bool twoPasses =
        std::any_of(rows.begin(), rows.end(),
                    [](const GroupRow &row) { return row.int8Passes == 2; });
    // Projections on the bf16 dot product against its peak; every other
    // module's FLOPs against the f32 FMA's.
    bool bf16 = roofline && ceilings.bf16Flops > 0 &&
                std::any_of(rows.begin(), rows.end(),
                            [](const GroupRow &row) { return row.bf16Dot; });
    if (roofline) {
      std::string peaks;
      char part[160];
      std::snprintf(part, sizeof(part), "%.1f GB/s, %.1f GFLOP/s of f32 FMAs",
                    ceilings.bandwidth, ceilings.flops);
      peaks = part;
      if (bf16) {
        std::snprintf(part, sizeof(part), ", %.1f GFLOP/s of bf16 dot products",
                      ceilings.bf16Flops);
        peaks += part;
      }
      if (int8) {
        std::snprintf(part, sizeof(part),
                      ", %.1f GOP/s of 8-bit dot products%s", ceilings.int8Ops,
                      twoPasses ? " (two for each product of 16-bit inputs)"
                                : "");
        peaks += part;
      }
      std::snprintf(line, sizeof(line),
                    "  roofline: %s (%s); each module's time allowed by it "
                    "over its time measured\n",
                    peaks.c_str(), ceilings.source.c_str());
    } else if (!ceilings.source.empty())
      std::snprintf(line, sizeof(line), "  roofline: none: %s\n",
                    ceilings.source.c_str());
    if (roofline || !ceilings.source.empty())
      out += line;
    std::snprintf(line, sizeof(line),
                  "  %8s %10s %7s %11s %8s %8s %8s %7s  %s\n", "calls",
                  "total ms", "share", "us per call", "GB/s", "GFLOP/s",
                  roofline ? "roofline" : "", "kernels", "module");
    out += line;
    auto print = [&](uint64_t calls, uint64_t ns, const std::string &gbs,
                     const std::string &gflops, const std::string &ofRoofline,
                     const std::string &kernels, const char *name) {
      std::snprintf(line, sizeof(line),
                    "  %8llu %10.3f %6.2f%% %11.2f %8s %8s %8s %7s  %s\n",
                    (unsigned long long)calls, double(ns) / 1e6,
                    total > 0 ? 100.0 * double(ns) / total : 0.0,
                    calls ? double(ns) / 1e3 / double(calls) : 0.0, gbs.c_str(),
                    gflops.c_str(), ofRoofline.c_str(), kernels.c_str(), name);
      out += line;
    };
    // The time the roofline allows a row's bytes and FLOPs over its time.
    auto fraction = [&](const GroupRow &row) {
      if (!roofline || !row.known || row.sum.ns == 0)
        return std::string(roofline ? "-" : "");
      // 16-bit inputs take two passes of the 8-bit dot product.
      double peak = row.int8Passes && int8
                        ? ceilings.int8Ops / double(row.int8Passes)
                    : row.bf16Dot && bf16 ? ceilings.bf16Flops
                                          : ceilings.flops;
      double allowed =
          std::max(row.bytes / ceilings.bandwidth, row.flops / peak);
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.0f%%",
                    100.0 * allowed / double(row.sum.ns));
      return std::string(buf);
    };
    auto rate = [](double amount, uint64_t ns, bool known) {
      if (!known)
        return std::string("-");
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.1f", perNs(amount, ns));
      return std::string(buf);
    };
    for (const GroupRow &row : rows)
      print(row.sum.calls, row.sum.ns, rate(row.bytes, row.sum.ns, row.known),
            rate(row.flops, row.sum.ns, row.known), fraction(row),
            std::to_string(row.kernels), p.groupNames[row.group].c_str());
    uint64_t outside =
        phase.forwardNs > inKernels ? phase.forwardNs - inKernels : 0;
    print(phase.forwardCalls, outside, "", "", "", "",
          "(outside kernels: thread hand-off, host work, copies)");
  }
  if (out.empty())
    out = "profile: no forward calls\n";
  return out;
}

std::string llmc::profileJson() {
  Profiler &p = profiler();
  std::string out =
      "{\n  \"threads\": " + std::to_string(p.threads) + ",\n  \"phases\": [";
  bool firstPhase = true;
  char num[256];
  for (const Phase &phase : p.phases) {
    if (!phase.forwardCalls)
      continue;
    out += firstPhase ? "\n" : ",\n";
    firstPhase = false;
    uint64_t inKernels = 0;
    for (const Counters &c : phase.kernels)
      inKernels += c.ns;
    std::snprintf(num, sizeof(num),
                  "    {\"phase\": \"%s\", \"forward_calls\": %llu, "
                  "\"tokens\": %llu, \"forward_ns\": %llu, \"kernels_ns\": "
                  "%llu,\n",
                  phase.name, (unsigned long long)phase.forwardCalls,
                  (unsigned long long)phase.tokens,
                  (unsigned long long)phase.forwardNs,
                  (unsigned long long)inKernels);
    out += num;
    out += "     \"modules\": [";
    bool first = true;
    for (const GroupRow &row : groupRows(p, phase)) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "       {\"name\": " + jsonString(p.groupNames[row.group]);
      std::snprintf(num, sizeof(num),
                    ", \"calls\": %llu, \"ns\": %llu, \"kernels\": %d",
                    (unsigned long long)row.sum.calls,
                    (unsigned long long)row.sum.ns, row.kernels);
      out += num;
      if (row.known) {
        std::snprintf(num, sizeof(num), ", \"bytes\": %.0f, \"flops\": %.0f",
                      row.bytes, row.flops);
        out += num;
        if (row.int8Passes) {
          std::snprintf(num, sizeof(num), ", \"int8_dot\": %lld",
                        (long long)row.int8Passes);
          out += num;
        }
        if (row.bf16Dot)
          out += ", \"bf16_dot\": 1";
      }
      out += "}";
    }
    out += "],\n     \"kernels\": [";
    first = true;
    for (size_t k = 0; k < phase.kernels.size(); ++k) {
      const Counters &c = phase.kernels[k];
      if (!c.calls)
        continue;
      out += first ? "\n" : ",\n";
      first = false;
      out += "       {\"name\": " + jsonString(p.kernelNames[k]) +
             ", \"module\": " + jsonString(p.groupNames[p.groupOf[k]]);
      std::snprintf(num, sizeof(num), ", \"calls\": %llu, \"ns\": %llu}",
                    (unsigned long long)c.calls, (unsigned long long)c.ns);
      out += num;
    }
    out += "]}";
  }
  return out + "\n  ]\n}\n";
}
