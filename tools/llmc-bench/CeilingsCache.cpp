//===- CeilingsCache.cpp - The per-machine cache of measured ceilings -----===//
//
// $XDG_CACHE_HOME (or ~/.cache)/llmc/ceilings.json: one entry per machine
// (the CPU's name, its model string, the thread count) with the best rates
// llmc-bench measured there.
//
//===----------------------------------------------------------------------===//

#include "Ceilings.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>

using namespace llvm;
using namespace llmc::bench;

namespace {

/// "znver5 / AMD EPYC 9R45 / 2 threads": what the cache is keyed by (the
/// executables' --profile reads the same key, runtime/Profile.cpp).
std::string machineKey(unsigned threads) {
  std::string model;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (StringRef(line).starts_with("model name")) {
      model = StringRef(line).split(':').second.trim().str();
      break;
    }
  return (sys::getHostCPUName() + " / " + model + " / " + Twine(threads) +
          " threads")
      .str();
}

std::string cachePath() {
  SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    path = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    sys::path::append(path, home, ".cache");
  else
    return "";
  sys::path::append(path, "llmc", "ceilings.json");
  return std::string(path);
}

json::Object readCache(StringRef path) {
  if (path.empty())
    return {};
  auto buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    return {};
  Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
  if (!parsed) {
    consumeError(parsed.takeError());
    return {};
  }
  json::Object *object = parsed->getAsObject();
  return object ? std::move(*object) : json::Object();
}

void writeCache(StringRef path, json::Object cache) {
  if (path.empty())
    return;
  sys::fs::create_directories(sys::path::parent_path(path));
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (!ec)
    os << formatv("{0:2}", json::Value(std::move(cache))) << "\n";
}

} // namespace

std::optional<Ceilings> llmc::bench::readCachedCeilings(unsigned threads) {
  std::string path = cachePath();
  json::Object cache = readCache(path);
  const json::Object *entry = cache.getObject(machineKey(threads));
  if (!entry)
    return std::nullopt;
  auto number = [&](StringRef name) {
    return entry->getNumber(name).value_or(0);
  };
  Ceilings c;
  c.f32Fma = number("f32_fma_gflop_per_s");
  c.bf16Dot = number("bf16_dot_gflop_per_s");
  c.int8Dot = number("int8_dot_gop_per_s");
  c.bandwidth = number("read_bandwidth_gb_per_s");
  c.source = path;
  return c;
}

void llmc::bench::writeCachedCeilings(unsigned threads,
                                      const Ceilings &ceilings) {
  std::string path = cachePath();
  json::Object cache = readCache(path);
  json::Object entry{{"f32_fma_gflop_per_s", ceilings.f32Fma},
                     {"bf16_dot_gflop_per_s", ceilings.bf16Dot},
                     {"int8_dot_gop_per_s", ceilings.int8Dot}};
  if (ceilings.bandwidth > 0)
    entry["read_bandwidth_gb_per_s"] = ceilings.bandwidth;
  cache[machineKey(threads)] = std::move(entry);
  writeCache(path, std::move(cache));
}

void llmc::bench::recordBandwidth(unsigned threads, double gbPerSecond) {
  std::optional<Ceilings> cached = readCachedCeilings(threads);
  if (!cached || gbPerSecond <= cached->bandwidth)
    return;
  cached->bandwidth = gbPerSecond;
  writeCachedCeilings(threads, *cached);
}
