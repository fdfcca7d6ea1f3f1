#pragma once
// A plain-text TCP client (what nc or telnet would be) on the bench's event loop: lines out, lines
// in. It lets the fan-out load generator drive any line-based hub — ours with text peers, or
// `ncat --chat` — with exactly the same client code, so the hubs are compared fairly.
#include <functional>
#include <string>
#include <string_view>

#include "src/net/event_loop.h"
#include "src/net/fd.h"
#include "src/net/socket.h"
#include "src/wire/text_codec.h"

namespace chat::bench {

class TextLink {
 public:
  explicit TextLink(net::EventLoop& loop) : loop_(loop), splitter_(1 << 20) {}
  ~TextLink();
  TextLink(const TextLink&) = delete;
  TextLink& operator=(const TextLink&) = delete;

  Result<void> start(const net::SocketAddress& to);
  // Queues one line (a newline is added) and writes what the socket takes now.
  void send_line(std::string_view line);
  void close();

  bool up() const { return up_; }
  bool down() const { return down_; }
  const std::string& error() const { return error_; }

  std::function<void(std::string&&)> on_line;
  std::function<void()> on_up;
  std::function<void()> on_down;

 private:
  void on_events(uint32_t events);
  void fail(std::string why);
  void flush();
  void update_interest();

  net::EventLoop& loop_;
  net::Fd fd_;
  wire::LineSplitter splitter_;
  std::string out_;
  size_t out_offset_ = 0;
  bool up_ = false;
  bool down_ = false;
  bool want_write_ = true;
  std::string error_;
  std::vector<std::string> lines_;
};

}  // namespace chat::bench
