//===- ChatTemplateTool.cpp - Prints the runtime's chat rendering ---------===//
//
//   llmc-test-chat-template MESSAGES.json [--tokenizer TOKENIZER.json]
//
// MESSAGES.json is an array of {"role": ..., "content": ...}. Prints the
// conversation rendered by runtime/ChatTemplate.h with the generation prompt,
// or, with --tokenizer, its token ids comma separated.
//
//===----------------------------------------------------------------------===//

#include "frontend/TokenizerJson.h"
#include "runtime/ChatTemplate.h"
#include "runtime/Tokenizer.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace llmc;

static int fail(const llvm::Twine &message) {
  llvm::errs() << "llmc-test-chat-template: " << message << "\n";
  return 1;
}

/// Reads MESSAGES.json: an array of {"role": ..., "content": ...}.
static llvm::Expected<std::vector<ChatMessage>>
readMessages(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "cannot read " + path);
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return json.takeError();
  const llvm::json::Array *items = json->getAsArray();
  if (!items)
    return llvm::createStringError("expected an array of messages");
  std::vector<ChatMessage> messages;
  for (const llvm::json::Value &item : *items) {
    const llvm::json::Object *object = item.getAsObject();
    std::optional<llvm::StringRef> role, content;
    if (object) {
      role = object->getString("role");
      content = object->getString("content");
    }
    if (!role || !content)
      return llvm::createStringError(
          "each message needs string 'role' and 'content'");
    messages.push_back(ChatMessage{role->str(), content->str()});
  }
  return messages;
}

int main(int argc, char **argv) {
  if (!(argc == 2 || (argc == 4 && std::strcmp(argv[2], "--tokenizer") == 0)))
    return fail("usage: llmc-test-chat-template MESSAGES.json "
                "[--tokenizer TOKENIZER.json]");
  llvm::Expected<std::vector<ChatMessage>> messages = readMessages(argv[1]);
  if (!messages)
    return fail(llvm::toString(messages.takeError()));
  std::string rendered = renderChat(*messages, /*addGenerationPrompt=*/true);
  if (argc == 2) {
    std::fwrite(rendered.data(), 1, rendered.size(), stdout);
    return 0;
  }
  // The tokenizer as an executable has it: compiled by llmc, then loaded.
  llvm::Expected<std::string> image = compileTokenizerJsonFile(argv[3]);
  if (!image)
    return fail(llvm::toString(image.takeError()));
  Tokenizer tokenizer;
  std::string error;
  if (!tokenizer.loadImage(*image, error))
    return fail(error);
  std::vector<int64_t> ids = tokenizer.encode(rendered);
  for (size_t i = 0; i < ids.size(); ++i)
    std::printf(i ? ",%lld" : "%lld", static_cast<long long>(ids[i]));
  std::printf("\n");
  return 0;
}
