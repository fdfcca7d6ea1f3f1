// The writing half of a TCP link: flushing, the per-link queue and its high-water mark, and
// the send paths (one peer, the room, PING).
#include "transports/tcp/tcp_transport.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/util/clock.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"

namespace chat {

void TcpTransport::on_writable(TcpConnection& c) {
  if (const int err = c.flush(); err != 0) {
    if (c.state() == State::kDraining) {
      finish(c);
    } else {
      on_socket_error(c, err);
    }
    return;
  }
  if (c.state() == State::kDraining && c.queued() == 0) {
    c.shutdown_write();
    if (c.peer_closed()) {
      finish(c);
      return;
    }
    maybe_finish_shutdown();
    return;
  }
  check_mark(c);
  if (c.queued() < low_water()) tell_missed(c);
  if (c.owes_writable() && c.queued() < low_water() && c.up()) {
    c.set_owes_writable(false);
    if (callbacks_.on_writable && !silenced_) callbacks_.on_writable(c.id());
  }
}

// ---------------------------------------------------------------------------------------------
// Sending

uint32_t TcpTransport::own_sender() const {
  return seam::own_sender(config_.side, member_id_);
}

Result<void> TcpTransport::check_size(const Message& m) const {
  // The limit is on what people write; the sender's name and its length byte ride on top.
  if (m.text.size() > config_.max_payload)
    return make_error(
        fmt::format("message of {} bytes exceeds the maximum payload of {} bytes (--max-payload)",
                    m.text.size(), config_.max_payload));
  return {};
}

std::string_view TcpTransport::encode_frame_for(TcpConnection& c, const Message& m,
                                                std::string& out) {
  out.clear();
  if (m.text.size() >= kCoalesceBelow) {
    // Copying a large text into the frame first was ~4 % of a 128 KiB stream's samples.
    wire::encode_message_frame_head(m, own_sender(), c.take_seq(), now_ns(), out);
    return m.text;
  }
  wire::encode_message_frame(m, own_sender(), c.take_seq(), now_ns(), out);
  return {};
}

Result<void> TcpTransport::queue(TcpConnection& c, std::string_view head, std::string_view body) {
  const size_t queued = c.queued();
  const size_t size = head.size() + body.size();
  // An empty queue always takes the message: what the kernel does not take must be kept, or the
  // stream would lose a frame's tail. Only a backlog is measured against the mark.
  if (queued > 0 && queued + size > config_.high_water_bytes) {
    if (config_.overflow == OverflowPolicy::kDrop) {
      note_drop(c);
      return make_error(fmt::format(
          "{}: output queue full ({} bytes queued, high-water mark {} bytes); message dropped",
          c.info().name, queued, config_.high_water_bytes));
    }
    // Past the mark the room has stopped reading (back-pressure), so the queue grows by what was
    // already read and no more; only a role that ignores that can reach the hard limit.
    if (!backpressure() || queued + size > hard_limit()) {
      const std::string why = fmt::format("slow reader: {} bytes queued", queued);
      cut_slow_reader(c, why);
      return make_error(fmt::format("{}: {}; disconnected", c.info().name, why));
    }
  }
  if (size < kCoalesceBelow) {
    // Small messages wait for the end of this loop turn and leave in one send per link: a hub
    // relaying a burst of lines to fifty peers makes fifty system calls, not fifty per line, and
    // a lone message goes out before the loop sleeps again, so latency does not grow.
    c.append(head, body);
    mark_dirty(c);
  } else if (const int err = c.write(head, body); err != 0) {
    const std::string why = fmt::format("send failed: {}", net::errno_text(err));
    announce_down(c, DownReason::kError, why);
    finish(c);
    return make_error(fmt::format("{}: {}", c.info().name, why));
  }
  ++c.stats().messages_sent;
  if (c.queued() >= low_water()) c.set_owes_writable(true);
  if (!c.over_mark() && c.queued() >= config_.high_water_bytes) check_mark(c);
  return {};
}

void TcpTransport::mark_dirty(TcpConnection& c) {
  if (!c.dirty()) {
    c.set_dirty(true);
    dirty_.push_back(c.id());
  }
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Owned by `this` (forgotten in the destructor) rather than guarded: no allocation per turn.
  loop_.defer_for(this, [this] {
    flush_scheduled_ = false;
    // Swapped with the spare list, so both keep their capacity and a ping-pong's flush allocates
    // nothing (the same idiom as EventLoop::run_deferred). A link marked while these are written
    // goes into the emptied dirty_ and a new flush.
    std::vector<PeerId> batch = std::move(spare_dirty_);
    batch.swap(dirty_);
    for (const PeerId id : batch) {
      auto it = conns_.find(id);
      if (it == conns_.end() || it->second->closed()) continue;
      it->second->set_dirty(false);
      on_writable(*it->second);
    }
    batch.clear();
    spare_dirty_ = std::move(batch);
  });
}

void TcpTransport::send_control(TcpConnection& c, wire::FrameType type, std::string_view payload,
                                uint32_t sender, uint32_t seq, uint64_t timestamp_ns) {
  control_frame_.type = type;
  control_frame_.sender = sender;
  control_frame_.seq = seq;
  control_frame_.timestamp_ns = timestamp_ns;
  control_frame_.payload.assign(payload);
  control_bytes_.clear();
  wire::encode_frame(control_frame_, control_bytes_);
  // Control frames bypass the high-water mark: they are small and a goodbye must get out.
  if (const int err = c.write(control_bytes_); err != 0) {
    announce_down(c, DownReason::kError, fmt::format("send failed: {}", net::errno_text(err)));
    finish(c);
  }
}

Result<void> TcpTransport::send(PeerId peer, const Message& message) {
  if (shutting_down_) return make_error("tcp: the transport is shutting down");
  TcpConnection* c = find_up(peer);
  if (c == nullptr) return make_error(fmt::format("tcp: no connected peer {}", peer));
  if (auto r = check_size(message); !r) return r;
  return send_to(*c, message);
}

Result<void> TcpTransport::send_to(TcpConnection& c, const Message& message) {
  if (c.framed()) {
    const std::string_view body = encode_frame_for(c, message, send_bytes_);
    return queue(c, send_bytes_, body);
  }
  line_bytes_ = wire::message_to_line(message);
  line_bytes_.append(line_end_bytes(message.line_end));
  return queue(c, line_bytes_);
}

size_t TcpTransport::broadcast(const Message& message, PeerId except) {
  if (shutting_down_) return 0;
  if (auto r = check_size(message); !r) {
    spdlog::warn("tcp: broadcast not sent: {}", r.error().message);
    return 0;
  }
  bool have_frame = false;
  std::string_view body;  // the text, when the frame leaves it out (a large message)
  bool have_line = false;
  size_t sent = 0;
  // queue() never erases from conns_ (reaping is deferred), so iterating while links fail is safe.
  for (auto& [id, c] : conns_) {
    if (id == except || !c->up()) continue;
    if (c->framed()) {
      if (!have_frame) {
        body = encode_frame_for(*c, message, send_bytes_);
        have_frame = true;
      } else {
        // Encoded once for the whole room; each link only gets its own sequence number.
        wire::stamp_seq(reinterpret_cast<uint8_t*>(send_bytes_.data()), c->take_seq());
      }
      if (queue(*c, send_bytes_, body)) ++sent;
    } else {
      if (!have_line) {
        line_bytes_ = wire::message_to_line(message);
        line_bytes_.append(line_end_bytes(message.line_end));
        have_line = true;
      }
      if (queue(*c, line_bytes_)) ++sent;
    }
  }
  return sent;
}

void TcpTransport::ping(PeerId peer) {
  TcpConnection* c = find_up(peer);
  if (c == nullptr || !c->framed()) return;  // text peers cannot answer a PING
  send_control(*c, wire::FrameType::kPing, {}, own_sender(), c->take_seq(), now_ns());
}

}  // namespace chat
