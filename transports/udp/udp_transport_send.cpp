// UdpTransport, sending: size checks, the send queue and its batched flush, send and broadcast.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>
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
using wire::FrameType;

}  // namespace

Result<void> UdpTransport::check_size(size_t text_size, size_t datagram_size) const {
  if (text_size <= max_payload_ && datagram_size <= wire::kMaxUdpDatagram) return {};
  if (text_size > max_payload_ && max_payload_ < wire::kMaxUdpFramePayload)
    return make_error(
        fmt::format("message of {} bytes exceeds the configured maximum payload of {} bytes",
                    text_size, max_payload_));
  return make_error(fmt::format(
      "message of {} bytes cannot fit one UDP datagram ({} bytes with framing; IPv4 limit: "
      "65,507 bytes per datagram)",
      text_size, datagram_size));
}

std::string& UdpTransport::next_slot() {
  if (pending_.size() >= kSendQueueLimit) send_queued();
  if (slots_.size() <= pending_.size()) slots_.resize(pending_.size() + 1);
  std::string& slot = slots_[pending_.size()];
  slot.clear();
  return slot;
}

void UdpTransport::commit_slot(PeerId peer, const net::SocketAddress* to, uint32_t messages,
                               uint32_t skip) {
  pending_.push_back(
      Pending{peer, messages, skip, to != nullptr, to ? *to : net::SocketAddress{}, {}});
  schedule_flush();
}

void UdpTransport::schedule_flush() {
  // Inside on_readable (not a loop nested in one of its callbacks): it flushes before it returns.
  if (receiving_depth_ == loop_.depth()) return;
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    // Owned by `this` (forgotten in the destructor) rather than guarded: no allocation.
    loop_.defer_for(this, [this] {
      flush_scheduled_ = false;
      flush_pending();
    });
  }
}

const std::string* UdpTransport::shared_text_line(const Message& message,
                                                  std::optional<bool>& fits) {
  if (!fits) {
    shared_line_ = wire::message_to_line(message);
    shared_line_.append(line_end_bytes(message.line_end));
    fits = shared_line_.size() <= wire::kMaxUdpDatagram;
  }
  return *fits ? &shared_line_ : nullptr;
}

void UdpTransport::queue_frame(PeerId peer, Link& link, const net::SocketAddress* to,
                               wire::FrameType type, std::string_view payload, bool is_message,
                               bool sequenced, uint32_t seq, uint64_t timestamp) {
  std::string* bundle = bundle_for(peer, link, to, wire::kHeaderSize + payload.size());
  std::string& slot = bundle ? *bundle : next_slot();
  wire::Frame f;
  f.type = type;
  f.sender = config_.side == Side::kServer ? (type == FrameType::kWelcome ? peer : 0) : my_id_;
  // The hub hands out a token (WELCOME: the member's secret; CHALLENGE: a cookie); the member
  // stamps its link's token on everything it sends.
  const bool hands_out = type == FrameType::kWelcome || type == FrameType::kChallenge;
  f.token = config_.side == Side::kClient || hands_out ? link.token : 0;
  const uint64_t now = now_ns();
  f.seq = sequenced ? link.send_seq++ : seq;
  f.timestamp_ns = sequenced ? now : timestamp;
  f.payload.assign(payload);
  wire::encode_frame(f, slot);
  link.last_sent = to_time_point(now);
  if (bundle)
    bundled(link, is_message);
  else
    commit_slot(peer, to, is_message);
}

void UdpTransport::queue_message(PeerId peer, Link& link, const net::SocketAddress* to,
                                 const Message& message) {
  const size_t frame_bytes =
      wire::kHeaderSize + wire::payload_overhead(message) + message.text.size();
  std::string* bundle = bundle_for(peer, link, to, frame_bytes);
  std::string& slot = bundle ? *bundle : next_slot();
  const uint64_t now = now_ns();
  const size_t at = slot.size();  // a bundle already holds frames: stamp the one appended here
  wire::encode_message_frame(message, config_.side == Side::kServer ? 0 : my_id_, link.send_seq++,
                             now, slot);
  if (config_.side == Side::kClient)
    wire::stamp_token(reinterpret_cast<uint8_t*>(slot.data() + at), link.token);
  link.last_sent = to_time_point(now);
  if (bundle)
    bundled(link, true);
  else
    commit_slot(peer, to, 1);
}

