//===- ChatTemplateTool.cpp - Prints the runtime's chat rendering ---------===//
//
//   llmc-test-chat-template MESSAGES.json [--tokenizer TOKENIZER.json]
//
// MESSAGES.json is an array of {"role": ..., "content": ...}. Prints the
// conversation rendered by runtime/ChatTemplate.h with the generation prompt,
// or, with --tokenizer, its token ids comma separated.
//
//===----------------------------------------------------------------------===//

#include "runtime/ChatTemplate.h"
#include "runtime/Json.h"
#include "runtime/Tokenizer.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace llmc;

static bool readFile(const char *path, std::string &text) {
  FILE *f = std::fopen(path, "rb");
  if (!f)
    return false;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  std::fclose(f);
  return true;
}

static int fail(const std::string &message) {
  std::fprintf(stderr, "llmc-test-chat-template: %s\n", message.c_str());
  return 1;
}

int main(int argc, char **argv) {
  if (!(argc == 2 || (argc == 4 && std::strcmp(argv[2], "--tokenizer") == 0)))
    return fail("usage: llmc-test-chat-template MESSAGES.json "
                "[--tokenizer TOKENIZER.json]");
  std::string text, error;
  JsonValue json;
  if (!readFile(argv[1], text))
    return fail(std::string("cannot read ") + argv[1]);
  if (!parseJson(text, json, error))
    return fail(error);
  if (!json.isArray())
    return fail("expected an array of messages");
  std::vector<ChatMessage> messages;
  for (const JsonValue &item : json.items) {
    const JsonValue *role = item.get("role");
    const JsonValue *content = item.get("content");
    if (!role || !role->isString() || !content || !content->isString())
      return fail("each message needs string 'role' and 'content'");
    messages.push_back(ChatMessage{role->str, content->str});
  }
  std::string rendered = renderChat(messages, /*addGenerationPrompt=*/true);
  if (argc == 2) {
    std::fwrite(rendered.data(), 1, rendered.size(), stdout);
    return 0;
  }
  std::string tokenizerJson;
  Tokenizer tokenizer;
  if (!readFile(argv[3], tokenizerJson))
    return fail(std::string("cannot read ") + argv[3]);
  if (!tokenizer.load(tokenizerJson, error))
    return fail(error);
  std::vector<int64_t> ids = tokenizer.encode(rendered);
  for (size_t i = 0; i < ids.size(); ++i)
    std::printf(i ? ",%lld" : "%lld", static_cast<long long>(ids[i]));
  std::printf("\n");
  return 0;
}
