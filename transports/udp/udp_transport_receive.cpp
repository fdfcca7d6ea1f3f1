// UdpTransport, receiving: datagram batches, strangers and JOIN, text and framed members, the hub.
#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

constexpr int kReceiveRoundsPerWakeup = 8;  // then let timers and other sockets have a turn

}  // namespace

void UdpTransport::on_readable() {
  for (int round = 0; round < kReceiveRoundsPerWakeup && io_ && !stopped_; ++round) {
    const udp::ReceiveOutcome r = io_->receive();
    if (r.error == ECONNREFUSED) {
      // Only a connected (client) socket hears ICMP errors; a server ignores them.
      if (config_.side == Side::kClient) schedule_refused();
      continue;
    }
    if (r.error != 0) {
      if (r.error != EAGAIN && r.error != EWOULDBLOCK)
        spdlog::debug("udp: receive: {}", net::errno_text(r.error));
      break;
    }
    for (const udp::InboundDatagram& d : r.datagrams) {
      if (stopped_) return;
      count_datagram(d);
      if (!d.truncated && wire::looks_like_bundle(d.bytes))
        receive_bundle(d);  // each frame in it goes through dispatch() on its own
      else
        dispatch(d);
    }
    // A short read means the socket is drained. Count kernel buffers, not datagrams: a coalesced
    // (GRO) buffer holds many. Layers that do not report buffers are judged by datagrams.
    if ((r.buffers ? r.buffers : r.datagrams.size()) < batch_) break;
  }
  flush_pending();
}

void UdpTransport::dispatch(const udp::InboundDatagram& d) {
  if (config_.side == Side::kServer)
    handle_server_datagram(d);
  else
    handle_client_datagram(d);
}

void UdpTransport::handle_server_datagram(const udp::InboundDatagram& d) {
  if (d.truncated) {
    spdlog::warn("udp: dropped a datagram from {} longer than {} bytes", d.from.to_string(),
                 d.bytes.size());
    return;
  }
  udp::Member* member = members_.find(d.from);
  if (!member) return handle_stranger(d);
  if (member->text) {
    members_.touch(member->id, to_time_point(d.received_ns));
    return handle_text(member->id, d);
  }
  const PeerId id = member->id;
  if (d.bytes.empty() || !wire::looks_framed(d.bytes[0])) {
    spdlog::warn("udp: dropped a datagram from {}: not a frame ({} bytes)", d.from.to_string(),
                 d.bytes.size());
    return;
  }
  const wire::DecodeResult r =
      wire::decode_datagram(d.bytes, max_payload_ + wire::kMaxPayloadOverhead, frame_);
  if (r.status != wire::DecodeStatus::kOk) {
    spdlog::warn("udp: dropped a bad datagram from {}: {}", d.from.to_string(), r.reason);
    return;
  }
  // Only a well-formed frame keeps a member alive: garbage from its address proves nothing.
  members_.touch(id, to_time_point(d.received_ns));
  handle_member_frame(id, d);
}

void UdpTransport::handle_stranger(const udp::InboundDatagram& d) {
  if (d.bytes.empty()) return;
  const auto now = to_time_point(d.received_ns);
  if (!wire::looks_framed(d.bytes[0])) {
    // A plain-text peer (nc -u, the course's client) is a member from its first line.
    if (members_.full()) {
      shared_line_ = seam::full_line(config_);
      const udp::OutboundDatagram out{{}, bytes_of(shared_line_), &d.from};
      io_->send({&out, 1});
      return;
    }
    const std::string address = d.from.to_string();
    const PeerId id = *members_.join(d.from, address, true, now);
    Link& link = links_[id];
    link.last_sent = now;
    if (callbacks_.on_peer_up) callbacks_.on_peer_up(PeerInfo{id, address, address, true});
    if (stopped_ || !members_.find(id)) return;
    return handle_text(id, d);
  }
  const wire::DecodeResult r =
      wire::decode_datagram(d.bytes, max_payload_ + wire::kMaxPayloadOverhead, frame_);
  if (r.status != wire::DecodeStatus::kOk) {
    spdlog::debug("udp: dropped a bad datagram from stranger {}: {}", d.from.to_string(), r.reason);
    return;
  }
  if (frame_.type != FrameType::kJoin) {
    spdlog::debug("udp: dropped {} from {}, which has not joined",
                  wire::frame_type_name(frame_.type), d.from.to_string());
    return;
  }
  if (members_.full()) {
    const std::string reason = seam::full_reason(config_);
    spdlog::info("udp: refused {} from {}: {}", wire::sanitize_for_terminal(frame_.payload),
                 d.from.to_string(), reason);
    Link scratch;  // a refusal belongs to no link
    queue_frame(kNoPeer, scratch, &d.from, FrameType::kRefuse, reason, false, false);
    flush_pending();
    return;
  }
  const std::string address = d.from.to_string();
  std::string nick = frame_.payload.substr(0, wire::kMaxNameLength);
  if (nick.empty()) nick = address;
  const PeerId id = *members_.join(d.from, nick, false, now);
  Link& link = links_[id];
  link.stats.bytes_received += d.bytes.size();
  link.tracker.record(frame_.seq, frame_.timestamp_ns, d.received_ns);
  // The WELCOME goes into the queue before anything the role sends from on_peer_up.
  queue_frame(id, link, &members_.find(id)->address, FrameType::kWelcome, {}, false);
  if (callbacks_.on_peer_up) callbacks_.on_peer_up(PeerInfo{id, std::move(nick), address, false});
}