void UdpTransport::queue_text(PeerId peer, Link& link, const net::SocketAddress& to,
                              std::string_view line, bool is_message) {
  std::string& slot = next_slot();
  slot.append(line);
  link.last_sent = to_time_point(now_ns());
  commit_slot(peer, &to, is_message);
}

void UdpTransport::flush_pending() {
  seal_bundles();
  send_queued();
}

void UdpTransport::send_queued() {
  if (pending_.empty() || !io_) {
    pending_.clear();
    return;
  }
  out_.clear();
  out_links_.clear();
  out_messages_.clear();
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Pending& p = pending_[i];
    out_.push_back(
        udp::OutboundDatagram{{},
                              p.bytes.empty() ? bytes_of(slots_[i]).subspan(p.skip) : p.bytes,
                              p.has_address ? &p.to : nullptr});
    out_links_.push_back(find_link(p.peer));
    out_messages_.push_back(p.messages);
  }
  pending_.clear();
  send_batch();
}

void UdpTransport::send_batch() {
  const std::span<const udp::OutboundDatagram> batch = out_;
  size_t i = 0;
  while (i < batch.size()) {
    const udp::SendOutcome r = io_->send(batch.subspan(i));
    for (size_t k = i; k < i + r.sent; ++k) {
      if (Link* link = out_links_[k]) {
        link->stats.bytes_sent += batch[k].head.size() + batch[k].body.size();
        link->stats.messages_sent += out_messages_[k];
      }
    }
    i += r.sent;
    if (i >= batch.size()) break;
    // UDP is lossy by nature: what the kernel will not take now is dropped, never queued.
    const bool buffer_full = r.error == EAGAIN || r.error == EWOULDBLOCK || r.error == ENOBUFS;
    const size_t failed = buffer_full ? batch.size() - i : 1;
    for (size_t k = i; k < i + failed; ++k)
      if (Link* link = out_links_[k])
        link->stats.dropped += std::max<uint32_t>(out_messages_[k], 1);
    if (r.error == ECONNREFUSED && config_.side == Side::kClient)
      schedule_refused();
    else if (!buffer_full)
      spdlog::debug("udp: send to {}: {}", batch[i].to ? batch[i].to->to_string() : "the hub",
                    net::errno_text(r.error));
    i += failed;
  }
}

Result<void> UdpTransport::send(PeerId peer, const Message& message) {
  if (stopped_) return make_error("udp transport is shut down");
  if (config_.side == Side::kClient) {
    if (peer != kServerPeer) return make_error(fmt::format("no such peer {}", peer));
    if (client_state_ != ClientState::kJoined)
      return make_error(client_state_ == ClientState::kJoining ? "not admitted to the udp hub yet"
                                                               : "not connected to the udp hub");
    const size_t payload = wire::payload_overhead(message) + message.text.size();
    if (auto r = check_size(message.text.size(), wire::kHeaderSize + payload); !r) return r;
    queue_message(kServerPeer, server_link_, nullptr, message);
    return {};
  }
  udp::Member* member = members_.find(peer);
  Link* link = find_link(peer);
  if (!member || !link) return make_error(fmt::format("no such peer {}", peer));
  if (member->text) {
    std::string line = wire::message_to_line(message);
    line.append(line_end_bytes(message.line_end));
    if (auto r = check_size(message.text.size(), line.size()); !r) return r;
    queue_text(peer, *link, member->address, line, true);
    return {};
  }
  const size_t payload = wire::payload_overhead(message) + message.text.size();
  if (auto r = check_size(message.text.size(), wire::kHeaderSize + payload); !r) return r;
  queue_message(peer, *link, &member->address, message);
  return {};
}

