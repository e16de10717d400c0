//===- CPUFeatures.cpp - Does this CPU run the code it was compiled for? --===//

#include "runtime/CPUFeatures.h"

#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

using namespace llmc;

namespace {

struct Feature {
  const char *name;
  bool (*present)();
};

#if defined(__x86_64__)
#define LLMC_X86_FEATURE(name)                                                 \
  {                                                                            \
    name, [] { return __builtin_cpu_supports(name) != 0; }                     \
  }
// The vector and bit-manipulation features LLVM may use in generated code.
const Feature kFeatures[] = {
    LLMC_X86_FEATURE("sse4.2"),
    LLMC_X86_FEATURE("avx"),
    LLMC_X86_FEATURE("avx2"),
    LLMC_X86_FEATURE("fma"),
    LLMC_X86_FEATURE("f16c"),
    LLMC_X86_FEATURE("bmi2"),
    LLMC_X86_FEATURE("avx512f"),
    LLMC_X86_FEATURE("avx512bw"),
    LLMC_X86_FEATURE("avx512dq"),
    LLMC_X86_FEATURE("avx512vl"),
    LLMC_X86_FEATURE("avx512cd"),
    LLMC_X86_FEATURE("avx512bf16"),
    LLMC_X86_FEATURE("avx512vnni"),
    LLMC_X86_FEATURE("avx512fp16"),
    LLMC_X86_FEATURE("avx512vbmi"),
    LLMC_X86_FEATURE("avx512vbmi2"),
    LLMC_X86_FEATURE("avx512ifma"),
    LLMC_X86_FEATURE("avx512bitalg"),
    LLMC_X86_FEATURE("avx512vpopcntdq"),
    LLMC_X86_FEATURE("avxvnni"),
    LLMC_X86_FEATURE("gfni"),
    LLMC_X86_FEATURE("vaes"),
    LLMC_X86_FEATURE("vpclmulqdq"),
};
#undef LLMC_X86_FEATURE
#elif defined(__aarch64__)
// Bits of AT_HWCAP / AT_HWCAP2 (linux/arch/arm64/include/uapi/asm/hwcap.h).
bool hwcap(unsigned long bit) { return (getauxval(AT_HWCAP) & bit) != 0; }
bool hwcap2(unsigned long bit) { return (getauxval(AT_HWCAP2) & bit) != 0; }
const Feature kFeatures[] = {
    {"neon", [] { return hwcap(1UL << 1); }},
    {"fullfp16", [] { return hwcap(1UL << 10); }},
    {"dotprod", [] { return hwcap(1UL << 20); }},
    {"sve", [] { return hwcap(1UL << 22); }},
    {"sve2", [] { return hwcap2(1UL << 1); }},
    {"i8mm", [] { return hwcap2(1UL << 13); }},
    {"bf16", [] { return hwcap2(1UL << 14); }},
};
#else
const Feature kFeatures[] = {{"", [] { return true; }}};
#endif

} // namespace

std::optional<bool> llmc::hostHasFeature(const std::string &name) {
  for (const Feature &feature : kFeatures)
    if (name == feature.name)
      return feature.present();
  return std::nullopt;
}

std::vector<std::string> llmc::missingFeatures(
    const std::string &features,
    const std::function<std::optional<bool>(const std::string &)> &has) {
  std::vector<std::string> missing;
  size_t start = 0;
  while (start < features.size()) {
    size_t comma = features.find(',', start);
    if (comma == std::string::npos)
      comma = features.size();
    std::string item = features.substr(start, comma - start);
    start = comma + 1;
    if (item.size() < 2 || item[0] != '+')
      continue;
    std::string name = item.substr(1);
    if (std::optional<bool> present = has(name); present && !*present)
      missing.push_back(name);
  }
  return missing;
}

std::string llmc::checkCompiledCPU(const std::string &cpu,
                                   const std::string &features) {
  std::vector<std::string> missing = missingFeatures(features);
  if (missing.empty())
    return std::string();
  std::string names;
  for (const std::string &name : missing)
    names += (names.empty() ? "" : ", ") + name;
  return "this executable was compiled for CPU '" + cpu + "' and uses " +
         names + ", which this CPU does not have; recompile it with " +
         "`llmc compile ... --mcpu=NAME` for this CPU (--mcpu=native when "
         "compiling on it, or e.g. x86-64-v3 / neoverse-n1 for older ones)";
}
