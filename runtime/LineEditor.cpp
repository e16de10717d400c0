//===- LineEditor.cpp - Line editing and history for --chat in a terminal -===//

#include "runtime/LineEditor.h"

#include <cerrno>
#include <csignal>
#include <iterator>
#include <memory>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

using namespace llmc;

namespace {

bool isContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

/// The columns `text` takes, one per UTF-8 character.
size_t columns(const std::string &text, size_t begin) {
  size_t count = 0;
  for (size_t i = begin; i < text.size(); ++i)
    count += !isContinuation(text[i]);
  return count;
}

bool isSpace(char c) { return c == ' ' || c == '\t'; }

} // namespace

void LineEditor::start(const std::string &newPrompt) {
  prompt = newPrompt;
  text.clear();
  at = 0;
  escape.clear();
  shown = entries.size();
  draft.clear();
  output += prompt;
}

std::string LineEditor::takeOutput() {
  std::string taken;
  taken.swap(output);
  return taken;
}

void LineEditor::redraw() {
  output += "\r" + prompt + text + "\x1b[K";
  if (size_t back = columns(text, at))
    output += "\x1b[" + std::to_string(back) + "D";
}

void LineEditor::insert(const std::string &bytes) {
  text.insert(at, bytes);
  at += bytes.size();
  if (at == text.size())
    output += bytes; // typing at the end: no need to draw the rest
  else
    redraw();
}

void LineEditor::erase(size_t begin, size_t end) {
  if (begin >= end)
    return;
  text.erase(begin, end - begin);
  at = begin;
  redraw();
}

size_t LineEditor::previousChar(size_t offset) const {
  while (offset > 0 && isContinuation(text[--offset])) {
  }
  return offset;
}

size_t LineEditor::nextChar(size_t offset) const {
  if (offset >= text.size())
    return text.size();
  ++offset;
  while (offset < text.size() && isContinuation(text[offset]))
    ++offset;
  return offset;
}

size_t LineEditor::previousWord(size_t offset) const {
  while (offset > 0 && isSpace(text[offset - 1]))
    --offset;
  while (offset > 0 && !isSpace(text[offset - 1]))
    --offset;
  return offset;
}

size_t LineEditor::nextWord(size_t offset) const {
  while (offset < text.size() && isSpace(text[offset]))
    ++offset;
  while (offset < text.size() && !isSpace(text[offset]))
    ++offset;
  return offset;
}

void LineEditor::recall(size_t entry) {
  if (entry > entries.size() || entry == shown)
    return;
  if (shown == entries.size())
    draft = text;
  shown = entry;
  text = entry == entries.size() ? draft : entries[entry];
  at = text.size();
  redraw();
}

bool LineEditor::interrupt() {
  escape.clear();
  if (text.empty())
    return false;
  output += "^C\n";
  start(prompt);
  return true;
}

LineEditor::Status LineEditor::key(const std::string &seq) {
  auto is = [&](std::initializer_list<const char *> names) {
    for (const char *name : names)
      if (seq == name)
        return true;
    return false;
  };
  size_t from = at;
  if (is({"\x1b[A", "\x1bOA", "\x10"})) {
    if (shown > 0)
      recall(shown - 1);
    return Status::Editing;
  } else if (is({"\x1b[B", "\x1bOB", "\x0e"})) {
    recall(shown + 1);
    return Status::Editing;
  } else if (is({"\x1b[C", "\x1bOC", "\x06"})) {
    at = nextChar(at);
  } else if (is({"\x1b[D", "\x1bOD", "\x02"})) {
    at = previousChar(at);
  } else if (is({"\x1b[H", "\x1bOH", "\x1b[1~", "\x1b[7~", "\x01"})) {
    at = 0;
  } else if (is({"\x1b[F", "\x1bOF", "\x1b[4~", "\x1b[8~", "\x05"})) {
    at = text.size();
  } else if (is({"\x1b[1;5C", "\x1b[1;3C",
                 "\x1b"
                 "f"})) {
    at = nextWord(at);
  } else if (is({"\x1b[1;5D", "\x1b[1;3D",
                 "\x1b"
                 "b"})) {
    at = previousWord(at);
  } else if (is({"\x1b[3~"})) {
    erase(at, nextChar(at));
    return Status::Editing;
  } else if (is({"\x7f", "\x08"})) {
    erase(previousChar(at), at);
    return Status::Editing;
  } else if (is({"\x17", "\x1b\x7f"})) {
    erase(previousWord(at), at);
    return Status::Editing;
  } else if (is({"\x0b"})) {
    erase(at, text.size());
    return Status::Editing;
  } else if (is({"\x15"})) {
    erase(0, at);
    return Status::Editing;
  } else if (is({"\x0c"})) {
    output += "\x1b[H\x1b[2J";
    redraw();
    return Status::Editing;
  } else if (is({"\x04"})) {
    if (text.empty())
      return Status::EndOfInput;
    erase(at, nextChar(at));
    return Status::Editing;
  } else if (is({"\r", "\n"})) {
    output += "\n";
    if (text.find_first_not_of(" \t") != std::string::npos &&
        (entries.empty() || entries.back() != text))
      entries.push_back(text);
    shown = entries.size();
    return Status::Done;
  } else if (seq.size() == 1 &&
             (static_cast<unsigned char>(seq[0]) >= 0x20 || seq[0] == '\t')) {
    insert(seq);
    return Status::Editing;
  }
  // Other control keys and escape sequences (bracketed paste marks,
  // function keys) are ignored.
  if (at != from)
    redraw();
  return Status::Editing;
}

