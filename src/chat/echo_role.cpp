#include "src/chat/echo_role.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/wire/text_codec.h"

namespace chat {

void EchoRole::on_peer_up(const PeerInfo& peer) {
  names_[peer.id] = wire::sanitize_for_terminal(peer.name);
  // A text peer is named by its address: say it once.
  if (names_[peer.id] == peer.address)
    spdlog::info("{} connected{}", peer.address, peer.text ? " (plain text)" : "");
  else
    spdlog::info("{} connected from {}{}", names_[peer.id], peer.address,
                 peer.text ? " (plain text)" : "");
}

void EchoRole::on_message(PeerId peer, Message&& message) {
  // Echo what was said, not who said it: the sender already knows its own name.
  message.from.clear();
  message.kind = MessageKind::kChat;
  if (!reply_prefix_.empty()) message.text.insert(0, reply_prefix_);
  if (auto r = transport_.send(peer, message); !r) {
    spdlog::warn("echo to peer {} failed: {}", peer, r.error().message);
    // The sender hears why nothing came back instead of waiting for it.
    (void)transport_.send(peer, Message::notice(fmt::format("not echoed: {}", r.error().message)));
  }
}

void EchoRole::on_peer_down(PeerId peer, DownReason reason, const std::string& why) {
  // The name it connected under, so its arrival and its departure read as the same peer.
  auto it = names_.find(peer);
  const std::string name = it != names_.end() ? it->second : fmt::format("peer {}", peer);
  if (it != names_.end()) names_.erase(it);
  spdlog::info("{}", departure_words(name, reason, why));
}

}  // namespace chat
