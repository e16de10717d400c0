//===- FuzzOptions.cpp - The executable's command line on arbitrary args --===//
//
// The input is split at NUL bytes into argv[1..].
//
//===----------------------------------------------------------------------===//

#include "runtime/Options.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string> args = {"model"};
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += char(data[i]);
    }
  }
  args.push_back(current);
  std::vector<const char *> argv;
  for (const std::string &arg : args)
    argv.push_back(arg.c_str());
  llmc::Options options;
  (void)llmc::parseOptions(int(argv.size()), argv.data(), options);
  std::vector<int64_t> tokens;
  (void)llmc::parseTokenList(current, tokens);
  return 0;
}
