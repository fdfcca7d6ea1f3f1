#pragma once
// The plain-text side of the wire: what `nc`, `telnet`, `socat` and the course's Python client
// speak. Lines end in \n (a \r before it is dropped); bytes that arrive without a newline become
// one message once the peer has gone quiet, because the course's client sends each line with none.
// No cut (a quiet peer, an over-long line) ever falls inside a UTF-8 sequence.
#include <string>
#include <string_view>
#include <vector>

#include "src/wire/message.h"

namespace chat::wire {

class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line) : max_line_(max_line < 4 ? 4 : max_line) {}

  // Appends bytes and moves every complete line (and any over-long run, cut at a UTF-8 boundary
  // at most max_line bytes in) to `out`; `ends`, when given, gets how each one ended.
  void feed(std::string_view bytes, std::vector<std::string>& out,
            std::vector<LineEnd>* ends = nullptr);
  // The peer went quiet: what is pending becomes one message, except a UTF-8 sequence whose
  // last bytes have not arrived yet, which waits for them.
  void flush_burst(std::vector<std::string>& out, std::vector<LineEnd>* ends = nullptr);
  // Nothing more will come (end of stream, end of a datagram): everything pending goes.
  void flush(std::vector<std::string>& out, std::vector<LineEnd>* ends = nullptr);
  size_t pending() const { return pending_.size(); }

 private:
  void emit(std::string piece, LineEnd end, std::vector<std::string>& out,
            std::vector<LineEnd>* ends);

  std::string pending_;
  size_t max_line_;
};

// How many bytes at the end of `text` are the start of a UTF-8 sequence still missing its
// continuation bytes (0 when the text ends on a boundary, or in bytes that are not UTF-8).
size_t incomplete_utf8_tail(std::string_view text);

// Where to cut `text` at most `limit` bytes in without splitting a UTF-8 sequence.
size_t utf8_cut(std::string_view text, size_t limit);

// Makes text safe to show on a terminal: invalid UTF-8 becomes U+FFFD, C0/C1 control characters
// (so every escape sequence's ESC) and DEL become caret or \u notation; tab is kept.
std::string sanitize_for_terminal(std::string_view text);

// True for valid UTF-8 with no overlongs, surrogates or code points above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// The course's habit: a line that is exactly `q` (or `/quit`) leaves.
bool is_quit_command(std::string_view line);

}  // namespace chat::wire
