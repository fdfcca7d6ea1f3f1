#include "src/chat/p2p_role.h"

#include <fmt/format.h>

#include "src/wire/text_codec.h"

namespace chat {

bool P2pRole::operator_line(const std::string& line) {
  if (wire::is_quit_command(line)) return false;
  if (peer_ == kNoPeer) {
    console_.print("*** nobody is connected yet; your line was not sent");
    return true;
  }
  if (auto r = transport_.send(peer_, Message::chat(line)); !r)
    console_.print_error(fmt::format("chat: not sent: {}", r.error().message));
  return true;
}

void P2pRole::on_peer_up(const PeerInfo& peer) {
  peer_ = peer.id;
  name_ = wire::sanitize_for_terminal(peer.name);
  console_.print(fmt::format("*** {} connected from {}", name_, peer.address));
}

void P2pRole::on_message(PeerId peer, Message&& message) {
  if (peer != peer_) return;
  if (wire::is_quit_command(message.text)) {
    transport_.close(peer, "bye");
    return;
  }
  console_.print(fmt::format("{}: {}", name_, wire::sanitize_for_terminal(message.text)));
}

void P2pRole::on_peer_down(PeerId peer, DownReason reason, const std::string& why) {
  if (peer != peer_) return;
  peer_ = kNoPeer;
  const bool orderly = reason == DownReason::kLeft || reason == DownReason::kClosed;
  console_.print(orderly ? fmt::format("*** {} left", name_)
                         : fmt::format("*** {} {} ({})", name_, down_reason_name(reason),
                                       wire::sanitize_for_terminal(why)));
}

}  // namespace chat
