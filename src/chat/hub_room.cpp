#include "src/chat/hub_room.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/wire/message_codec.h"
#include "src/wire/text_codec.h"

namespace chat {
namespace {

// Past this many members an arrival or departure is no longer told to everyone: n joins would
// cost n²/2 notices (5·10^7 at 10,000 members), more than the room's own traffic.
constexpr size_t kAnnounceUpTo = 1000;
// The welcome names this many of the others at most; a long list would outgrow a datagram.
constexpr size_t kWelcomeNames = 20;

// Characters that show nothing or reorder what follows: a name holding one could look exactly
// like another member's, so they are written out as <U+XXXX>.
bool is_deceptive(char32_t c) {
  return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF;
}

}  // namespace

std::string visible_name(std::string_view raw) {
  // Terminal-safe first, so what follows is valid UTF-8 with no control characters.
  const std::string safe = wire::sanitize_for_terminal(raw);
  std::string out;
  out.reserve(safe.size());
  for (size_t i = 0; i < safe.size();) {
    // Every character in the ranges above is three bytes long: E2 80/81 xx or EF BB BF.
    if (i + 3 <= safe.size() && (static_cast<unsigned char>(safe[i]) & 0xF0) == 0xE0) {
      const char32_t c = ((static_cast<unsigned char>(safe[i]) & 0x0F) << 12) |
                         ((static_cast<unsigned char>(safe[i + 1]) & 0x3F) << 6) |
                         (static_cast<unsigned char>(safe[i + 2]) & 0x3F);
      if (is_deceptive(c)) {
        out += fmt::format("<U+{:04X}>", static_cast<uint32_t>(c));
        i += 3;
        continue;
      }
    }
    out += safe[i++];
  }
  return out;
}

std::string HubRoom::take_unique_name(std::string_view wanted_raw) {
  // Names reach every terminal in the room, so they are neutralised like any text, and they are
  // never longer than a label can carry, so no cut can remove the suffix that tells two apart.
  std::string wanted = visible_name(wanted_raw);
  if (wanted.empty()) wanted = "anonymous";
  wanted.resize(wire::utf8_cut(wanted, wire::kMaxNameLength));
  if (taken_.insert(wanted).second) return wanted;
  int& next = next_suffix_.try_emplace(wanted, 2).first->second;
  for (;; ++next) {
    const std::string suffix = fmt::format("#{}", next);
    std::string candidate =
        wanted.substr(0, wire::utf8_cut(wanted, wire::kMaxNameLength - suffix.size()));
    candidate += suffix;
    if (taken_.insert(candidate).second) {
      ++next;
      return candidate;
    }
  }
}

void HubRoom::release_name(const std::string& name) {
  taken_.erase(name);
}

void HubRoom::on_peer_up(const PeerInfo& peer) {
  const std::string name = take_unique_name(peer.name);
  std::string others;
  size_t listed = 0;
  for (const auto& [id, n] : names_) {
    if (listed++ == kWelcomeNames) break;
    others += (others.empty() ? "" : ", ") + n;
  }
  if (names_.size() > kWelcomeNames)
    others += fmt::format(" and {} more", names_.size() - kWelcomeNames);
  names_[peer.id] = name;
  spdlog::info("{} joined from {}{} ({} in the room)", name, peer.address,
               peer.text ? " (plain text)" : "", names_.size());
  // Notices end in "(N here)" so clients can show the room's size without another request.
  (void)transport_.send(peer.id, Message::notice(fmt::format("welcome {}{}{} ({} here)", name,
                                                             others.empty() ? "" : "; with ",
                                                             others, names_.size())));
  if (names_.size() <= kAnnounceUpTo)
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
  if (auto command = parse_chat_command(message.text)) {
    answer(peer, *command);
    return;
  }
  // Relay to everyone else, never back to the sender; control characters and escape sequences
  // are neutralised here because text peers (nc, telnet) show our bytes on a raw terminal.
  const size_t size = message.text.size();
  const size_t reached = transport_.broadcast(
      Message::chat(wire::sanitize_for_terminal(message.text), it->second), peer);
  // A message the wire could not carry (past a UDP datagram's limit) must not vanish unnoticed.
  // The room may still list a peer whose link is already closing, so ask the transport.
  if (reached + 1 < names_.size()) {
    const size_t up = transport_.peers().size();
    const size_t others = up > 0 ? up - 1 : 0;
    if (reached < others)
      (void)transport_.send(peer, Message::notice(fmt::format(
                                      "your message ({} bytes) reached {} of the {} others; the "
                                      "server log says why",
                                      size, reached, others)));
  }
}

void HubRoom::answer(PeerId peer, const ChatCommand& command) {
  auto reply = [&](std::string text) { (void)transport_.send(peer, Message::notice(text)); };
  if (command.name == "who") {
    std::string list;
    for (const auto& [id, n] : names_) list += (list.empty() ? "" : ", ") + n;
    reply(fmt::format("here: {} ({} here)", list, names_.size()));
  } else if (is_rename(command)) {
    rename(peer, command.arg);
  } else if (command.name == "stats") {
    const PeerStats s = transport_.stats(peer);
    reply(fmt::format(
        "you are {} on {} | {} in the room | you sent {} msgs ({} B), were sent {} msgs ({} B)",
        names_[peer], transport_.name(), names_.size(), s.messages_received, s.bytes_received,
        s.messages_sent, s.bytes_sent));
  } else if (command.name == "help") {
    reply(
        "commands: /name NICK (or /nick) to be called NICK, /who for who is here, /stats for "
        "your traffic, q or /quit to leave; anything else is said to the room");
  } else {
    reply(fmt::format("unknown command /{}; /help lists them",
                      wire::sanitize_for_terminal(command.name)));
  }
}

void HubRoom::rename(PeerId peer, std::string_view wanted) {
  std::string& current = names_[peer];
  std::string nick = visible_name(wanted);
  if (nick.empty()) {
    (void)transport_.send(
        peer, Message::notice(fmt::format("you are {}; /name NICK chooses another name", current)));
    return;
  }
  if (nick.size() > wire::kMaxNameLength) {
    (void)transport_.send(
        peer, Message::notice(fmt::format("a name is at most {} bytes; you are still {}",
                                          wire::kMaxNameLength, current)));
    return;
  }
  if (nick == current) return;
  const std::string old = current;
  release_name(old);
  current = take_unique_name(nick);
  spdlog::info("{} is now {}", old, current);
  transport_.broadcast(
      Message::notice(fmt::format("{} is now known as {} ({} here)", old, current, names_.size())));
}

void HubRoom::on_peer_down(PeerId peer, DownReason reason, const std::string& why) {
  auto it = names_.find(peer);
  if (it == names_.end()) return;
  const std::string name = it->second;
  names_.erase(it);
  release_name(name);
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
  spdlog::info("{}; {} in the room", departure_words(name, reason, why), names_.size());
  if (names_.size() >= kAnnounceUpTo) return;
  transport_.broadcast(Message::notice(fmt::format("{} ({} here)", what, names_.size())));
}

}  // namespace chat
