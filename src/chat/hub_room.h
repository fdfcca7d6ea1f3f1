#pragma once
// The chat room: it owns membership as the roles see it (names), relays each member's message to
// every other member labelled with the sender's name, announces joins, leaves and renames, and
// answers slash commands (/name, /who, /stats, /help).
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "src/chat/chat_command.h"
#include "src/chat/role.h"

namespace chat {

// A name as the room shows it: terminal-safe, with invisible and direction-override characters
// written out as <U+XXXX> so that no two members can look alike.
std::string visible_name(std::string_view raw);

class HubRoom final : public Role {
 public:
  explicit HubRoom(Transport& transport) : transport_(transport) {}

  void on_peer_up(const PeerInfo& peer) override;
  void on_message(PeerId peer, Message&& message) override;
  void on_peer_down(PeerId peer, DownReason reason, const std::string& why) override;

  size_t members() const { return names_.size(); }

 private:
  // Takes a name nobody holds (wanted, or wanted#N) and records it as taken.
  std::string take_unique_name(std::string_view wanted);
  void release_name(const std::string& name);
  // Text peers have no client to answer their commands: the room does, for every member.
  void answer(PeerId peer, const ChatCommand& command);
  void rename(PeerId peer, std::string_view wanted);

  Transport& transport_;
  std::map<PeerId, std::string> names_;
  std::unordered_set<std::string> taken_;
  // Per wanted name, the suffix to try next: n joins under one name cost O(n), not O(n²).
  std::unordered_map<std::string, int> next_suffix_;
};

}  // namespace chat
