//===- Chat.cpp - Interactive conversation over the KV cache --------------===//

#include "runtime/Chat.h"

#include "runtime/ChatTemplate.h"
#include "runtime/LineEditor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <unistd.h>

using namespace llmc;

std::string Utf8Stream::push(const std::string &bytes) {
  pending += bytes;
  // Look for the lead byte of the last character among the final 4 bytes;
  // hold it back with its continuation bytes when some are still missing.
  size_t n = pending.size();
  for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
    unsigned char c = static_cast<unsigned char>(pending[n - back]);
    if ((c & 0xC0) == 0x80)
      continue; // a continuation byte
    size_t length = (c & 0xE0) == 0xC0   ? 2
                    : (c & 0xF0) == 0xE0 ? 3
                    : (c & 0xF8) == 0xF0 ? 4
                                         : 1;
    if (back < length) {
      std::string ready = pending.substr(0, n - back);
      pending.erase(0, n - back);
      return ready;
    }
    break;
  }
  std::string ready;
  ready.swap(pending);
  return ready;
}

std::string Utf8Stream::flush() {
  std::string rest;
  rest.swap(pending);
  return rest;
}

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

/// Reads one line without its line break; false at the end of the input.
bool readLine(FILE *in, std::string &line) {
  char *buf = nullptr;
  size_t size = 0;
  ssize_t n = getline(&buf, &size, in);
  if (n < 0) {
    std::free(buf);
    return false;
  }
  line.assign(buf, size_t(n));
  std::free(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.pop_back();
  return true;
}

void write(FILE *file, const std::string &text) {
  std::fwrite(text.data(), 1, text.size(), file);
  std::fflush(file);
}

} // namespace

std::vector<int64_t>
llmc::encodeChatMessages(const Tokenizer &tokenizer,
                         const std::vector<ChatMessage> &messages) {
  std::vector<Tokenizer::Part> parts;
  for (const ChatMessage &message : messages)
    for (const ChatTextPart &part : chatMessageParts(message))
      parts.push_back({part.text, part.isTemplate});
  parts.push_back({chatGenerationPrompt(), true});
  return tokenizer.encode(parts);
}