LineEditor::Status LineEditor::feed(char byte) {
  if (escape.empty()) {
    if (byte == '\x1b') {
      escape.assign(1, byte);
      return Status::Editing;
    }
    return key(std::string(1, byte));
  }
  escape += byte;
  // ESC then one byte: Alt-<key>, unless it opens a CSI ("[") or SS3 ("O")
  // sequence; CSI ends with a byte in 0x40-0x7e, SS3 after one more byte.
  bool complete;
  if (escape.size() == 2)
    complete = byte != '[' && byte != 'O';
  else if (escape[1] == 'O')
    complete = true;
  else
    complete = byte >= 0x40 && byte <= 0x7e;
  // A runaway sequence is dropped rather than swallowing the input.
  if (!complete && escape.size() < 16)
    return Status::Editing;
  std::string seq;
  seq.swap(escape);
  return key(seq);
}

bool llmc::readEditedLine(int fd, int echoFd, LineEditor &editor,
                          const std::string &prompt,
                          std::atomic<bool> *interrupt, std::string &line) {
  auto flush = [&] {
    std::string out = editor.takeOutput();
    for (size_t done = 0; done < out.size();) {
      ssize_t n = write(echoFd, out.data() + done, out.size() - done);
      if (n <= 0 && errno != EINTR)
        break;
      done += n > 0 ? size_t(n) : 0;
    }
  };
  editor.start(prompt);
  flush();
  bool gotLine = false;
  // Bytes typed (or pasted) after an Enter wait for the next line.
  std::string &pending = editor.typeahead;
  while (true) {
    if (pending.empty()) {
      if (interrupt && interrupt->load()) {
        // Ctrl-C: clears a line with text; on an empty one, ends the input.
        bool cleared = editor.interrupt();
        flush();
        if (!cleared)
          break;
        interrupt->store(false);
        continue;
      }
      // Waits in slices, so a SIGINT that lands just before the wait is
      // seen too (one that lands during it cuts it short).
      pollfd ready = {fd, POLLIN, 0};
      int polled = poll(&ready, 1, 100);
      if (polled == 0 || (polled < 0 && errno == EINTR))
        continue;
      char buf[256];
      ssize_t n = polled > 0 ? read(fd, buf, sizeof(buf)) : -1;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      pending.assign(buf, size_t(n));
    }
    LineEditor::Status status = LineEditor::Status::Editing;
    size_t used = 0;
    while (used < pending.size() && status == LineEditor::Status::Editing)
      status = editor.feed(pending[used++]);
    pending.erase(0, used);
    flush();
    if (status == LineEditor::Status::Done) {
      line = editor.line();
      gotLine = true;
      break;
    }
    if (status == LineEditor::Status::EndOfInput)
      break;
  }
  if (!gotLine) {
    std::string newline = "\n";
    (void)!write(echoFd, newline.data(), newline.size());
  }
  return gotLine;
}

namespace {
/// The terminal to give its mode back when a signal ends the process in
/// the middle of a chat (kill, a closed terminal, Ctrl-\).
int restoreFd = -1;
struct termios restoreMode;
constexpr int kFatalSignals[] = {SIGTERM, SIGHUP, SIGQUIT};
struct sigaction previousActions[std::size(kFatalSignals)];

extern "C" void restoreTerminalAndDie(int signal) {
  if (restoreFd >= 0)
    tcsetattr(restoreFd, TCSANOW, &restoreMode);
  // Then as if the handler had not been there.
  for (size_t i = 0; i < std::size(kFatalSignals); ++i)
    if (kFatalSignals[i] == signal)
      sigaction(signal, &previousActions[i], nullptr);
  raise(signal);
}
} // namespace

RawTerminal::RawTerminal(int fd) : fd(fd) {
  struct termios mode;
  if (tcgetattr(fd, &mode) != 0)
    return;
  saved.reset(new termios(mode));
  // Keys one by one without echo; Ctrl-C still raises SIGINT, and output
  // is processed as before (a line break still returns the carriage).
  mode.c_lflag &= ~tcflag_t(ICANON | ECHO | IEXTEN);
  mode.c_cc[VMIN] = 1;
  mode.c_cc[VTIME] = 0;
  restoreMode = *saved;
  restoreFd = fd;
  struct sigaction action = {};
  action.sa_handler = restoreTerminalAndDie;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < std::size(kFatalSignals); ++i)
    sigaction(kFatalSignals[i], &action, &previousActions[i]);
  if (tcsetattr(fd, TCSANOW, &mode) != 0)
    saved.reset();
}

RawTerminal::~RawTerminal() {
  if (saved)
    tcsetattr(fd, TCSANOW, saved.get());
  if (restoreFd == fd) {
    for (size_t i = 0; i < std::size(kFatalSignals); ++i)
      sigaction(kFatalSignals[i], &previousActions[i], nullptr);
    restoreFd = -1;
  }
}
