#pragma once
#include "src/chat/role.h"

namespace chat {

// Each message goes back to its sender unchanged, as the course's echo server on port 10000 did.
class EchoRole final : public Role {
 public:
  explicit EchoRole(Transport& transport) : transport_(transport) {}

  void on_peer_up(const PeerInfo& peer) override;
  void on_message(PeerId peer, Message&& message) override;
  void on_peer_down(PeerId peer, DownReason reason, const std::string& why) override;

 private:
  Transport& transport_;
};

}  // namespace chat
