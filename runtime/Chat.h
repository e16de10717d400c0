//===- Chat.h - Interactive conversation over the KV cache ----------------===//
//
// `--chat`: user turns are read line by line, rendered with the Llama 3 chat
// template (ChatTemplate.h) and prefilled on top of the cached conversation,
// so each turn runs only its own tokens through the model. Replies stream
// token by token until <|eot_id|>, <|end_of_text|>, the per-turn limit or a
// full context. A full context is announced on stderr and the conversation
// starts over in a fresh context that keeps the system prompt.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CHAT_H
#define LLMC_RUNTIME_CHAT_H

#include "runtime/ChatTemplate.h"
#include "runtime/Sampler.h"
#include "runtime/Session.h"
#include "runtime/Tokenizer.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace llmc {

/// Holds back the bytes of a UTF-8 character split across tokens, so that
/// only whole characters are written to a terminal.
class Utf8Stream {
public:
  /// Appends `bytes`; returns what ends on a character boundary.
  std::string push(const std::string &bytes);
  /// Returns and forgets the bytes held back (an incomplete character).
  std::string flush();

private:
  std::string pending;
};

/// What `--chat` was asked for.
struct ChatConfig {
  /// The system message; empty for none.
  std::string system;
  /// Most tokens per reply (-n); -1 means until a stop token or a full
  /// context.
  int64_t maxReplyTokens = -1;
  /// Tokens that end a reply (EOS and <|eot_id|>; none with --ignore-eos).
  std::vector<int64_t> stopTokens;
  /// The BOS id to start a context with, or -1.
  int64_t bosToken = -1;
  /// Print "> " on `err` before reading each turn.
  bool showPrompt = false;
  /// Read the turns with the line editor (LineEditor.h): `in` and `err`
  /// are a terminal.
  bool lineEditing = false;
  /// The first user message (--prompt), sent before reading `in`; empty
  /// for none.
  std::string firstMessage;
  /// Printed on `err` before the first turn (how to end the chat); empty
  /// for none.
  std::string banner;
  /// No per-turn statistics on `err`.
  bool quiet = false;
  /// --verbose-prompt: each turn's tokens on `err` before it runs.
  bool verbosePrompt = false;
  /// Ctrl-C (runtime/Interrupt.h), also the session's stop flag: set during
  /// a reply it ends the reply and the chat goes on; set while waiting for
  /// the next message it ends the chat. Null: not interruptible.
  std::atomic<bool> *interrupt = nullptr;
};

/// The tokens of `messages` rendered with the chat template, followed by the
/// assistant's header. Message contents are what people typed: special-token
/// spellings in them are plain text, so a message cannot forge a turn.
std::vector<int64_t>
encodeChatMessages(const Tokenizer &tokenizer,
                   const std::vector<ChatMessage> &messages);

/// Runs the conversation until `in` ends. Replies go to `out`; the prompt,
/// the per-turn statistics ("turn N: prefill ... context P/C", P being the
/// positions cached) and context notices go to `err`. Returns false with `error` when the conversation
/// cannot go on (no chat tokens in the tokenizer, a failing forward call).
bool runChat(Session &session, const Tokenizer &tokenizer, Sampler &sampler,
             const ChatConfig &config, FILE *in, FILE *out, FILE *err,
             std::string &error);

} // namespace llmc

#endif // LLMC_RUNTIME_CHAT_H
