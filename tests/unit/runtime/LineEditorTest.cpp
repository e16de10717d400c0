//===- LineEditorTest.cpp - The chat's line editor, key by key ------------===//

#include "runtime/LineEditor.h"

#include <gtest/gtest.h>

using namespace llmc;

namespace {

const char *const kUp = "\x1b[A", *const kDown = "\x1b[B",
                  *const kRight = "\x1b[C", *const kLeft = "\x1b[D";

/// Feeds `keys`; returns the status after the last byte.
LineEditor::Status type(LineEditor &editor, const std::string &keys) {
  LineEditor::Status status = LineEditor::Status::Editing;
  for (char c : keys)
    status = editor.feed(c);
  return status;
}

TEST(LineEditorTest, TypingAtTheEndEchoesTheKeys) {
  LineEditor editor;
  editor.start("> ");
  EXPECT_EQ(type(editor, "Hi there"), LineEditor::Status::Editing);
  EXPECT_EQ(editor.takeOutput(), "> Hi there");
  EXPECT_EQ(type(editor, "\r"), LineEditor::Status::Done);
  EXPECT_EQ(editor.line(), "Hi there");
  EXPECT_EQ(editor.takeOutput(), "\n");
}

TEST(LineEditorTest, CursorKeysEditInTheMiddle) {
  LineEditor editor;
  editor.start("> ");
  type(editor, "helo");
  editor.takeOutput();
  type(editor, std::string(kLeft) + "l");
  EXPECT_EQ(editor.line(), "hello");
  EXPECT_EQ(editor.cursor(), 4u);
  // The line is drawn again with the cursor moved back over the rest.
  EXPECT_EQ(editor.takeOutput(), "\r> helo\x1b[K\x1b[1D\r> hello\x1b[K\x1b[1D");
  // Home, Delete, End, Backspace; Ctrl-A/Ctrl-E and the SS3 spellings too.
  type(editor, "\x1b[H\x1b[3~\x1b[F\x7f");
  EXPECT_EQ(editor.line(), "ell");
  type(editor, "\x01X\x05Y\x1bOHZ");
  EXPECT_EQ(editor.line(), "ZXellY");
  EXPECT_EQ(editor.cursor(), 1u);
  EXPECT_EQ(type(editor, "\n"), LineEditor::Status::Done);
  EXPECT_EQ(editor.line(), "ZXellY");
}

TEST(LineEditorTest, MovesOverWholeUtf8Characters) {
  LineEditor editor;
  editor.start("");
  type(editor, "a\xc3\xa9\xe2\x82\xac"); // a, e-acute (2 bytes), euro (3)
  type(editor, kLeft);
  EXPECT_EQ(editor.cursor(), 3u);
  type(editor, "\x7f"); // deletes both bytes of the e-acute
  EXPECT_EQ(editor.line(), "a\xe2\x82\xac");
  type(editor, std::string(kRight) + "!");
  EXPECT_EQ(editor.line(), "a\xe2\x82\xac!");
  // Cursor columns count characters, not bytes.
  editor.takeOutput();
  type(editor, std::string(kLeft) + kLeft);
  EXPECT_EQ(editor.takeOutput(), "\r" + std::string("a\xe2\x82\xac!") +
                                     "\x1b[K\x1b[1D\r" +
                                     "a\xe2\x82\xac!\x1b[K\x1b[2D");
}

TEST(LineEditorTest, KillsWordsAndLines) {
  LineEditor editor;
  editor.start("> ");
  type(editor, "one two  three");
  type(editor, "\x17"); // Ctrl-W: the word before the cursor
  EXPECT_EQ(editor.line(), "one two  ");
  type(editor, "\x1b"
               "b"); // Alt-B: back a word
  EXPECT_EQ(editor.cursor(), 4u);
  type(editor, "\x0b"); // Ctrl-K: to the end
  EXPECT_EQ(editor.line(), "one ");
  type(editor, "\x1b[1;5D"   // Ctrl-Left
               "\x1b[1;5C"); // Ctrl-Right
  EXPECT_EQ(editor.cursor(), 3u);
  type(editor, "\x15"); // Ctrl-U: to the start
  EXPECT_EQ(editor.line(), " ");
  EXPECT_EQ(editor.cursor(), 0u);
}

TEST(LineEditorTest, HistoryRecallsEarlierLinesAndTheDraft) {
  LineEditor editor;
  for (const char *line : {"first", "second", "second", "   "}) {
    editor.start("> ");
    type(editor, std::string(line) + "\r");
  }
  // Repeats and blank lines are not kept.
  EXPECT_EQ(editor.history(), (std::vector<std::string>{"first", "second"}));
  editor.start("> ");
  type(editor, "draft");
  type(editor, kUp);
  EXPECT_EQ(editor.line(), "second");
  type(editor, std::string(kUp) + kUp); // stops at the oldest
  EXPECT_EQ(editor.line(), "first");
  EXPECT_EQ(editor.cursor(), 5u);
  type(editor, std::string(kDown) + kDown);
  EXPECT_EQ(editor.line(), "draft");
  type(editor, kDown);
  EXPECT_EQ(editor.line(), "draft");
  // A recalled line can be edited and sent (Ctrl-P is up too).
  type(editor, "\x10!\r");
  EXPECT_EQ(editor.line(), "second!");
  EXPECT_EQ(editor.history().back(), "second!");
}

TEST(LineEditorTest, CtrlDAndCtrlC) {
  LineEditor editor;
  editor.start("> ");
  type(editor, "ab\x01");
  // Ctrl-D on text deletes under the cursor; on an empty line it ends.
  EXPECT_EQ(type(editor, "\x04"), LineEditor::Status::Editing);
  EXPECT_EQ(editor.line(), "b");
  EXPECT_EQ(type(editor, "\x04"), LineEditor::Status::Editing);
  EXPECT_EQ(type(editor, "\x04"), LineEditor::Status::EndOfInput);
  // Ctrl-C clears a line with text and starts again; not an empty one.
  type(editor, "typed");
  editor.takeOutput();
  EXPECT_TRUE(editor.interrupt());
  EXPECT_EQ(editor.line(), "");
  EXPECT_EQ(editor.takeOutput(), "^C\n> ");
  EXPECT_FALSE(editor.interrupt());
}

TEST(LineEditorTest, IgnoresUnknownKeysAndSequences) {
  LineEditor editor;
  editor.start("");
  // F1 (SS3), F5 (CSI with parameters), bracketed paste marks, Ctrl-G.
  type(editor, "\x1bOP\x1b[15~\x1b[200~ok\x1b[201~\x07");
  EXPECT_EQ(editor.line(), "ok");
  // An endless sequence is dropped instead of swallowing all input.
  type(editor, "\x1b[" + std::string(20, '1') + "z");
  EXPECT_EQ(editor.line().substr(0, 2), "ok");
}

} // namespace
