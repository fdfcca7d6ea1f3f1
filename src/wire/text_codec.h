#pragma once
// The plain-text side of the wire: what `nc`, `telnet`, `socat` and the course's Python client
// speak. Lines end in \n (a \r before it is dropped); bytes that arrive without a newline become
// one message when the read burst ends, because the course's client sends each line with none.
#include <string>
#include <string_view>
#include <vector>

namespace chat::wire {

class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}

  // Appends bytes and moves every complete line (and any over-long run, cut at max_line) to `out`.
  void feed(std::string_view bytes, std::vector<std::string>& out);
  // The read burst ended: whatever is pending becomes one message.
  void flush(std::vector<std::string>& out);
  size_t pending() const { return pending_.size(); }

 private:
  std::string pending_;
  size_t max_line_;
};

// Makes text safe to show on a terminal: invalid UTF-8 becomes U+FFFD, C0/C1 control characters
// (so every escape sequence's ESC) and DEL become caret or \u notation; tab is kept.
std::string sanitize_for_terminal(std::string_view text);

// True for valid UTF-8 with no overlongs, surrogates or code points above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// The course's habit: a line that is exactly `q` (or `/quit`) leaves.
bool is_quit_command(std::string_view line);

}  // namespace chat::wire
