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
#include "transports/udp/admission.h"
#include "transports/udp/udp_transport.h"
#include "transports/udp/udp_transport_internal.h"

namespace chat {
namespace {

using udp::detail::bytes_of;
using udp::detail::to_time_point;
using wire::FrameType;

constexpr int kReceiveRoundsPerWakeup = 8;  // then let timers and other sockets have a turn
// Datagrams from unknown addresses handled per wakeup (at most 8 × 64 are read); the rest are
// dropped unanswered, so admission work stays a fraction of each turn however hard it is pushed.
constexpr size_t kStrangerWorkPerWakeup = 256;

}  // namespace

void UdpTransport::on_readable() {
  // What this turn's callbacks send is flushed at its end (flush_pending below), so until then
  // schedule_flush() need not defer a flush of its own: a ping-pong's reply leaves without a
  // deferred call (that, and the empty flush it ran, was ~170 instructions per round trip at each
  // end, by callgrind). Any early return hands the duty back to schedule_flush().
  struct Receiving {
    UdpTransport& t;
    ~Receiving() {
      t.receiving_depth_ = -1;
      if (!t.pending_.empty() || t.open_count_ > 0) t.schedule_flush();
    }
  } receiving{*this};
  receiving_depth_ = loop_.depth();
  // Strangers get a bounded share of each wakeup: a flood of forged sources then costs the
  // members some reading, never their answers, the timers or the signals.
  stranger_work_ = 0;
  bool drained = false;
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
      drained = true;
      break;
    }
    if (r.overflowed > overflowed_) {
      overflowed_ = r.overflowed;
      overflowed_at_ = udp::SteadyClock::now();
    }
    for (const udp::InboundDatagram& d : r.datagrams) {
      if (stopped_) return;
      udp::Member* sender = count_datagram(d);  // one lookup serves the count and the frame
      if (!d.truncated && wire::looks_like_bundle(d.bytes))
        receive_bundle(d);  // each frame in it goes through dispatch() on its own
      else if (config_.side == Side::kServer)
        handle_server_datagram(d, sender);
      else
        handle_client_datagram(d);
    }
    // A short read means the socket is drained. Count kernel buffers, not datagrams: a coalesced
    // (GRO) buffer holds many. Layers that do not report buffers are judged by datagrams.
    if ((r.buffers ? r.buffers : r.datagrams.size()) < batch_) {
      drained = true;
      break;
    }
  }
  // Expiry trusts silence only up to the last moment everything that had arrived was read:
  // datagrams still queued in the kernel are proof of life not yet looked at.
  if (drained) caught_up_ = udp::SteadyClock::now();
  behind_ = !drained;
  flush_pending();
}

void UdpTransport::note_malformed(const udp::InboundDatagram& d, std::string_view why) {
  // Anyone can send garbage from any address, a member's too: a line per datagram would let a
  // flood fill the log. Counted, and the period's first reason goes into the once-a-second report.
  if (++refused_.malformed == 1)
    refused_.first_malformed = fmt::format("{} from {}", why, d.from.to_string());
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("udp: dropped a datagram: {} from {}", why, d.from.to_string());
}

void UdpTransport::dispatch(const udp::InboundDatagram& d) {
  if (config_.side == Side::kServer)
    handle_server_datagram(d, members_.find(d.from));  // a frame before may have changed it
  else
    handle_client_datagram(d);
}

void UdpTransport::handle_server_datagram(const udp::InboundDatagram& d, udp::Member* member) {
  if (d.truncated) return note_malformed(d, fmt::format("longer than {} bytes", d.bytes.size()));
  if (!member) return handle_stranger(d);
  if (member->text) {
    members_.touch(member->id, to_time_point(d.received_ns));
    return handle_text(member->id, d);
  }
  const PeerId id = member->id;
  if (d.bytes.empty() || !wire::looks_framed(d.bytes[0]))
    return note_malformed(d, fmt::format("not a frame ({} bytes)", d.bytes.size()));
  const wire::DecodeResult r =
      wire::decode_datagram(d.bytes, max_payload_ + wire::kMaxPayloadOverhead, frame_);
  if (r.status != wire::DecodeStatus::kOk) return note_malformed(d, r.reason);
  if (frame_.token != member->token) {
    // A JOIN from a member's address is a client that lost our WELCOME (it echoes the cookie) or
    // one that started again: admission answers it. Anything else without the member's secret
    // came from someone who can write her address but cannot read what is sent to it.
    if (frame_.type == FrameType::kJoin) return handle_join(d, member);
    ++refused_.wrong_token;
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("udp: dropped {} from {} without the member's token",
                    wire::frame_type_name(frame_.type), d.from.to_string());
    return;
  }
  // Only a frame with the member's secret keeps it alive: anyone can forge its address.
  members_.touch(id, to_time_point(d.received_ns));
  handle_member_frame(id, d);
}

