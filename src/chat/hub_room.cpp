#include "src/chat/hub_room.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/wire/text_codec.h"

namespace chat {

std::string HubRoom::unique_name(std::string wanted) const {
  // Names reach every terminal in the room, so they are neutralised like any text.
  wanted = wire::sanitize_for_terminal(wanted);
  if (wanted.empty()) wanted = "anonymous";
  auto taken = [this](const std::string& n) {
    for (const auto& [id, name] : names_)
      if (name == n) return true;
    return false;
  };
  if (!taken(wanted)) return wanted;
  for (int i = 2;; ++i) {
    std::string candidate = fmt::format("{}#{}", wanted, i);
    if (!taken(candidate)) return candidate;
  }
}

void HubRoom::on_peer_up(const PeerInfo& peer) {
  const std::string name = unique_name(peer.name);
  std::string others;
  for (const auto& [id, n] : names_) others += (others.empty() ? "" : ", ") + n;
  names_[peer.id] = name;
  spdlog::info("{} joined from {}{} ({} in the room)", name, peer.address,
               peer.text ? " (plain text)" : "", names_.size());
  // Notices end in "(N here)" so clients can show the room's size without another request.
  (void)transport_.send(peer.id, Message::notice(fmt::format("welcome {}{}{} ({} here)", name,
                                                             others.empty() ? "" : "; with ",
                                                             others, names_.size())));
  transport_.broadcast(Message::notice(fmt::format("{} joined ({} here)", name, names_.size())),
                       peer.id);
}

void HubRoom::on_message(PeerId peer, Message&& message) {
  auto it = names_.find(peer);
  if (it == names_.end()) return;
  if (wire::is_quit_command(message.text)) {
    // The course's clients leave by sending `q`; on_peer_down announces it.
    transport_.close(peer, "bye");
    return;
  }
  if (message.text == "/who") {
    std::string list;
    for (const auto& [id, n] : names_) list += (list.empty() ? "" : ", ") + n;
    (void)transport_.send(peer,
                          Message::notice(fmt::format("here: {} ({} here)", list, names_.size())));
    return;
  }
  // Relay to everyone else, never back to the sender; control characters and escape sequences
  // are neutralised here because text peers (nc, telnet) show our bytes on a raw terminal.
  transport_.broadcast(Message::chat(wire::sanitize_for_terminal(message.text), it->second), peer);
}

void HubRoom::on_peer_down(PeerId peer, DownReason reason, const std::string& why) {
  auto it = names_.find(peer);
  if (it == names_.end()) return;
  const std::string name = it->second;
  names_.erase(it);
  std::string what;
  switch (reason) {
    case DownReason::kLeft:
    case DownReason::kClosed:
      what = fmt::format("{} left", name);
      break;
    case DownReason::kTimedOut:
      what = fmt::format("{} timed out", name);
      break;
    default:
      what = fmt::format("{} was dropped ({})", name, wire::sanitize_for_terminal(why));
      break;
  }
  spdlog::info("{} [{}: {}] ({} in the room)", what, down_reason_name(reason), why, names_.size());
  transport_.broadcast(Message::notice(fmt::format("{} ({} here)", what, names_.size())));
}

}  // namespace chat
