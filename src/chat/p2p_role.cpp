#include "src/chat/p2p_role.h"

#include <fmt/format.h>

#include "src/wire/message_codec.h"
#include "src/wire/text_codec.h"

namespace chat {
namespace {

constexpr std::string_view kHelp =
    "/who who is connected, /stats traffic with them, /name NICK your name, q or /quit to stop";

// A name someone chose, made safe for every terminal it reaches and short enough for the wire.
std::string clean_name(std::string_view wanted) {
  std::string nick = wire::sanitize_for_terminal(wanted);
  return nick.size() > wire::kMaxNameLength ? std::string() : nick;
}

}  // namespace

P2pRole::P2pRole(Transport& transport, Console& console, std::string operator_name)
    : transport_(transport), console_(console) {
  operator_name_ = clean_name(operator_name);
  if (operator_name_.empty()) operator_name_ = "operator";
}

bool P2pRole::operator_line(const std::string& line) {
  if (wire::is_quit_command(line)) return false;
  if (auto command = parse_chat_command(line)) {
    operator_command(*command);
    return true;
  }
  if (peer_ == kNoPeer) {
    console_.print("*** nobody is connected yet; your line was not sent");
    return true;
  }
  if (auto r = transport_.send(peer_, Message::chat(line, operator_name_)); !r)
    console_.print_error(fmt::format("chat: not sent: {}", r.error().message));
  return true;
}

std::string P2pRole::who() const {
  if (peer_ == kNoPeer) return fmt::format("here: {} (1 here)", operator_name_);
  return fmt::format("here: {}, {} (2 here)", operator_name_, name_);
}

std::string P2pRole::stats_line() const {
  if (peer_ == kNoPeer) return "nobody is connected";
  const PeerStats s = transport_.stats(peer_);
  std::string line =
      fmt::format("{} over {} | 2 here | {} sent {} msgs ({} B), received {} msgs ({} B)", name_,
                  transport_.name(), operator_name_, s.messages_sent, s.bytes_sent,
                  s.messages_received, s.bytes_received);
  if (s.rtt_samples) line += fmt::format(" | rtt {:.3f} ms", s.rtt_ns / 1e6);
  return line;
}

void P2pRole::tell_peer(const std::string& text) {
  if (peer_ != kNoPeer) (void)transport_.send(peer_, Message::notice(text));
}

void P2pRole::operator_command(const ChatCommand& command) {
  if (command.name == "who") {
    console_.print("*** " + who());
  } else if (command.name == "stats") {
    console_.print("*** " + stats_line());
  } else if (command.name == "help") {
    console_.print(fmt::format("*** {}", kHelp));
  } else if (is_rename(command)) {
    const std::string nick = clean_name(command.arg);
    if (nick.empty()) {
      console_.print(fmt::format("*** you are {}; /name NICK (at most {} bytes) changes it",
                                 operator_name_, wire::kMaxNameLength));
      return;
    }
    const std::string old = std::exchange(operator_name_, nick);
    console_.print(fmt::format("*** you are now {}", operator_name_));
    tell_peer(fmt::format("{} is now known as {} ({} here)", old, operator_name_, here()));
  } else {
    console_.print(fmt::format("*** unknown command /{}; {}",
                               wire::sanitize_for_terminal(command.name), kHelp));
  }
}

void P2pRole::peer_command(const ChatCommand& command) {
  if (command.name == "who") {
    tell_peer(who());
  } else if (command.name == "stats") {
    const PeerStats s = transport_.stats(peer_);
    tell_peer(
        fmt::format("you are {} on {} | 2 here | you sent {} msgs ({} B), were sent {} "
                    "msgs ({} B)",
                    name_, transport_.name(), s.messages_received, s.bytes_received,
                    s.messages_sent, s.bytes_sent));
  } else if (command.name == "help") {
    tell_peer(fmt::format("commands: /name NICK (or /nick), /who, /stats, q or /quit to leave"));
  } else if (is_rename(command)) {
    const std::string nick = clean_name(command.arg);
    if (nick.empty() || nick == operator_name_) {
      tell_peer(fmt::format("you are {}; /name NICK (at most {} bytes, not {}) changes it", name_,
                            wire::kMaxNameLength, operator_name_));
      return;
    }
    const std::string old = std::exchange(name_, nick);
    console_.print(fmt::format("*** {} is now known as {}", old, name_));
    tell_peer(fmt::format("{} is now known as {} ({} here)", old, name_, here()));
  } else {
    tell_peer(fmt::format("unknown command /{}; /help lists them",
                          wire::sanitize_for_terminal(command.name)));
  }
}

void P2pRole::on_peer_up(const PeerInfo& peer) {
  peer_ = peer.id;
  name_ = clean_name(peer.name);
  if (name_.empty() || name_ == operator_name_) name_ = peer.address;
  console_.print(fmt::format("*** {} connected from {}", name_, peer.address));
  tell_peer(fmt::format("connected to {}'s one-to-one chat; {} answers you ({} here)",
                        operator_name_, operator_name_, here()));
}

void P2pRole::on_message(PeerId peer, Message&& message) {
  if (peer != peer_) return;
  if (wire::is_quit_command(message.text)) {
    transport_.close(peer, "bye");
    return;
  }
  if (auto command = parse_chat_command(message.text)) {
    peer_command(*command);
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