void UdpTransport::handle_text(PeerId id, const udp::InboundDatagram& d) {
  Link* link = find_link(id);
  if (!link) return;
  link->stats.bytes_received += d.bytes.size();
  lines_.clear();
  const std::string_view text(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size());
  // One datagram is one read burst: its last line needs no newline (the course's client sends
  // none), and "a\nb\n" is two messages.
  std::vector<LineEnd> ends;
  splitter_.feed(text, lines_, &ends);
  splitter_.flush(lines_, &ends);
  std::vector<std::string> lines = std::move(lines_);
  lines_.clear();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (stopped_) return;
    Link* l = find_link(id);  // a callback may have closed the member
    if (!l) return;
    ++l->stats.messages_received;
    Message m = Message::chat(std::move(lines[i]));
    m.line_end = ends[i];
    m.received_ns = d.received_ns;
    if (callbacks_.on_message) callbacks_.on_message(id, std::move(m));
  }
}

void UdpTransport::handle_member_frame(PeerId id, const udp::InboundDatagram& d) {
  Link& link = links_[id];
  link.stats.bytes_received += d.bytes.size();
  udp::Arrival arrival = udp::Arrival::kNext;
  if (frame_.type != FrameType::kPong)
    arrival = link.tracker.record(frame_.seq, frame_.timestamp_ns, d.received_ns);
  switch (frame_.type) {
    case FrameType::kJoin: {
      // Our WELCOME was lost: say it again; the member is not new.
      udp::Member* m = members_.find(id);
      queue_frame(id, link, &m->address, FrameType::kWelcome, {}, false);
      return;
    }
    case FrameType::kData:
    case FrameType::kNotice:
      if (arrival == udp::Arrival::kDuplicate) return;
      return deliver(id, link, d);
    case FrameType::kLeave: {
      std::string why = frame_.payload.empty() ? "left" : frame_.payload;
      remove_member(id);
      if (callbacks_.on_peer_down) callbacks_.on_peer_down(id, DownReason::kLeft, why);
      return;
    }
    case FrameType::kHeartbeat:
      return;
    case FrameType::kPing: {
      udp::Member* m = members_.find(id);
      queue_frame(id, link, &m->address, FrameType::kPong, {}, false, false, frame_.seq,
                  frame_.timestamp_ns);
      return;
    }
    case FrameType::kPong:
      return record_pong(link, frame_.timestamp_ns);
    case FrameType::kWelcome:
    case FrameType::kRefuse:
    case FrameType::kBundle:  // taken apart before it gets here; a nested one is refused whole
      spdlog::debug("udp: ignored {} from member {}", wire::frame_type_name(frame_.type), id);
      return;
  }
}

void UdpTransport::deliver(PeerId id, Link& link, const udp::InboundDatagram& d) {
  auto message = wire::frame_to_message(frame_);
  if (!message) {
    spdlog::warn("udp: dropped a bad message from {}: {}", d.from.to_string(),
                 message.error().message);
    return;
  }
  message->received_ns = d.received_ns;
  ++link.stats.messages_received;
  if (callbacks_.on_message) callbacks_.on_message(id, std::move(*message));
}

void UdpTransport::record_pong(Link& link, uint64_t echoed_ns) {
  const uint64_t now = now_ns();
  if (echoed_ns == 0 || echoed_ns > now) return;  // not one of ours
  link.stats.rtt_ns = now - echoed_ns;
  ++link.stats.rtt_samples;
}

}  // namespace chat