void UdpTransport::handle_stranger(const udp::InboundDatagram& d) {
  if (d.bytes.empty()) return;
  if (stranger_work_ >= kStrangerWorkPerWakeup) {
    ++refused_.shed;
    return;
  }
  ++stranger_work_;
  if (!wire::looks_framed(d.bytes[0])) return handle_text_stranger(d);
  const wire::DecodeResult r =
      wire::decode_datagram(d.bytes, max_payload_ + wire::kMaxPayloadOverhead, frame_);
  if (r.status != wire::DecodeStatus::kOk) return note_malformed(d, r.reason);
  if (frame_.type != FrameType::kJoin) {
    ++refused_.not_joined;
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("udp: dropped {} from {}, which has not joined",
                    wire::frame_type_name(frame_.type), d.from.to_string());
    return;
  }
  handle_join(d, nullptr);
}

void UdpTransport::handle_text_stranger(const udp::InboundDatagram& d) {
  const std::string_view text(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size());
  const auto verdict = admission_->try_code(d.from, text);
  if (verdict == udp::Admission::CodeVerdict::kLocked) {
    ++refused_.locked;  // too many wrong codes from this address: not even an answer
    return;
  }
  if (verdict != udp::Admission::CodeVerdict::kAdmit) {
    // Tell it the code, if three times what it sent so far pays for the line.
    shared_line_ = admission_->code_line(d.from);
    if (!admission_->allow_reply(d.from, d.bytes.size(), shared_line_.size())) {
      ++refused_.withheld;
      return;
    }
    ++refused_.challenged;
    Link scratch;  // an answer to a stranger belongs to no link
    queue_text(kNoPeer, scratch, d.from, shared_line_, false);
    return;
  }
  admission_->forget(d.from);
  if (members_.full()) {
    shared_line_ = seam::full_line(config_);
    const udp::OutboundDatagram out{{}, bytes_of(shared_line_), &d.from};
    io_->send({&out, 1});
    return;
  }
  // A plain-text peer (nc -u, the course's client) is a member once it typed the code; the code
  // itself is not a message.
  const std::string address = d.from.to_string();
  const PeerId id = *members_.join(d.from, address, true, to_time_point(d.received_ns));
  Link& link = links_[id];
  link.last_sent = to_time_point(d.received_ns);
  link.stats.bytes_received += d.bytes.size();
  if (callbacks_.on_peer_up) callbacks_.on_peer_up(PeerInfo{id, address, address, true});
}

void UdpTransport::handle_join(const udp::InboundDatagram& d, udp::Member* member) {
  if (!admission_->cookie_valid(d.from, frame_.token)) {
    // Never more bytes back than came in: a CHALLENGE is a bare header, a JOIN at least one.
    Link scratch;
    scratch.token = admission_->cookie(d.from);
    if (!admission_->allow_reply(d.from, d.bytes.size(), wire::kHeaderSize)) {
      ++refused_.withheld;
      return;
    }
    ++refused_.challenged;
    queue_frame(kNoPeer, scratch, &d.from, FrameType::kChallenge, {}, false, false);
    return;
  }
  // The address has shown it reads what we send it: from here on it may be answered in full.
  admission_->forget(d.from);
  const auto now = to_time_point(d.received_ns);
  if (member) {
    // Our WELCOME was lost: say it again; the member is not new.
    members_.touch(member->id, now);
    Link& link = links_[member->id];
    queue_frame(member->id, link, &member->address, FrameType::kWelcome, {}, false);
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
  udp::Member* m = members_.find(id);
  m->token = udp::random_token();
  Link& link = links_[id];
  link.token = m->token;
  link.stats.bytes_received += d.bytes.size();
  link.tracker.record(frame_.seq, frame_.timestamp_ns, d.received_ns);
  // The WELCOME goes into the queue before anything the role sends from on_peer_up.
  queue_frame(id, link, &m->address, FrameType::kWelcome, {}, false);
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
      // With the member's own token: it knows its secret, so only the WELCOME can have been lost.
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
    case FrameType::kChallenge:
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