size_t UdpTransport::broadcast(const Message& message, PeerId except) {
  if (stopped_) return 0;
  if (config_.side == Side::kClient) {
    if (except == kServerPeer) return 0;
    return send(kServerPeer, message).ok() ? 1 : 0;
  }
  const size_t payload = wire::payload_overhead(message) + message.text.size();
  if (auto r = check_size(message.text.size(), wire::kHeaderSize + payload); !r) {
    spdlog::warn("udp: broadcast not sent: {}", r.error().message);
    return 0;
  }
  if (config_.udp_bundle_bytes > 0 &&
      wire::kBundleOverhead + wire::kHeaderSize + payload <= config_.udp_bundle_bytes)
    return broadcast_bundled(message, except);
  flush_pending();  // keep per-link order: anything queued earlier goes first
  wire::Frame f = wire::message_to_frame(message);
  f.timestamp_ns = now_ns();
  shared_frame_.clear();
  wire::encode_frame(f, shared_frame_);
  const auto body = bytes_of(shared_frame_).subspan(wire::kHeaderSize);
  std::optional<bool> line_fits;  // the text members' line is made on first need

  const auto now = to_time_point(f.timestamp_ns);
  const auto members = members_.members();
  heads_.resize(members.size());
  out_.clear();
  out_links_.clear();
  for (const udp::Member& m : members) {
    if (m.id == except) continue;
    Link* link = find_link(m.id);
    if (!link) continue;
    if (m.text) {
      const std::string* line = shared_text_line(message, line_fits);
      if (!line) continue;
      out_.push_back(udp::OutboundDatagram{{}, bytes_of(*line), &m.address});
    } else {
      // One encoding for everyone; only the per-link sequence number differs.
      auto& head = heads_[out_.size()];
      std::memcpy(head.data(), shared_frame_.data(), wire::kHeaderSize);
      wire::stamp_seq(head.data(), link->send_seq++);
      out_.push_back(udp::OutboundDatagram{head, body, &m.address});
    }
    link->last_sent = now;
    out_links_.push_back(link);
  }
  out_messages_.assign(out_.size(), 1);
  if (!out_.empty()) send_batch();
  return out_.size();
}

void UdpTransport::send_control_to_members(wire::FrameType type, bool only_idle,
                                           udp::TimePoint now) {
  if (!io_) return;
  flush_pending();
  wire::Frame f;
  f.type = type;
  f.timestamp_ns = now_ns();
  shared_frame_.clear();
  wire::encode_frame(f, shared_frame_);
  const auto members = members_.members();
  heads_.resize(members.size());
  out_.clear();
  out_links_.clear();
  for (const udp::Member& m : members) {
    if (m.text) continue;  // a terminal would show our frames as garbage
    Link* link = find_link(m.id);
    if (!link || (only_idle && now - link->last_sent < config_.heartbeat)) continue;
    auto& head = heads_[out_.size()];
    std::memcpy(head.data(), shared_frame_.data(), wire::kHeaderSize);
    wire::stamp_seq(head.data(), link->send_seq++);
    out_.push_back(udp::OutboundDatagram{head, {}, &m.address});
    link->last_sent = now;
    out_links_.push_back(link);
  }
  out_messages_.assign(out_.size(), 0);
  if (!out_.empty()) send_batch();
}

void UdpTransport::ping(PeerId peer) {
  if (stopped_) return;
  if (config_.side == Side::kClient) {
    if (peer == kServerPeer && client_state_ == ClientState::kJoined)
      queue_frame(kServerPeer, server_link_, nullptr, FrameType::kPing, {}, false);
    return;
  }
  udp::Member* m = members_.find(peer);
  Link* link = find_link(peer);
  if (m && link && !m->text) queue_frame(peer, *link, &m->address, FrameType::kPing, {}, false);
}

}  // namespace chat
