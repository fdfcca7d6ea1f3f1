#pragma once
// The chat room: it owns membership as the roles see it (names), relays each member's message to
// every other member labelled with the sender's name, announces joins, leaves and renames, and
// answers slash commands (/name, /who, /stats, /help).
#include <map>
#include <string>

#include "src/chat/chat_command.h"
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
  // Text peers have no client to answer their commands: the room does, for every member.
  void answer(PeerId peer, const ChatCommand& command);
  void rename(PeerId peer, std::string_view wanted);

  Transport& transport_;
  std::map<PeerId, std::string> names_;
};

}  // namespace chat
