#pragma once
// The client: the console on one side, one Transport (to the server) on the other.
#include <chrono>
#include <string>
#include <vector>

#include "src/chat/console.h"
#include "src/chat/role.h"

namespace chat {

struct ClientOptions {
  std::string transport_name;                  // shown by /stats
  std::chrono::milliseconds linger{500};       // drain after end of input before leaving
  std::chrono::milliseconds ping_every{1000};  // RTT probe for /stats
};

class ClientSession final : public Role {
 public:
  ClientSession(net::EventLoop& loop, Transport& transport, Console& console,
                ClientOptions options);

  void start();  // starts reading the console
  void leave();  // orderly: LEAVE, drain, stop the loop
  // 1 when the session failed or any message could not be sent; 0 otherwise.
  int exit_code() const;

  void on_peer_up(const PeerInfo& peer) override;
  void on_message(PeerId peer, Message&& message) override;
  void on_peer_down(PeerId peer, DownReason reason, const std::string& why) override;

 private:
  void on_line(std::string line);
  void on_eof();
  void send_text(const std::string& text);
  void show_stats();
  void fail(const std::string& why);

  net::EventLoop& loop_;
  Transport& transport_;
  Console& console_;
  ClientOptions options_;
  PeerId server_ = kNoPeer;
  std::string server_address_;
  std::vector<std::string> pending_;  // typed or piped before the server admitted us
  bool eof_ = false;
  bool leaving_ = false;
  int members_ = -1;  // from the hub's "(N here)" notices; -1 when unknown
  net::TimerId ping_timer_ = 0;
  int exit_code_ = 0;
  size_t attempted_ = 0;  // messages handed to the transport
  size_t unsent_ = 0;     // of those, refused (too large, queue full, not connected)
};

// Reads the member count from a notice ending in "(N here)"; -1 when there is none.
int members_from_notice(std::string_view text);

}  // namespace chat
