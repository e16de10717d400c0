//===- LineEditor.h - Line editing and history for --chat in a terminal ---===//
//
// What `--chat` reads messages with when stdin and stderr are a terminal:
// the cursor keys, Home/End, Backspace/Delete, history (up/down), and the
// usual Emacs keys (Ctrl-A/E/B/F/K/U/W/L, Alt-B/F). The editor is a state
// machine fed one byte at a time that appends what the terminal must show to
// a string, so it is tested without a terminal; readEditedLine() puts the
// terminal in non-canonical mode around it.
//
// The cursor moves by UTF-8 characters and assumes each takes one column.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_LINEEDITOR_H
#define LLMC_RUNTIME_LINEEDITOR_H

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

struct termios;

namespace llmc {

class LineEditor {
public:
  /// What a byte did to the line being edited.
  enum class Status {
    /// Still editing.
    Editing,
    /// Enter: line() is the finished line (added to the history when not
    /// blank).
    Done,
    /// Ctrl-D on an empty line.
    EndOfInput,
  };

  /// Starts a new line after `prompt` (shown on the terminal).
  void start(const std::string &prompt);
  /// Processes one byte of input.
  Status feed(char byte);
  /// Ctrl-C while editing: clears a line with text in it (true), or says
  /// that it was empty (false).
  bool interrupt();
  /// The line as edited so far.
  const std::string &line() const { return text; }
  /// The byte offset of the cursor in line().
  size_t cursor() const { return at; }
  /// Returns and forgets what the terminal must show.
  std::string takeOutput();
  const std::vector<std::string> &history() const { return entries; }

  /// Input read from the terminal but not fed yet (what came after an
  /// Enter in the same read: a pasted block of lines).
  std::string typeahead;

private:
  void insert(const std::string &bytes);
  void erase(size_t begin, size_t end);
  size_t previousChar(size_t offset) const;
  size_t nextChar(size_t offset) const;
  size_t previousWord(size_t offset) const;
  size_t nextWord(size_t offset) const;
  void recall(size_t entry);
  /// Draws the prompt and the line again, cursor in place.
  void redraw();
  Status key(const std::string &sequence);

  std::string prompt, text, output;
  size_t at = 0;
  /// An escape sequence being read ("\x1b[1;5" so far).
  std::string escape;
  std::vector<std::string> entries;
  /// The history entry shown (entries.size(): the line being typed, kept
  /// in `draft`).
  size_t shown = 0;
  std::string draft;
};

/// The terminal `fd` in non-canonical mode without echo, from construction
/// to destruction: keys arrive one by one, and those typed while a reply
/// streams are not echoed into it (the editor shows them at the next
/// prompt). Does nothing when `fd` is not a terminal.
class RawTerminal {
public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal &) = delete;
  RawTerminal &operator=(const RawTerminal &) = delete;

private:
  int fd;
  std::unique_ptr<struct termios> saved;
};

/// Reads one line from the terminal `fd` (in a RawTerminal) with `editor`,
/// echoing to the terminal `echoFd`. Returns false at Ctrl-D on an empty line,
/// at the end of input, or when `interrupt` (set by Ctrl-C's SIGINT handler) is
/// set while the line is empty; Ctrl-C on a line with text clears it and resets
/// `interrupt`.
bool readEditedLine(int fd, int echoFd, LineEditor &editor,
                    const std::string &prompt, std::atomic<bool> *interrupt,
                    std::string &line);

} // namespace llmc

#endif // LLMC_RUNTIME_LINEEDITOR_H
