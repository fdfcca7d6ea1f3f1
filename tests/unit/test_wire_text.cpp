#include <gtest/gtest.h>

#include "src/wire/text_codec.h"

namespace chat::wire {
namespace {

std::vector<std::string> feed(LineSplitter& s, std::string_view bytes) {
  std::vector<std::string> out;
  s.feed(bytes, out);
  return out;
}

TEST(LineSplitter, SplitsLinesAndDropsCarriageReturns) {
  LineSplitter s(1024);
  EXPECT_EQ(feed(s, "one\r\ntwo\nthr"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(s.pending(), 3u);
  EXPECT_EQ(feed(s, "ee\n"), (std::vector<std::string>{"three"}));
}

TEST(LineSplitter, FlushTurnsABurstWithoutNewlineIntoOneMessage) {
  // The course's Python client sends "hello" with no newline at all.
  LineSplitter s(1024);
  EXPECT_TRUE(feed(s, "hello").empty());
  std::vector<std::string> out;
  s.flush(out);
  EXPECT_EQ(out, (std::vector<std::string>{"hello"}));
  out.clear();
  s.flush(out);
  EXPECT_TRUE(out.empty());
}

TEST(LineSplitter, CutsOverlongRunsSoMemoryStaysBounded) {
  LineSplitter s(4);
  EXPECT_EQ(feed(s, "abcdefghij"), (std::vector<std::string>{"abcd", "efgh"}));
  EXPECT_EQ(s.pending(), 2u);
  LineSplitter whole(4);
  EXPECT_EQ(feed(whole, "abcdefghij\nxy\n"),
            (std::vector<std::string>{"abcd", "efgh", "ij", "xy"}));
}

TEST(LineSplitter, NeverCutsAnOverlongRunInsideAUtf8Sequence) {
  // Four bytes fit, but the fourth starts a three-byte character: the cut comes before it.
  LineSplitter s(4);
  EXPECT_EQ(feed(s, "a中b中"), (std::vector<std::string>{"a中"}));
  EXPECT_EQ(s.pending(), 4u);
  LineSplitter z(5);
  std::vector<std::string> out;
  z.feed("中中中", out);
  z.flush(out);
  EXPECT_EQ(out, (std::vector<std::string>{"中", "中", "中"}));
  for (const auto& piece : out) EXPECT_TRUE(is_valid_utf8(piece));
}

TEST(LineSplitter, AQuietBurstKeepsAnUnfinishedCharacterForTheNextRead) {
  LineSplitter s(1024);
  const std::string two = "中中";
  std::vector<std::string> out;
  s.feed(two.substr(0, 4), out);  // 中 and the first byte of the second
  s.flush_burst(out);
  EXPECT_EQ(out, (std::vector<std::string>{"中"}));
  EXPECT_EQ(s.pending(), 1u);
  s.feed(two.substr(4), out);
  s.flush_burst(out);
  EXPECT_EQ(out, (std::vector<std::string>{"中", "中"}));
  // Bytes that are not UTF-8 are not held back.
  out.clear();
  s.feed("\xff\xfe", out);
  s.flush_burst(out);
  EXPECT_EQ(out, (std::vector<std::string>{"\xff\xfe"}));
}

TEST(LineSplitter, ReportsHowEachPieceEnded) {
  LineSplitter s(4);
  std::vector<std::string> out;
  std::vector<LineEnd> ends;
  s.feed("a\nb\r\nabcdefg\nhi", out, &ends);
  s.flush(out, &ends);
  EXPECT_EQ(out, (std::vector<std::string>{"a", "b", "abcd", "efg", "hi"}));
  EXPECT_EQ(ends, (std::vector<LineEnd>{LineEnd::kLf, LineEnd::kCrLf, LineEnd::kNone, LineEnd::kLf,
                                        LineEnd::kNone}));
}

TEST(Utf8, FindsAnUnfinishedTail) {
  EXPECT_EQ(incomplete_utf8_tail("ab"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a\xe4"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("a\xe4\xb8"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("a\xe4\xb8\xad"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xf0\x9f\x99"), 3u);
  EXPECT_EQ(incomplete_utf8_tail("\xf0\x9f\x99\x82"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xb8\xb8\xb8"), 0u);  // stray continuations: not ours to hold
}

TEST(Sanitize, NeutralisesEscapeSequencesAndControls) {
  EXPECT_EQ(sanitize_for_terminal("a\x1b[2Jb"), "a^[[2Jb");
  EXPECT_EQ(sanitize_for_terminal("bell\x07"), "bell^G");
  EXPECT_EQ(sanitize_for_terminal("del\x7f"), "del^?");
  EXPECT_EQ(sanitize_for_terminal("tab\tkept"), "tab\tkept");
  EXPECT_EQ(sanitize_for_terminal("cr\rlf\n"), "cr^Mlf^J");
  // C1 CSI (U+009B) would start an escape sequence on some terminals.
  EXPECT_EQ(sanitize_for_terminal("\xc2\x9b"), "\\u009B");
}

TEST(Sanitize, ReplacesInvalidUtf8AndKeepsValid) {
  EXPECT_EQ(sanitize_for_terminal("晚上好"), "晚上好");
  EXPECT_EQ(sanitize_for_terminal("a\xff"
                                  "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitize_for_terminal("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(sanitize_for_terminal("\xed\xa0\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                         // surrogate
  EXPECT_EQ(sanitize_for_terminal("\xe6\x99"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

TEST(Utf8, Validates) {
  EXPECT_TRUE(is_valid_utf8("hello 晚上好 🙂"));
  EXPECT_FALSE(is_valid_utf8("\xf7\x43"));
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(QuitCommand, AcceptsTheCoursesHabits) {
  EXPECT_TRUE(is_quit_command("q"));
  EXPECT_TRUE(is_quit_command("q\r"));
  EXPECT_TRUE(is_quit_command(" /quit "));
  EXPECT_FALSE(is_quit_command("quit"));
  EXPECT_FALSE(is_quit_command("q please"));
}

}  // namespace
}  // namespace chat::wire
