#include "src/chat/echo_role.h"

#include <spdlog/spdlog.h>

#include "src/wire/text_codec.h"

namespace chat {

void EchoRole::on_peer_up(const PeerInfo& peer) {
  spdlog::info("{} connected from {}{}", wire::sanitize_for_terminal(peer.name), peer.address,
               peer.text ? " (plain text)" : "");
}

void EchoRole::on_message(PeerId peer, Message&& message) {
  // Echo what was said, not who said it: the sender already knows its own name.
  message.from.clear();
  message.kind = MessageKind::kChat;
  if (auto r = transport_.send(peer, message); !r)
    spdlog::warn("echo to peer {} failed: {}", peer, r.error().message);
}

void EchoRole::on_peer_down(PeerId peer, DownReason reason, const std::string& why) {
  spdlog::info("peer {} {}: {}", peer, down_reason_name(reason), why);
}

}  // namespace chat
