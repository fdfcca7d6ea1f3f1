// UdpTransport, bundling: one loop turn's frames for a member packed into datagrams up to the
// path MTU, and the receiving end that takes a bundle apart again.
//
// Why: on loopback and on real links alike, what bounds a UDP hub is the kernel's work per
// datagram (building the skb, the hop, waking the receiver), not per byte. A hub relaying a burst
// of k messages to n members made n·k datagrams; bundled it makes about n·k·(frame size)/MTU. The
// bound is the path MTU, not the 65,507 bytes a loopback datagram may hold: past the MTU a datagram
// is fragmented, and losing any fragment loses all of it.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "src/util/clock.h"
#include "src/wire/bundle_codec.h"
#include "src/wire/message_codec.h"
#include "transports/udp/udp_transport.h"
#include "transports/udp/udp_transport_internal.h"

namespace chat {
namespace {

using udp::detail::bytes_of;
using udp::detail::to_time_point;

// An IPv6 header is 20 bytes longer than an IPv4 one, so the same link carries 20 fewer bytes of
// UDP payload to an IPv6 peer (1,452 instead of 1,472 on a 1,500-byte link).
constexpr size_t kIpv6Extra = 20;

bool is_ipv6_peer(const net::SocketAddress& a) {
  if (a.family() != AF_INET6) return false;
  const auto* six = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  return !IN6_IS_ADDR_V4MAPPED(&six->sin6_addr);  // dual-stack sockets see IPv4 peers mapped
}

}  // namespace

size_t UdpTransport::bundle_limit(const net::SocketAddress* to) const {
  const net::SocketAddress& peer = to ? *to : server_address_;
  size_t limit = std::min(config_.udp_bundle_bytes, wire::kMaxUdpDatagram);
  if (is_ipv6_peer(peer)) limit = limit > kIpv6Extra ? limit - kIpv6Extra : 0;
  return limit;
}

std::string* UdpTransport::bundle_for(PeerId peer, Link& link, const net::SocketAddress* to,
                                      size_t frame_bytes) {
  if (config_.udp_bundle_bytes == 0 || peer == kNoPeer) return nullptr;
  OpenBundle* b = nullptr;
  if (link.bundle < open_count_ && open_[link.bundle].peer == peer) b = &open_[link.bundle];
  const size_t limit = b ? b->limit : bundle_limit(to);
  if (wire::kBundleOverhead + frame_bytes > limit) {
    if (b) seal_bundle(*b);  // what was gathered goes first: per-link order holds
    return nullptr;
  }
  if (b && b->bytes.size() + frame_bytes > limit) seal_bundle(*b);
  if (!b) {
    if (open_count_ == open_.size()) open_.emplace_back();
    link.bundle = open_count_;
    b = &open_[open_count_++];
    b->peer = peer;
    b->limit = limit;
    b->has_address = to != nullptr;
    if (to) b->to = *to;
    b->bytes.clear();
    wire::begin_bundle(b->bytes);
    b->frames = 0;
    b->messages = 0;
  }
  schedule_flush();
  return &b->bytes;
}

void UdpTransport::bundled(Link& link, bool is_message) {
  OpenBundle& b = open_[link.bundle];
  ++b.frames;
  b.messages += is_message;
  b.stamp_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(link.last_sent.time_since_epoch())
          .count());
}

void UdpTransport::seal_bundle(OpenBundle& b) {
  if (b.frames == 0) return;
  std::string& slot = next_slot();
  uint32_t skip = 0;
  if (b.frames == 1)
    skip = wire::kBundleOverhead;  // nothing to bundle: the frame leaves as itself
  else
    wire::finish_bundle(b.bytes, 0, config_.side == Side::kServer ? 0 : my_id_, b.stamp_ns,
                        b.frames);
  std::swap(slot, b.bytes);  // the bundle keeps the slot's old buffer for its next frames
  commit_slot(b.peer, b.has_address ? &b.to : nullptr, b.messages, skip);
  b.bytes.clear();
  wire::begin_bundle(b.bytes);
  b.frames = 0;
  b.messages = 0;
}

void UdpTransport::seal_bundles() {
  for (size_t i = 0; i < open_count_; ++i) {
    OpenBundle& b = open_[i];
    seal_bundle(b);
    if (Link* link = find_link(b.peer); link && link->bundle == i) link->bundle = kNoBundle;
    b.peer = kNoPeer;
  }
  open_count_ = 0;
}

size_t UdpTransport::broadcast_bundled(const Message& message, PeerId except) {
  const uint64_t now = now_ns();
  shared_frame_.clear();
  wire::encode_message_frame(message, 0, 0, now, shared_frame_);
  const auto when = to_time_point(now);
  bool line_ready = false;
  bool line_fits = true;
  size_t queued = 0;
  for (const udp::Member& m : members_.members()) {
    if (m.id == except) continue;
    Link* link = find_link(m.id);
    if (!link) continue;
    if (m.text) {
      if (!line_ready) {
        line_ready = true;
        shared_line_ = wire::message_to_line(message);
        shared_line_.append(line_end_bytes(message.line_end));
        line_fits = shared_line_.size() <= wire::kMaxUdpDatagram;
      }
      if (!line_fits) continue;
      next_slot().append(shared_line_);
      link->last_sent = when;
      commit_slot(m.id, &m.address, 1);
    } else {
      // One encoding for everyone; only the per-link sequence number differs.
      std::string* bundle = bundle_for(m.id, *link, &m.address, shared_frame_.size());
      std::string& out = bundle ? *bundle : next_slot();
      const size_t at = out.size();
      out.append(shared_frame_);
      wire::stamp_seq(reinterpret_cast<uint8_t*>(out.data() + at), link->send_seq++);
      link->last_sent = when;
      if (bundle)
        bundled(*link, true);
      else
        commit_slot(m.id, &m.address, 1);
    }
    ++queued;
  }
  return queued;
}

void UdpTransport::count_datagram(const udp::InboundDatagram& d) {
  Link* link = nullptr;
  if (config_.side == Side::kClient) {
    link = client_state_ == ClientState::kJoined ? &server_link_ : nullptr;
  } else if (const udp::Member* m = members_.find(d.from)) {
    link = find_link(m->id);
  }
  if (link) ++link->stats.datagrams_received;
}

void UdpTransport::receive_bundle(const udp::InboundDatagram& d) {
  const wire::DecodeResult r =
      wire::decode_bundle(d.bytes, max_payload_ + wire::kMaxPayloadOverhead, inner_);
  if (r.status != wire::DecodeStatus::kOk) {
    spdlog::warn("udp: dropped a bad bundle from {}: {}", d.from.to_string(), r.reason);
    return;
  }
  // inner_ points into the receive buffer, which stays put until the next receive().
  const size_t frames = inner_.size();
  for (size_t i = 0; i < frames && !stopped_; ++i)
    dispatch(udp::InboundDatagram{inner_[i], d.from, d.received_ns, false});
}

}  // namespace chat
