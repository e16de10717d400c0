//===- ChatTemplate.cpp - The Llama 3 chat template -----------------------===//

#include "runtime/ChatTemplate.h"

using namespace llmc;

std::string llmc::trimWhitespace(const std::string &text) {
  const char *space = " \t\n\v\f\r";
  size_t first = text.find_first_not_of(space);
  if (first == std::string::npos)
    return std::string();
  size_t last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

std::vector<ChatTextPart> llmc::chatMessageParts(const ChatMessage &message) {
  return {
      {"<|start_header_id|>" + message.role + "<|end_header_id|>\n\n", true},
      {trimWhitespace(message.content), false},
      {"<|eot_id|>", true}};
}

std::string llmc::renderChatMessage(const ChatMessage &message) {
  std::string text;
  for (const ChatTextPart &part : chatMessageParts(message))
    text += part.text;
  return text;
}

std::string llmc::chatGenerationPrompt() {
  return "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

std::string llmc::renderChat(const std::vector<ChatMessage> &messages,
                             bool addGenerationPrompt, bool withBos) {
  // The template puts BOS before the first message, so not before an empty
  // conversation.
  std::string text = withBos && !messages.empty() ? "<|begin_of_text|>" : "";
  for (const ChatMessage &message : messages)
    text += renderChatMessage(message);
  if (addGenerationPrompt)
    text += chatGenerationPrompt();
  return text;
}
