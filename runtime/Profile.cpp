//===- Profile.cpp - Kernel timers of a model executable's --profile ------===//

#include "runtime/Profile.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

// Emitted by llm-time-kernels into the model object; absent (null) in
// executables without kernel marks.
extern "C" {
extern const char llmc_kernel_names[] __attribute__((weak));
extern const int64_t llmc_kernel_count __attribute__((weak));
}

using namespace llmc;

namespace {

uint64_t nowNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

/// What one phase (decode or prefill) spent.
struct Phase {
  const char *name;
  std::vector<uint64_t> ns, calls;
  uint64_t forwardNs = 0, forwardCalls = 0, tokens = 0;
};

struct Profiler {
  std::atomic<bool> enabled{false};
  std::vector<std::string> names;
  Phase phases[2] = {{"decode", {}, {}}, {"prefill", {}, {}}};
  // Worker 0's open kernel; touched only by worker 0 during a forward call
  // and by the calling thread between calls (the pool's hand-off orders
  // them).
  Phase *current = nullptr;
  int64_t open = -1;
  uint64_t openedNs = 0, forwardStartNs = 0;

  void close(uint64_t now) {
    if (open >= 0 && current) {
      current->ns[size_t(open)] += now - openedNs;
      current->calls[size_t(open)] += 1;
    }
    open = -1;
  }
};

Profiler &profiler() {
  static Profiler p;
  return p;
}

int64_t kernelCount() {
  if (!&llmc_kernel_count || !llmc_kernel_names)
    return 0;
  return llmc_kernel_count;
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

/// The kernels of `phase` that ran, largest total first.
std::vector<size_t> byTime(const Phase &phase) {
  std::vector<size_t> order;
  for (size_t i = 0; i < phase.ns.size(); ++i)
    if (phase.calls[i])
      order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return phase.ns[a] > phase.ns[b];
  });
  return order;
}

uint64_t kernelNs(const Phase &phase) {
  uint64_t sum = 0;
  for (uint64_t ns : phase.ns)
    sum += ns;
  return sum;
}

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
  const char *name = llmc_kernel_names;
  for (int64_t i = 0; i < count; ++i) {
    p.names.emplace_back(name);
    name += std::strlen(name) + 1;
  }
  for (Phase &phase : p.phases) {
    phase.ns.assign(size_t(count), 0);
    phase.calls.assign(size_t(count), 0);
  }
  p.enabled.store(true, std::memory_order_relaxed);
}

void llmc::profileBeginForward(int64_t tokens, bool prefill) {
  Profiler &p = profiler();
  if (!p.enabled.load(std::memory_order_relaxed))
    return;
  p.current = &p.phases[prefill ? 1 : 0];
  p.current->tokens += uint64_t(tokens);
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

std::string llmc::profileTable() {
  Profiler &p = profiler();
  std::string out;
  char line[512];
  for (const Phase &phase : p.phases) {
    if (!phase.forwardCalls)
      continue;
    double total = double(phase.forwardNs);
    std::snprintf(line, sizeof(line),
                  "profile %s: %llu forward calls, %llu tokens, %.3f ms "
                  "(%.3f ms per call)\n",
                  phase.name, (unsigned long long)phase.forwardCalls,
                  (unsigned long long)phase.tokens, total / 1e6,
                  total / 1e6 / double(phase.forwardCalls));
    out += line;
    std::snprintf(line, sizeof(line), "  %10s %10s %7s %12s  %s\n", "calls",
                  "total ms", "share", "us per call", "kernel");
    out += line;
    for (size_t i : byTime(phase)) {
      std::snprintf(line, sizeof(line), "  %10llu %10.3f %6.2f%% %12.2f  %s\n",
                    (unsigned long long)phase.calls[i], double(phase.ns[i]) / 1e6,
                    total > 0 ? 100.0 * double(phase.ns[i]) / total : 0.0,
                    double(phase.ns[i]) / 1e3 / double(phase.calls[i]),
                    p.names[i].c_str());
      out += line;
    }
    uint64_t kernels = kernelNs(phase);
    uint64_t outside = phase.forwardNs > kernels ? phase.forwardNs - kernels : 0;
    std::snprintf(line, sizeof(line), "  %10llu %10.3f %6.2f%% %12.2f  %s\n",
                  (unsigned long long)phase.forwardCalls, double(outside) / 1e6,
                  total > 0 ? 100.0 * double(outside) / total : 0.0,
                  double(outside) / 1e3 / double(phase.forwardCalls),
                  "(outside kernels: before the first kernel, thread start)");
    out += line;
  }
  if (out.empty())
    out = "profile: no forward calls\n";
  return out;
}

std::string llmc::profileJson() {
  Profiler &p = profiler();
  std::string out = "{\n  \"phases\": [";
  bool firstPhase = true;
  char num[64];
  for (const Phase &phase : p.phases) {
    if (!phase.forwardCalls)
      continue;
    out += firstPhase ? "\n" : ",\n";
    firstPhase = false;
    out += "    {\"phase\": \"" + std::string(phase.name) + "\", ";
    std::snprintf(num, sizeof(num), "\"forward_calls\": %llu, ",
                  (unsigned long long)phase.forwardCalls);
    out += num;
    std::snprintf(num, sizeof(num), "\"tokens\": %llu, ",
                  (unsigned long long)phase.tokens);
    out += num;
    std::snprintf(num, sizeof(num), "\"forward_ns\": %llu, ",
                  (unsigned long long)phase.forwardNs);
    out += num;
    std::snprintf(num, sizeof(num), "\"kernels_ns\": %llu,\n",
                  (unsigned long long)kernelNs(phase));
    out += num;
    out += "     \"kernels\": [";
    bool first = true;
    for (size_t i : byTime(phase)) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "       {\"name\": " + jsonString(p.names[i]);
      std::snprintf(num, sizeof(num), ", \"calls\": %llu",
                    (unsigned long long)phase.calls[i]);
      out += num;
      std::snprintf(num, sizeof(num), ", \"ns\": %llu}",
                    (unsigned long long)phase.ns[i]);
      out += num;
    }
    out += "]}";
  }
  return out + "\n  ]\n}\n";
}
