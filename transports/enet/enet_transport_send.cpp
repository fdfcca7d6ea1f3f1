// Packets out, closing and shutdown, and what the transport reports about its links.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "src/util/clock.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"
#include "transports/enet/enet_transport.h"

namespace chat {

namespace {

// Bytes of packets one link may have inside ENet, sent or waiting to be: under ENet's own window
// for a peer of unlimited bandwidth (64 KiB in flight), so ENet never walks a queue it cannot send;
// and all links together no more than a hub's socket buffer can take the acknowledgements of.
constexpr uint64_t kMostShare = 48 * 1024;
constexpr uint64_t kLeastShare = 4 * 1024;
constexpr uint64_t kAllShares = 4 * 1024 * 1024;
// ENet resends a packet unacknowledged after its smoothed round trip plus four variances, and on
// loopback that is a millisecond or two: a receiver that is a few milliseconds late (a thousand
// clients on one thread) gets every packet twice, and the duplicates make it later still. The
// variance is kept at 50 ms or more, so the first resend waits 200 ms plus the round trip
// (the least Linux TCP waits).
constexpr enet_uint32 kLeastRttVariance = 50;

}  // namespace

uint64_t EnetTransport::share() const {
  return std::clamp<uint64_t>(kAllShares / std::max<size_t>(links_.size(), 1), kLeastShare,
                              kMostShare);
}

void EnetTransport::steady_resends(ENetPeer* peer) {
  if (peer && peer->roundTripTimeVariance < kLeastRttVariance)
    peer->roundTripTimeVariance = kLeastRttVariance;
}

void EnetTransport::on_packet_freed(ENetPacket* packet) {
  // ENet frees a reliable packet once every peer it went to has acknowledged it (or is reset).
  // We are inside ENet here: room in the window is only noted, and filled after the service.
  auto* link = static_cast<Link*>(packet->userData);
  if (link == nullptr) return;
  link->queued -= std::min<uint64_t>(link->queued, packet->dataLength);
  link->in_enet -= std::min<uint64_t>(link->in_enet, packet->dataLength);
  steady_resends(link->peer);  // ENet has just folded this acknowledgement's round trip in
  if (!link->backlog.empty() && !link->feed_pending && link->owner) {
    link->feed_pending = true;
    link->owner->feed_.push_back(link->id);
  }
}

void EnetTransport::feed(Link& link) {
  const uint64_t limit = share();
  while (link.peer && !link.backlog.empty() &&
         (link.in_enet == 0 || link.in_enet + link.backlog.front()->dataLength <= limit)) {
    ENetPacket* packet = link.backlog.front();
    link.backlog.pop_front();
    link.in_enet += packet->dataLength;
    if (enet_peer_send(link.peer, 0, packet) < 0) {
      enet_packet_destroy(packet);
      continue;
    }
    unflushed_ = true;
  }
  if (link.backlog.empty() && link.leave_when_sent && link.peer) {
    link.leave_when_sent = false;
    enet_peer_disconnect_later(link.peer, kGoodbye);
  }
}

void EnetTransport::feed_all() {
  if (feed_.empty()) return;
  std::vector<PeerId> ids;
  ids.swap(feed_);
  for (const PeerId id : ids) {
    Link* link = find(id);
    if (link == nullptr) continue;
    link->feed_pending = false;
    feed(*link);
  }
}

void EnetTransport::disconnect_later(Link& link) {
  // After what is queued: ENet sends the disconnect once every reliable packet it holds is
  // acknowledged, so what still waits in the backlog goes to it first.
  if (link.peer == nullptr) return;
  if (link.backlog.empty())
    enet_peer_disconnect_later(link.peer, kGoodbye);
  else
    link.leave_when_sent = true;
}

void EnetTransport::discard_backlog(Link& link) {
  while (!link.backlog.empty()) {
    ENetPacket* packet = link.backlog.front();
    link.backlog.pop_front();
    link.queued -= std::min<uint64_t>(link.queued, packet->dataLength);
    packet->freeCallback = nullptr;  // never ENet's: the window it frees was never taken
    enet_packet_destroy(packet);
  }
}

Result<void> EnetTransport::queue(Link& link, std::string_view bytes, bool counted) {
  if (link.peer == nullptr) return make_error(fmt::format("enet: peer {} is gone", link.id));
  if (counted && link.queued > 0 && link.queued + bytes.size() > config_.high_water_bytes) {
    if (config_.overflow == OverflowPolicy::kDrop) {
      ++link.stats.dropped;
      return make_error(fmt::format(
          "{}: output queue full ({} bytes queued, high-water mark {} bytes); message dropped",
          link.info.name, link.queued, config_.high_water_bytes));
    }
    const std::string why = fmt::format("slow reader: {} bytes queued", link.queued);
    const std::string name = link.info.name;
    drop(link, DownReason::kOverflow, why);
    return make_error(fmt::format("{}: {}; disconnected", name, why));
  }
  ENetPacket* packet = enet_packet_create(bytes.data(), bytes.size(), ENET_PACKET_FLAG_RELIABLE);
  if (packet == nullptr) return make_error("enet: out of memory for a packet");
  packet->userData = &link;
  packet->freeCallback = &EnetTransport::on_packet_freed;
  link.queued += bytes.size();
  link.backlog.push_back(packet);
  feed(link);
  link.stats.bytes_sent += bytes.size();
  if (counted) ++link.stats.messages_sent;
  if (link.queued >= low_water() && !link.owes_writable) {
    link.owes_writable = true;
    owing_writable_.push_back(link.id);
  }
  schedule_flush();
  return {};
}

void EnetTransport::schedule_flush() {
  unflushed_ = true;
  // Until it is acknowledged the packet may need resending: service at the busy period.
  if (!timer_busy_) arm_service_timer(true);
  // Inside service() its own flush follows; otherwise everything sent in one loop turn leaves
  // together, once the turn's handlers are done: one walk of the slots, not one per send.
  if (in_service_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  guard_.defer(loop_, [this] {
    flush_scheduled_ = false;
    if (host_ && unflushed_) {
      unflushed_ = false;
      enet_host_flush(host_);
    }
  });
}

void EnetTransport::send_control(Link& link, wire::FrameType type, std::string_view payload,
                                 uint32_t sender, uint32_t seq, uint64_t timestamp_ns) {
  wire::Frame f;
  f.type = type;
  f.sender = sender;
  f.seq = seq;
  f.timestamp_ns = timestamp_ns;
  f.payload.assign(payload);
  std::string bytes;
  wire::encode_frame(f, bytes);
  (void)queue(link, bytes, false);  // control frames bypass the high-water mark
}

Result<void> EnetTransport::send(PeerId peer, const Message& message) {
  if (shutting_down_) return make_error("enet: the transport is shutting down");
  Link* link = find_up(peer);
  if (link == nullptr) return make_error(fmt::format("enet: no connected peer {}", peer));
  if (message.text.size() > config_.max_payload)
    return make_error(
        fmt::format("message of {} bytes exceeds the maximum payload of {} bytes (--max-payload)",
                    message.text.size(), config_.max_payload));
  bytes_.clear();
  wire::encode_message_frame(message, own_sender(), link->seq++, now_ns(), bytes_);
  return queue(*link, bytes_, true);
}

size_t EnetTransport::broadcast(const Message& message, PeerId except) {
  if (shutting_down_) return 0;
  if (message.text.size() > config_.max_payload) {
    spdlog::warn("enet: broadcast not sent: message of {} bytes exceeds {} bytes",
                 message.text.size(), config_.max_payload);
    return 0;
  }
  std::vector<PeerId> ids;
  for (const auto& [id, link] : links_)
    if (id != except && link->state == State::kUp) ids.push_back(id);
  size_t sent = 0;
  for (const PeerId id : ids) {
    Link* link = find_up(id);  // an overflow may have dropped one on the way
    if (link == nullptr) continue;
    bytes_.clear();
    wire::encode_message_frame(message, own_sender(), link->seq++, now_ns(), bytes_);
    if (queue(*link, bytes_, true)) ++sent;
  }
  return sent;
}

void EnetTransport::ping(PeerId peer) {
  if (Link* link = find_up(peer))
    send_control(*link, wire::FrameType::kPing, {}, own_sender(), link->seq++, now_ns());
}

void EnetTransport::close(PeerId peer, std::string_view reason) {
  Link* link = find_up(peer);
  if (link == nullptr) return;
  announce_down(*link, DownReason::kClosed, std::string(reason));
  send_control(*link, wire::FrameType::kLeave, reason, own_sender(), link->seq++, now_ns());
  link->state = State::kClosing;
  disconnect_later(*link);
}

void EnetTransport::announce_down(Link& link, DownReason reason, std::string why) {
  if (link.announced) return;
  link.announced = true;
  if (link.state == State::kJoining && config_.side == Side::kServer) return;
  // Deferred, as on the other wires: the role may be iterating its members when a link fails.
  guard_.defer(loop_, [this, id = link.id, reason, why = std::move(why)] {
    if (callbacks_.on_peer_down && !silenced_) callbacks_.on_peer_down(id, reason, why);
  });
}

void EnetTransport::forget(PeerId id) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  if (it->second->join_timer) loop_.cancel(it->second->join_timer);
  discard_backlog(*it->second);
  resends_ += resends(*it->second);
  links_.erase(it);
  maybe_finish_shutdown();
}

void EnetTransport::shutdown(std::chrono::milliseconds linger, std::function<void()> done) {
  if (shutting_down_) {
    if (done) guard_.defer(loop_, std::move(done));
    return;
  }
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  if (client_deadline_) loop_.cancel(client_deadline_);
  client_deadline_ = 0;
  const std::string reason =
      config_.side == Side::kServer ? "server shutting down" : "client leaving";
  std::vector<PeerId> ids;
  for (const auto& [id, link] : links_) ids.push_back(id);
  for (const PeerId id : ids) {
    Link* link = find(id);
    if (link == nullptr) continue;
    if (link->state == State::kUp) {
      close(id, reason);
    } else if (link->state == State::kJoining) {
      link->announced = true;  // never admitted: nobody above knows it, so nobody is told
      drop(*link, DownReason::kClosed, reason);
    }
  }
  shutdown_timer_ = guard_.defer_after(loop_, linger, [this] {
    shutdown_timer_ = 0;
    finish_shutdown();
  });
  if (host_) enet_host_flush(host_);
  maybe_finish_shutdown();
}

void EnetTransport::maybe_finish_shutdown() {
  if (shutting_down_ && !shutdown_complete_ && links_.empty()) finish_shutdown();
}

void EnetTransport::finish_shutdown() {
  if (shutdown_complete_) return;
  shutdown_complete_ = true;
  if (shutdown_timer_) loop_.cancel(shutdown_timer_);
  shutdown_timer_ = 0;
  std::vector<PeerId> ids;
  for (const auto& [id, link] : links_) ids.push_back(id);
  for (const PeerId id : ids)
    if (Link* link = find(id)) drop(*link, DownReason::kClosed, "shutdown");
  // What the load cost on the wire: datagrams per message, and how many ENet sent twice.
  if (host_ && config_.side == Side::kServer)
    spdlog::info("enet: {} datagrams sent, {} received, {} packets resent", host_->totalSentPackets,
                 host_->totalReceivedPackets, resends_);
  if (host_) enet_host_flush(host_);
  guard_.defer(loop_, [this] {
    silenced_ = true;
    if (auto done = std::move(shutdown_done_)) done();
  });
}

EnetTransport::Link* EnetTransport::find(PeerId id) const {
  auto it = links_.find(id);
  return it == links_.end() ? nullptr : it->second.get();
}

EnetTransport::Link* EnetTransport::find_up(PeerId id) const {
  Link* link = find(id);
  return link && link->state == State::kUp ? link : nullptr;
}

EnetTransport::Link* EnetTransport::link_of(ENetPeer* peer) const {
  if (peer == nullptr || peer->data == nullptr) return nullptr;
  return find(static_cast<PeerId>(reinterpret_cast<uintptr_t>(peer->data)));
}

PeerStats EnetTransport::stats(PeerId peer) const {
  const Link* link = find(peer);
  if (link == nullptr) return {};
  PeerStats s = link->stats;
  s.queued_bytes = link->queued;
  s.retransmits = resends(*link);
  return s;
}

std::string EnetTransport::describe_stats(PeerId peer) const {
  const Link* link = find(peer);
  if (link == nullptr || link->peer == nullptr) return {};
  const ENetPeer& p = *link->peer;
  // ENet's own view of the link: its smoothed round trip, its loss estimate, its resends.
  return fmt::format("enet rtt {} ms (var {}) | loss {:.1f}% | retransmits {}", p.roundTripTime,
                     p.roundTripTimeVariance,
                     100.0 * p.packetLoss / static_cast<double>(ENET_PEER_PACKET_LOSS_SCALE),
                     resends(*link));
}

std::vector<PeerInfo> EnetTransport::peers() const {
  std::vector<PeerInfo> out;
  for (const auto& [id, link] : links_)
    if (link->state == State::kUp) out.push_back(link->info);
  return out;
}

net::SocketAddress EnetTransport::local_address() const {
  return host_ ? net::local_address(host_->socket) : net::SocketAddress{};
}

}  // namespace chat
