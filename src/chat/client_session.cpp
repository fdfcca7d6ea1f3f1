#include "src/chat/client_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/wire/message_codec.h"
#include "src/wire/text_codec.h"

namespace chat {

int members_from_notice(std::string_view text) {
  const auto close = text.rfind(" here)");
  const auto open = text.rfind('(');
  if (close == std::string_view::npos || open == std::string_view::npos || open > close) return -1;
  int n = 0;
  for (size_t i = open + 1; i < close; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    n = n * 10 + (text[i] - '0');
  }
  return close > open + 1 ? n : -1;
}

ClientSession::ClientSession(net::EventLoop& loop, Transport& transport, Console& console,
                             ClientOptions options)
    : loop_(loop), transport_(transport), console_(console), options_(std::move(options)) {}

void ClientSession::start() {
  console_.start([this](std::string line) { on_line(std::move(line)); }, [this] { on_eof(); });
}

void ClientSession::on_peer_up(const PeerInfo& peer) {
  server_ = peer.id;
  server_address_ = peer.address;
  const std::string hello =
      fmt::format("connected to {} over {}{}", peer.address, options_.transport_name,
                  console_.interactive() ? " — /help for commands, q to leave" : "");
  // In a pipe stdout carries only the chat, so scripts can read it line by line.
  if (console_.interactive())
    console_.print("*** " + hello);
  else
    spdlog::info("{}", hello);
  ping_timer_ = loop_.run_every(options_.ping_every, [this] {
    if (server_ != kNoPeer) transport_.ping(server_);
  });
  transport_.ping(server_);
  auto pending = std::move(pending_);
  pending_.clear();
  for (const auto& text : pending) send_text(text);
  if (eof_) on_eof();
}

void ClientSession::on_message(PeerId, Message&& message) {
  if (message.kind == MessageKind::kNotice) {
    if (int n = members_from_notice(message.text); n >= 0) members_ = n;
  }
  // Whatever the server relays, nothing it sends may drive our terminal.
  console_.print(wire::sanitize_for_terminal(wire::message_to_line(message)));
}

void ClientSession::on_peer_down(PeerId, DownReason reason, const std::string& why) {
  server_ = kNoPeer;
  if (leaving_) return;
  switch (reason) {
    case DownReason::kRefused:
      fail(fmt::format("refused: {}", why));
      break;
    case DownReason::kTimedOut:
      fail(fmt::format("timed out: {}", why));
      break;
    case DownReason::kLeft:
    case DownReason::kClosed:
      fail(fmt::format("the server closed the chat ({})", why));
      break;
    default:
      fail(why);
      break;
  }
}

void ClientSession::fail(const std::string& why) {
  console_.print_error(fmt::format("chat: {}", wire::sanitize_for_terminal(why)));
  exit_code_ = 1;
  leave();
}

void ClientSession::on_line(std::string line) {
  if (wire::is_quit_command(line)) {
    leave();
    return;
  }
  if (line == "/stats") {
    show_stats();
    return;
  }
  if (line == "/help") {
    console_.print(
        "*** /stats  transport, members, RTT, loss    /who  who is in the room    /name NICK  "
        "be called NICK    /quit or q  leave");
    return;
  }
  if (server_ == kNoPeer) {
    pending_.push_back(std::move(line));
    return;
  }
  send_text(line);
}

void ClientSession::send_text(const std::string& text) {
  ++attempted_;
  if (auto r = transport_.send(server_, Message::chat(text)); !r) {
    ++unsent_;
    console_.print_error(fmt::format("chat: not sent: {}", r.error().message));
  }
}

int ClientSession::exit_code() const {
  // A script must be able to tell that some of what it piped in never left.
  return exit_code_ != 0 ? exit_code_ : (unsent_ > 0 ? 1 : 0);
}

void ClientSession::on_eof() {
  eof_ = true;
  if (server_ == kNoPeer) return;  // still joining: on_peer_up sends what was queued, then lingers
  // Give replies to what we just sent (an echo, the room's answers) time to arrive.
  loop_.run_after(options_.linger, [this] { leave(); });
}

void ClientSession::show_stats() {
  if (server_ == kNoPeer) {
    console_.print("*** not connected yet");
    return;
  }
  const PeerStats s = transport_.stats(server_);
  std::string line = fmt::format(
      "*** {} to {} | members {} | rtt {} | sent {} msgs ({} B) | received {} msgs ({} B)",
      options_.transport_name, server_address_, members_ >= 0 ? std::to_string(members_) : "?",
      s.rtt_samples ? fmt::format("{:.3f} ms", s.rtt_ns / 1e6) : "-", s.messages_sent, s.bytes_sent,
      s.messages_received, s.bytes_received);
  if (const std::string own = transport_.describe_stats(server_); !own.empty())
    line += fmt::format(" | {}", own);
  if (s.dropped) line += fmt::format(" | dropped {}", s.dropped);
  console_.print(line);
}

void ClientSession::leave() {
  if (leaving_) return;
  leaving_ = true;
  if (unsent_ > 0)
    console_.print_error(
        fmt::format("chat: not sent: {} of {} messages (see above)", unsent_, attempted_));
  console_.stop();
  if (ping_timer_) loop_.cancel(ping_timer_);
  // Bounded: if the transport cannot finish its goodbye, stop anyway.
  loop_.run_after(std::chrono::seconds(2), [this] { loop_.stop(); });
  transport_.shutdown(std::chrono::milliseconds(300), [this] { loop_.stop(); });
}

}  // namespace chat
