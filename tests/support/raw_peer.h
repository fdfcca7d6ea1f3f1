#pragma once
// A misbehaving or plain-text peer for tests: raw TCP or UDP on loopback, bounded reads.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "src/net/fd.h"

namespace chat::testing {

// Milliseconds from now until `deadline`, 0 once it has passed: a bounded poll() timeout.
int left_ms(std::chrono::steady_clock::time_point deadline);

// A socket of `type` connected to 127.0.0.1:`port` (invalid on failure), with SO_RCVBUF set first
// when `receive_buffer` is positive.
net::Fd connect_loopback(uint16_t port, int type, int receive_buffer = 0);

class RawPeer {
 public:
  // Connects (TCP) or connects a datagram socket (UDP) to 127.0.0.1:port.
  static RawPeer tcp(uint16_t port);
  static RawPeer udp(uint16_t port);

  bool valid() const { return fd_.valid(); }
  bool send(std::string_view bytes);  // TCP: the whole buffer; UDP: one datagram
  // TCP: the next \n-terminated line; UDP: the next datagram (one trailing \n stripped).
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Reads raw bytes (TCP: the stream; UDP: datagrams back to back, nothing stripped) until `n`
  // have arrived, the deadline passes or the peer closes; returns what came.
  std::string read_bytes(size_t n, std::chrono::milliseconds timeout);
  // Reads lines until one contains `needle`.
  std::optional<std::string> wait_for(std::string_view needle, std::chrono::milliseconds timeout);
  // TCP: true once the server closed the connection (EOF), within the timeout.
  bool wait_closed(std::chrono::milliseconds timeout);
  // TCP: true once the connection was reset (the server closed fully and we wrote to it).
  bool wait_reset(std::chrono::milliseconds timeout);
  void close() { fd_.reset(); }

 private:
  RawPeer(net::Fd fd, bool datagram) : fd_(std::move(fd)), datagram_(datagram) {}
  net::Fd fd_;
  bool datagram_ = false;
  std::string buffer_;
};

}  // namespace chat::testing
