#pragma once
// The human end of a client or a p2p server: lines in, lines out, on the event loop.
//
// On a terminal, line editing comes from GNU readline's callback interface, and incoming messages
// are printed above the prompt without breaking the line being typed. (libedit's readline emulation
// was tried first: in callback mode it loses the half-typed line when output is printed above it.)
// Anywhere else (a pipe, a script, a test) stdin is read as lines and every incoming message is one
// line on stdout.
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "src/net/event_loop.h"
#include "src/net/socket.h"
#include "src/wire/text_codec.h"

namespace chat {

class Console {
 public:
  using LineHandler = std::function<void(std::string line)>;
  using EofHandler = std::function<void()>;

  Console(net::EventLoop& loop, std::string prompt);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  bool interactive() const { return interactive_; }

  // Starts reading stdin. on_eof fires once, at end of input (Ctrl-D on a terminal).
  void start(LineHandler on_line, EofHandler on_eof);
  // Stops reading stdin and restores the terminal; safe to call twice.
  void stop();

  // Shows one line of output; the caller has already neutralised untrusted text.
  void print(std::string_view line);
  // Like print, on stderr (errors and diagnostics never mix with the chat on stdout).
  void print_error(std::string_view line);

 private:
  void read_plain();
  void emit(FILE* stream, std::string_view line);
  void deliver(std::string line);

  net::EventLoop& loop_;
  std::string prompt_;
  bool interactive_ = false;
  bool reading_ = false;
  bool eof_sent_ = false;
  LineHandler on_line_;
  EofHandler on_eof_;
  // Longer than any wire's message limit, so an over-long line reaches the transport whole and is
  // refused there with an error that names the limit; the bound only caps memory.
  wire::LineSplitter splitter_{1024 * 1024};
};

}  // namespace chat
