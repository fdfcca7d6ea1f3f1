#pragma once
// One client link through the Transport seam, as the scenarios use it: start it, wait (bounded)
// for the server to admit it, then route its messages to whatever the scenario needs right now.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "src/net/event_loop.h"
#include "transports/transport.h"

namespace chat::bench {

struct LinkOptions {
  std::string transport{default_transport()};
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string name = "bench";
  int socket_buffer = 0;  // SO_RCVBUF/SO_SNDBUF request; 0: kernel default
  size_t high_water_bytes = 4 * 1024 * 1024;
  size_t max_payload = 65536;
};

class BenchClient {
 public:
  BenchClient(net::EventLoop& loop, LinkOptions options);
  ~BenchClient();
  BenchClient(const BenchClient&) = delete;
  BenchClient& operator=(const BenchClient&) = delete;

  // Starts the link without running the loop (many clients share one loop).
  Result<void> start();
  // Starts and runs the loop until admitted, refused or `timeout`.
  Result<void> connect(std::chrono::milliseconds timeout);
  // Leaves politely (LEAVE/FIN), running the loop at most `linger` longer.
  void close(std::chrono::milliseconds linger = std::chrono::milliseconds(100));

  bool up() const { return up_; }
  bool down() const { return down_; }
  const std::string& down_reason() const { return down_why_; }
  PeerId server() const { return server_; }
  Transport& transport() { return *transport_; }
  Result<void> send(const Message& m) { return transport_->send(server_, m); }
  PeerStats stats() const { return transport_->stats(server_); }
  TransportCaps caps() const { return transport_->caps(); }

  std::function<void(Message&&)> on_message;
  std::function<void()> on_up;
  std::function<void(const std::string& why)> on_down;
  // The queue fell below the low-water mark again (wires that queue; see TransportCaps).
  std::function<void()> on_writable;

 private:
  net::EventLoop& loop_;
  LinkOptions options_;
  std::unique_ptr<Transport> transport_;
  PeerId server_ = kNoPeer;
  bool up_ = false;
  bool down_ = false;
  std::string down_why_;
};

}  // namespace chat::bench
