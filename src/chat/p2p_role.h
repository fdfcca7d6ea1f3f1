#pragma once
// One-to-one chat as the course's p2p server did it: the server's operator talks through the
// server's own stdin/stdout with exactly one client; a second client is refused by the transport's
// one-peer limit.
#include "src/chat/console.h"
#include "src/chat/role.h"

namespace chat {

class P2pRole final : public Role {
 public:
  P2pRole(Transport& transport, Console& console) : transport_(transport), console_(console) {}

  // A line the operator typed; returns false when it asks to quit.
  bool operator_line(const std::string& line);

  void on_peer_up(const PeerInfo& peer) override;
  void on_message(PeerId peer, Message&& message) override;
  void on_peer_down(PeerId peer, DownReason reason, const std::string& why) override;

 private:
  Transport& transport_;
  Console& console_;
  PeerId peer_ = kNoPeer;
  std::string name_;
};

}  // namespace chat
