//===- ChatTemplate.h - The Llama 3 chat template -------------------------===//
//
// Renders a conversation the way the chat_template of Llama 3's
// tokenizer_config.json does, without a Jinja engine:
//
//   <|begin_of_text|>
//   <|start_header_id|>{role}<|end_header_id|>\n\n{content | trim}<|eot_id|>
//   ... (one such block per message)
//   <|start_header_id|>assistant<|end_header_id|>\n\n   (generation prompt)
//
// tests/runtime/chat-template.test checks it against the real template.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CHATTEMPLATE_H
#define LLMC_RUNTIME_CHATTEMPLATE_H

#include <string>
#include <vector>

namespace llmc {

/// One message of a conversation: role "system", "user" or "assistant".
struct ChatMessage {
  std::string role;
  std::string content;
};

/// Removes leading and trailing whitespace, as Jinja's `trim` does for
/// ASCII whitespace.
std::string trimWhitespace(const std::string &text);

/// One message: its header, its trimmed content and <|eot_id|>.
std::string renderChatMessage(const ChatMessage &message);

/// The header that asks the model for the assistant's reply.
std::string chatGenerationPrompt();

/// renderChatMessage() as the template's text and the message's content,
/// in order: the content is what a user typed, never template structure.
struct ChatTextPart {
  std::string text;
  bool isTemplate;
};
std::vector<ChatTextPart> chatMessageParts(const ChatMessage &message);

/// The whole conversation: <|begin_of_text|> (when `withBos` and there are
/// messages), every message, and the generation prompt when `addGenerationPrompt`.
std::string renderChat(const std::vector<ChatMessage> &messages,
                       bool addGenerationPrompt, bool withBos = true);

} // namespace llmc

#endif // LLMC_RUNTIME_CHATTEMPLATE_H
