// What the frames inside ENet's packets mean: the join handshake, messages, PING/PONG, LEAVE.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/util/clock.h"
#include "src/wire/message_codec.h"
#include "src/wire/text_codec.h"
#include "transports/enet/enet_transport.h"

namespace chat {

void EnetTransport::handle_frame(Link& link, const wire::Frame& f) {
  using wire::FrameType;
  const bool server = config_.side == Side::kServer;
  if (link.state == State::kJoining) {
    if (server && f.type == FrameType::kJoin) return handle_join(link, f);
    if (!server && f.type == FrameType::kWelcome) {
      if (client_deadline_) loop_.cancel(client_deadline_);
      client_deadline_ = 0;
      member_id_ = f.sender;
      link.state = State::kUp;
      if (callbacks_.on_peer_up && !silenced_) callbacks_.on_peer_up(link.info);
      return;
    }
    if (!server && f.type == FrameType::kRefuse) {
      if (client_deadline_) loop_.cancel(client_deadline_);
      client_deadline_ = 0;
      return drop(link, DownReason::kRefused,
                  f.payload.empty() ? "the server refused us" : f.payload);
    }
    return drop(link, DownReason::kError,
                fmt::format("{} frame before the join completed", wire::frame_type_name(f.type)));
  }
  switch (f.type) {
    case FrameType::kData:
    case FrameType::kNotice: {
      Result<Message> m = wire::frame_to_message(f);
      if (!m) return drop(link, DownReason::kError, m.error().message);
      m->received_ns = now_ns();
      ++link.stats.messages_received;
      if (callbacks_.on_message && !silenced_) callbacks_.on_message(link.id, std::move(*m));
      return;
    }
    case FrameType::kPing:
      // seq and timestamp go back unchanged: only the pinger subtracts its own clock.
      return send_control(link, FrameType::kPong, {}, own_sender(), f.seq, f.timestamp_ns);
    case FrameType::kPong: {
      const uint64_t now = now_ns();
      link.stats.rtt_ns = now > f.timestamp_ns ? now - f.timestamp_ns : 0;
      ++link.stats.rtt_samples;
      return;
    }
    case FrameType::kLeave:
      announce_down(
          link, DownReason::kLeft,
          server ? "left" : (f.payload.empty() ? "server closed the connection" : f.payload));
      link.state = State::kClosing;
      disconnect_later(link);
      return;
    case FrameType::kHeartbeat:
    case FrameType::kJoin:
    case FrameType::kWelcome:
    case FrameType::kRefuse:
    case FrameType::kChallenge:
    case FrameType::kBundle:  // UDP's packing; ENet aggregates on its own
      return;  // ENet keeps the link alive itself; a late handshake frame changes nothing
  }
}

void EnetTransport::handle_join(Link& link, const wire::Frame& f) {
  if (link.join_timer) loop_.cancel(link.join_timer);
  link.join_timer = 0;
  size_t members = 0;
  for (const auto& [id, l] : links_) members += l->state == State::kUp;
  if (config_.max_peers > 0 && members >= config_.max_peers) {
    const std::string reason = seam::full_reason(config_);
    spdlog::info("enet: refusing {} ({}): {}", link.info.address,
                 wire::sanitize_for_terminal(f.payload), reason);
    send_control(link, wire::FrameType::kRefuse, reason, 0, link.seq++, now_ns());
    link.announced = true;  // never admitted: nobody above knows it
    link.state = State::kClosing;
    disconnect_later(link);
    return;
  }
  link.info.name = f.payload.empty() ? link.info.address : f.payload;
  // WELCOME carries the member id in its sender field; every other server frame says 0.
  send_control(link, wire::FrameType::kWelcome, fmt::format("welcome, {}", link.info.name), link.id,
               link.seq++, now_ns());
  link.state = State::kUp;
  if (callbacks_.on_peer_up && !silenced_) callbacks_.on_peer_up(link.info);
}

void EnetTransport::drop(Link& link, DownReason reason, const std::string& why) {
  if (config_.side == Side::kServer && link.state == State::kUp)
    spdlog::warn("enet: dropping {} ({}): {}", link.info.address, link.info.name, why);
  if (link.state == State::kJoining && config_.side == Side::kServer) link.announced = true;
  announce_down(link, reason, why);
  link.state = State::kClosing;
  discard_backlog(link);
  if (link.peer) {
    ENetPeer* peer = link.peer;
    peer->data = nullptr;
    link.peer = nullptr;
    enet_peer_disconnect_now(peer, 0);  // frees what was queued for it, while the link exists
  }
  forget(link.id);
}

}  // namespace chat