bool llmc::runChat(Session &session, const Tokenizer &tokenizer,
                   Sampler &sampler, const ChatConfig &config, FILE *in,
                   FILE *out, FILE *err, std::string &error) {
  for (const char *special :
       {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}) {
    if (tokenizer.tokenId(special) < 0) {
      error = std::string("the tokenizer has no ") + special +
              " token, so --chat (which uses the Llama 3 chat template) is "
              "unavailable";
      return false;
    }
  }
  int64_t eot = tokenizer.tokenId("<|eot_id|>");

  // Tokens of the conversation that were sampled but are not in the cache
  // yet: the last token of a reply cut by the limit is never fed back.
  std::vector<int64_t> unfed;
  bool fresh = true;
  int64_t turn = 0;
  std::string line;
  auto interrupted = [&] {
    return config.interrupt && config.interrupt->load();
  };
  LineEditor editor;
  std::optional<RawTerminal> terminal;
  if (config.lineEditing)
    terminal.emplace(fileno(in));
  if (!config.banner.empty())
    write(err, config.banner);
  bool first = !config.firstMessage.empty();
  while (true) {
    if (first) {
      // --prompt: the first message, as if typed.
      line = config.firstMessage;
      first = false;
      if (config.showPrompt)
        write(err, "> " + line + "\n");
    } else if (config.lineEditing) {
      if (interrupted() || !readEditedLine(fileno(in), fileno(err), editor,
                                           "> ", config.interrupt, line))
        break;
    } else {
      if (config.showPrompt)
        write(err, "> ");
      // Ctrl-C at the prompt (it also cuts the blocking read short) or EOF.
      if (interrupted() || !readLine(in, line) || interrupted())
        break;
    }
    if (trimWhitespace(line).empty())
      continue;
    ++turn;
    ChatMessage user{"user", line};

    // A fresh context starts with BOS and the system message; a later turn
    // first closes the previous reply, whose text is already cached.
    auto turnTokens = [&](bool startContext) {
      std::vector<int64_t> ids;
      std::vector<ChatMessage> messages;
      if (startContext) {
        if (config.bosToken >= 0)
          ids.push_back(config.bosToken);
        if (!config.system.empty())
          messages.push_back(ChatMessage{"system", config.system});
      } else {
        ids = unfed;
        ids.push_back(eot);
      }
      messages.push_back(user);
      std::vector<int64_t> encoded = encodeChatMessages(tokenizer, messages);
      ids.insert(ids.end(), encoded.begin(), encoded.end());
      return ids;
    };
    std::vector<int64_t> prompt = turnTokens(fresh);
    if (!fresh && !session.checkRoom(int64_t(prompt.size())).empty()) {
      std::fprintf(err,
                   "[context full: %lld of %lld positions used; starting a "
                   "new conversation with this message%s]\n",
                   static_cast<long long>(session.position()),
                   static_cast<long long>(session.capacity()),
                   config.system.empty() ? "" : " and the system prompt");
      session.reset();
      fresh = true;
      unfed.clear();
      prompt = turnTokens(true);
    }
    if (!session.checkRoom(int64_t(prompt.size())).empty()) {
      std::fprintf(err,
                   "[this message needs %lld positions, more than the %lld "
                   "of the context (--ctx); it is skipped]\n",
                   static_cast<long long>(prompt.size()),
                   static_cast<long long>(session.capacity()));
      continue;
    }
    error = session.checkTokenIds(prompt);
    if (!error.empty())
      return false;

    if (config.verbosePrompt)
      write(err, "turn " + std::to_string(turn) +
                     " prompt: " + std::to_string(prompt.size()) + " tokens\n" +
                     tokenizer.describeTokens(prompt));
    auto start = std::chrono::steady_clock::now();
    int64_t before = session.position();
    if (!session.prefill(prompt, LogitsSink(), error)) {
      if (!interrupted())
        return false;
      // Ctrl-C before the reply began: the message is dropped.
      session.rewind(before);
      config.interrupt->store(false);
      error.clear();
      write(err, "[interrupted; the message was not sent]\n");
      continue;
    }
    double prefillSeconds = secondsSince(start);
    for (int64_t id : prompt)
      sampler.accept(id);

    // The last sampled token is not fed back, so one more than the room.
    int64_t room = session.capacity() - session.position() + 1;
    int64_t count = config.maxReplyTokens >= 0
                        ? std::min(config.maxReplyTokens, room)
                        : room;
    Utf8Stream stream;
    int64_t passed = 0, last = -1, generated = 0;
    TokenSink onToken = [&](int64_t token) {
      write(out, stream.push(tokenizer.decodeToken(token)));
      last = token;
      ++passed;
      return true;
    };
    start = std::chrono::steady_clock::now();
    bool ok = session.generate(count, sampler, config.stopTokens, onToken,
                               generated, error);
    double decodeSeconds = secondsSince(start);
    write(out, stream.flush() + "\n");
    if (!ok)
      return false;
    // Ctrl-C ended the reply where it was, as -n would have.
    if (interrupted()) {
      config.interrupt->store(false);
      write(err, "[interrupted]\n");
    }
    bool stopped = generated > passed;
    unfed.clear();
    if (!stopped && passed > 0)
      unfed.push_back(last);
    fresh = false;

    if (!config.quiet)
      std::fprintf(err,
                   "turn %lld: prefill %lld tokens in %.3f s (%.2f tok/s), "
                   "decode %lld tokens in %.3f s (%.2f tok/s), context "
                   "%lld/%lld\n",
                   static_cast<long long>(turn),
                   static_cast<long long>(prompt.size()), prefillSeconds,
                   prefillSeconds > 0 ? double(prompt.size()) / prefillSeconds
                                      : 0.0,
                   static_cast<long long>(generated), decodeSeconds,
                   decodeSeconds > 0 ? double(generated) / decodeSeconds : 0.0,
                   static_cast<long long>(session.position()),
                   static_cast<long long>(session.capacity()));
    if (!stopped && generated == room) {
      std::fprintf(err,
                   "[context full: the reply filled all %lld positions; the "
                   "next message starts a new conversation%s]\n",
                   static_cast<long long>(session.capacity()),
                   config.system.empty() ? "" : " (the system prompt is kept)");
      session.reset();
      fresh = true;
      unfed.clear();
    }
  }
  if (config.showPrompt && !config.lineEditing)
    write(err, "\n");
  return true;
}
