#pragma once
// One-to-one chat as the course's p2p server did it: the server's operator talks through the
// server's own stdin/stdout with exactly one client; a second client is refused by the transport's
// one-peer limit. Both ends are named, as in the hub, and both ends have the hub's commands.
#include <string>

#include "src/chat/chat_command.h"
#include "src/chat/console.h"
#include "src/chat/role.h"

namespace chat {

class P2pRole final : public Role {
 public:
  P2pRole(Transport& transport, Console& console, std::string operator_name);

  // A line the operator typed; returns false when it asks to quit.
  bool operator_line(const std::string& line);

  void on_peer_up(const PeerInfo& peer) override;
  void on_message(PeerId peer, Message&& message) override;
  void on_peer_down(PeerId peer, DownReason reason, const std::string& why) override;

 private:
  // Notices end in "(N here)", as the hub's do, so the client's /stats can show the count.
  size_t here() const { return peer_ == kNoPeer ? 1 : 2; }
  void operator_command(const ChatCommand& command);
  void peer_command(const ChatCommand& command);
  std::string who() const;
  std::string stats_line() const;
  void tell_peer(const std::string& text);

  Transport& transport_;
  Console& console_;
  std::string operator_name_;
  PeerId peer_ = kNoPeer;
  std::string name_;
};

}  // namespace chat
