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
#include "transports/udp/datagram_socket.h"
#include "transports/udp/udp_transport.h"
#include "transports/udp/udp_transport_internal.h"

namespace chat {
namespace {

using udp::detail::bytes_of;
using udp::detail::to_time_point;

// An IPv6 header is 20 bytes longer than an IPv4 one, so the same link carries 20 fewer bytes of
// UDP payload to an IPv6 peer (1,452 instead of 1,472 on a 1,500-byte link).
constexpr size_t kIpv6Extra = 20;

// Full bundles all chains may hold before the turn's output is sent early (about 24 MB at the
// default size: what TCP's per-link queues would hold for a thousand members in one turn).
constexpr size_t kMaxFullBundles = 16384;

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
  if (full_bundles_ >= kMaxFullBundles) flush_pending();  // bounds what one turn holds
  OpenBundle* b = nullptr;
  if (link.bundle < open_count_ && open_[link.bundle].peer == peer) b = &open_[link.bundle];
  const size_t limit = b ? b->limit : bundle_limit(to);
  if (wire::kBundleOverhead + frame_bytes > limit) {
    if (b) send_chain_now(*b);  // what was gathered goes first: per-link order holds
    return nullptr;
  }
  if (b && b->bytes.size() - b->start + frame_bytes > limit) close_bundle(*b);
  if (!b) {
    if (open_count_ == open_.size()) open_.emplace_back();
    link.bundle = open_count_;
    b = &open_[open_count_++];
    b->peer = peer;
    b->limit = limit;
    b->has_address = to != nullptr;
    if (to) b->to = *to;
    reset_chain(*b);
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

bool UdpTransport::end_bundle(OpenBundle& b) {
  if (b.frames == 0) return false;
  b.full.push_back(OpenBundle::Full{static_cast<uint32_t>(b.bytes.size() - b.start), b.frames,
                                    b.messages, b.stamp_ns});
  ++full_bundles_;
  return true;
}

void UdpTransport::close_bundle(OpenBundle& b) {
  if (!end_bundle(b)) return;
  // The next bundle starts one stride on; the gap is zeros, ready to pad this one.
  b.start += b.limit;
  b.bytes.resize(b.start, '\0');
  wire::begin_bundle(b.bytes);
  b.frames = 0;
  b.messages = 0;
  if (b.full.size() >= std::max<size_t>(1, udp::DatagramSocket::kMaxSegmentBytes / b.limit))
    send_chain_now(b);
}

void UdpTransport::queue_chain(OpenBundle& b) {
  // The chain's last bundle: nothing follows it before reset_chain(), so it needs no stride of
  // padding after it (zeroing one was a one-message reply's largest single cost).
  end_bundle(b);
  if (b.full.empty()) return;
  // Every bundle but the last is padded to the longest: a run of equal segments to one peer is
  // what the kernel sends as one (UDP_SEGMENT), and the last of a run may be shorter.
  uint32_t longest = 0;
  for (const auto& f : b.full)
    if (f.frames > 1) longest = std::max(longest, f.length);
  const uint32_t sender = config_.side == Side::kServer ? 0 : my_id_;
  auto* base = reinterpret_cast<uint8_t*>(b.bytes.data());
  for (size_t i = 0; i < b.full.size(); ++i) {
    const OpenBundle::Full& f = b.full[i];
    const size_t at = i * b.limit;
    std::span<const uint8_t> bytes;
    if (f.frames == 1) {
      bytes = {base + at + wire::kBundleOverhead, f.length - wire::kBundleOverhead};
    } else {
      const size_t length = i + 1 < b.full.size() ? longest : f.length;
      wire::write_bundle_header(base + at, length - wire::kBundleOverhead, sender, f.stamp_ns,
                                f.frames);
      bytes = {base + at, length};
    }
    if (pending_.size() >= kSendQueueLimit) send_queued();
    pending_.push_back(Pending{b.peer, f.messages, 0, b.has_address, b.to, bytes});
  }
  full_bundles_ -= b.full.size();
  b.full.clear();
}

void UdpTransport::reset_chain(OpenBundle& b) {
  full_bundles_ -= b.full.size();
  b.full.clear();
  b.bytes.clear();
  b.start = 0;
  wire::begin_bundle(b.bytes);
  b.frames = 0;
  b.messages = 0;
}

void UdpTransport::send_chain_now(OpenBundle& b) {
  queue_chain(b);
  send_queued();  // the chain's bytes are reused from here on
  reset_chain(b);
}

void UdpTransport::seal_bundles() {
  for (size_t i = 0; i < open_count_; ++i) queue_chain(open_[i]);
  send_queued();
  for (size_t i = 0; i < open_count_; ++i) {
    OpenBundle& b = open_[i];
    if (Link* link = find_link(b.peer); link && link->bundle == i) link->bundle = kNoBundle;
    reset_chain(b);
    b.peer = kNoPeer;
  }
  open_count_ = 0;
}

size_t UdpTransport::broadcast_bundled(const Message& message, PeerId except) {
  const uint64_t now = now_ns();
  shared_frame_.clear();
  wire::encode_message_frame(message, 0, 0, now, shared_frame_);
  const auto when = to_time_point(now);
  std::optional<bool> line_fits;  // the text members' line is made on first need
  size_t queued = 0;
  for (const udp::Member& m : members_.members()) {
    if (m.id == except) continue;
    Link* link = find_link(m.id);
    if (!link) continue;
    if (m.text) {
      const std::string* line = shared_text_line(message, line_fits);
      if (!line) continue;
      next_slot().append(*line);
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

udp::Member* UdpTransport::count_datagram(const udp::InboundDatagram& d) {
  Link* link = nullptr;
  udp::Member* m = nullptr;
  if (config_.side == Side::kClient) {
    link = client_state_ == ClientState::kJoined ? &server_link_ : nullptr;
  } else if ((m = members_.find(d.from))) {
    link = find_link(m->id);
  }
  if (link) ++link->stats.datagrams_received;
  return m;
}

void UdpTransport::receive_bundle(const udp::InboundDatagram& d) {
  const wire::DecodeResult r =
      wire::decode_bundle(d.bytes, max_payload_ + wire::kMaxPayloadOverhead, inner_);
  if (r.status != wire::DecodeStatus::kOk) return note_malformed(d, "bad bundle: " + r.reason);
  // inner_ points into the receive buffer, which stays put until the next receive().
  const size_t frames = inner_.size();
  for (size_t i = 0; i < frames && !stopped_; ++i)
    dispatch(udp::InboundDatagram{inner_[i], d.from, d.received_ns, false});
}

}  // namespace chat
