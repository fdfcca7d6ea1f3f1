#pragma once
// The chat room: it owns membership as the roles see it (names), relays each member's message to
// every other member labelled with the sender's name, and announces joins and leaves.
#include <map>
#include <string>

#include "src/chat/role.h"

namespace chat {

class HubRoom final : public Role {
 public:
  explicit HubRoom(Transport& transport) : transport_(transport) {}

  void on_peer_up(const PeerInfo& peer) override;
  void on_message(PeerId peer, Message&& message) override;
  void on_peer_down(PeerId peer, DownReason reason, const std::string& why) override;

  size_t members() const { return names_.size(); }

 private:
  std::string unique_name(std::string wanted) const;

  Transport& transport_;
  std::map<PeerId, std::string> names_;
};

}  // namespace chat
