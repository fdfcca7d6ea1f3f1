// The reading half of a TCP link: bytes in, frames or lines out, end of stream and errors.
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

void TcpTransport::on_readable(TcpConnection& c) {
  size_t budget = kReadBudgetBytes;
  while (!c.closed()) {
    int err = 0;
    bool drained = false;
    const ssize_t n = c.read(err, drained);
    if (n == 0) {
      on_eof(c);
      return;
    }
    if (n < 0) {
      if (err == EINTR) continue;
      // The burst ended. A text peer's unterminated bytes become one message once it has been
      // quiet a moment: one send() can reach us in several segments, milliseconds apart.
      if (err == EAGAIN || err == EWOULDBLOCK) {
        if (c.up() && !c.framed() && c.splitter().pending() > 0) arm_quiet_timer(c);
        return;
      }
      on_socket_error(c, err);
      return;
    }
    if (!c.spoken()) {
      c.mark_spoken();
      c.cancel_idle_timer();
    }
    if (!consume(c)) return;
    // Something just read filled a queue past the mark: the rest waits in the kernel.
    if (room_full() && c.up()) return;
    budget -= std::min(budget, static_cast<size_t>(n));
    if (budget == 0) return;
    // A framed stream needs no EAGAIN to finish anything: skip the read that would only say so.
    if (drained && c.framed()) return;
  }
}

// Returns false when the link stopped being readable for us (closed, refused, draining).
bool TcpTransport::consume(TcpConnection& c) {
  net::Buffer& in = c.input();
  if (c.state() == State::kDraining) {
    in.retrieve_all();  // we said goodbye: what they still send is not delivered
    return true;
  }
  if (c.state() == State::kSniffing && !in.empty()) {
    c.cancel_timer();
    if (wire::looks_framed(static_cast<uint8_t>(in.peek()[0]))) {
      c.set_framed(true);
      c.set_state(State::kJoining);
      // A framed client sends JOIN at once; one that does not is not worth a slot.
      const PeerId id = c.id();
      c.arm_timer(config_.connect_timeout, [this, id] {
        if (TcpConnection* late = find(id); late && late->state() == State::kJoining) {
          spdlog::warn("tcp: {} sent no JOIN within {} ms; closing", late->address(),
                       config_.connect_timeout.count());
          finish(*late);
        }
      });
    } else if (!admit_text(c)) {
      return false;
    }
  }
  if (c.framed()) return consume_frames(c);
  return consume_text(c, false);
}

bool TcpTransport::consume_frames(TcpConnection& c) {
  net::Buffer& in = c.input();
  while (!in.empty()) {
    std::string_view payload;  // inside `in` until the retrieve below
    const wire::DecodeResult r =
        wire::decode_stream(in.bytes(), max_frame_payload(), c.frame(), payload);
    if (r.status == wire::DecodeStatus::kNeedMore) {
      make_room_for_frame(in, r.consumed);
      break;
    }
    if (r.status != wire::DecodeStatus::kOk) {
      if (config_.side == Side::kClient && c.state() == State::kJoining &&
          r.status == wire::DecodeStatus::kBadMagic) {
        // Not a broken chat server but something else on that port (a web server, an echo
        // server that is not ours): say that, with what it sent, instead of the byte at fault.
        const std::string_view head = in.view().substr(0, 24);
        protocol_error(
            c,
            fmt::format("{} does not speak chat (it sent \"{}\"); is it a chat "
                        "server, and is the port right?",
                        c.address(), wire::sanitize_for_terminal(head.substr(0, head.find('\n')))));
        return false;
      }
      protocol_error(c, r.reason);
      return false;
    }
    wire::Frame& f = c.frame();
    if (c.state() != State::kJoining &&
        (f.type == wire::FrameType::kData || f.type == wire::FrameType::kNotice)) {
      // A message's text goes from the input buffer straight into the Message: one copy.
      Result<Message> m = wire::frame_to_message(f, payload);
      in.retrieve(r.consumed);
      if (!deliver_frame_message(c, std::move(m))) return false;
      continue;
    }
    f.payload.assign(payload);
    in.retrieve(r.consumed);
    if (!handle_frame(c, f)) return false;
  }
  if (in.empty()) in.shrink_if_idle(kKeepInputBytes);
  return true;
}

void TcpTransport::make_room_for_frame(net::Buffer& in, size_t frame_size) {
  // With the rest of a large frame's room in the buffer, the next read lands there, not on the
  // stack to be copied in after. The room grows with what has arrived (at most double it, or
  // 64 KiB), so a peer that only announces a large frame is not given its memory.
  if (frame_size <= in.readable_bytes()) return;  // the header itself is not in yet
  const size_t missing = frame_size - in.readable_bytes();
  in.ensure_writable(std::min(missing, std::max(in.readable_bytes(), net::Buffer::kReadSpill)));
}

bool TcpTransport::deliver_frame_message(TcpConnection& c, Result<Message> m) {
  if (!m) {
    protocol_error(c, m.error().message);
    return false;
  }
  m->received_ns = now_ns();
  ++c.stats().messages_received;
  if (callbacks_.on_message && !silenced_) callbacks_.on_message(c.id(), std::move(*m));
  return c.up();
}

bool TcpTransport::handle_frame(TcpConnection& c, const wire::Frame& f) {
  using wire::FrameType;
  const bool server = config_.side == Side::kServer;
  if (c.state() == State::kJoining) {
    if (server && f.type == FrameType::kJoin) return handle_join(c, f);
    if (!server && f.type == FrameType::kWelcome) return handle_welcome(c, f);
    if (!server && f.type == FrameType::kRefuse) {
      announce_down(c, DownReason::kRefused,
                    f.payload.empty() ? "the server refused us" : f.payload);
      finish(c);
      return false;
    }
    protocol_error(
        c, fmt::format("{} frame before the join completed", wire::frame_type_name(f.type)));
    return false;
  }
  switch (f.type) {
    case FrameType::kData:
    case FrameType::kNotice:  // consume_frames delivers these itself, from the input buffer
      return deliver_frame_message(c, wire::frame_to_message(f));
    case FrameType::kPing:
      // Echo seq and timestamp unchanged: only the pinger subtracts its own clock. A peer that
      // pings but never reads gets no answers past the high-water mark.
      if (c.queued() < config_.high_water_bytes)
        send_control(c, FrameType::kPong, {}, own_sender(), f.seq, f.timestamp_ns);
      return !c.closed();
    case FrameType::kPong: {
      const uint64_t now = now_ns();
      c.stats().rtt_ns = now > f.timestamp_ns ? now - f.timestamp_ns : 0;
      ++c.stats().rtt_samples;
      return true;
    }
    case FrameType::kLeave:
      if (server)
        announce_down(c, DownReason::kLeft, "left");
      else
        announce_down(c, DownReason::kLeft,
                      f.payload.empty() ? "server closed the connection" : f.payload);
      begin_drain(c);
      return false;
    case FrameType::kHeartbeat:
      return true;  // TCP needs none, but a peer that sends them is not wrong
    case FrameType::kJoin:
    case FrameType::kWelcome:
    case FrameType::kRefuse:
    case FrameType::kChallenge:
    case FrameType::kBundle:  // a UDP datagram's packing; a stream never needs it
      spdlog::debug("tcp: {}: ignoring a late {} frame", c.address(),
                    wire::frame_type_name(f.type));
      return true;
  }
  return true;
}

bool TcpTransport::consume_text(TcpConnection& c, bool burst_end) {
  std::vector<std::string> lines;
  std::vector<LineEnd> ends;
  net::Buffer& in = c.input();
  if (!in.empty()) {
    c.splitter().feed(in.view(), lines, &ends);
    in.retrieve_all();
  }
  if (burst_end) c.splitter().flush_burst(lines, &ends);
  return deliver_lines(c, lines, ends);
}

void TcpTransport::arm_quiet_timer(TcpConnection& c) {
  const PeerId id = c.id();
  c.arm_timer(config_.text_quiet, [this, id] {
    if (TcpConnection* quiet = find_up(id); quiet && !quiet->framed()) consume_text(*quiet, true);
  });
}

bool TcpTransport::deliver_lines(TcpConnection& c, std::vector<std::string>& lines,
                                 const std::vector<LineEnd>& ends) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!c.up()) return false;  // a callback closed it: the rest is not delivered
    Message m;
    m.kind = MessageKind::kChat;
    m.text = std::move(lines[i]);
    m.line_end = i < ends.size() ? ends[i] : LineEnd::kLf;
    m.received_ns = now_ns();
    ++c.stats().messages_received;
    if (callbacks_.on_message && !silenced_) callbacks_.on_message(c.id(), std::move(m));
  }
  return c.up();
}

void TcpTransport::on_eof(TcpConnection& c) {
  const bool server = config_.side == Side::kServer;
  switch (c.state()) {
    case State::kUp:
      if (!c.framed()) {
        std::vector<std::string> lines;
        std::vector<LineEnd> ends;
        c.splitter().flush(lines, &ends);
        deliver_lines(c, lines, ends);
        if (!c.up()) {
          finish(c);
          return;
        }
        announce_down(c, DownReason::kLeft, "connection closed");
        // `printf hello | nc -N` half-closes right after sending: the replies to its last
        // lines (an echo) are still owed, so drain them before closing.
        c.set_peer_closed();
        begin_drain(c);
        return;
      } else if (const size_t partial = c.input().readable_bytes(); partial > 0) {
        const std::string why =
            fmt::format("{} mid-frame ({} bytes buffered)",
                        server ? "connection closed" : "server closed the connection", partial);
        spdlog::warn("tcp: {}: {}", c.address(), why);
        announce_down(c, DownReason::kError, why);
      } else {
        announce_down(c, DownReason::kLeft,
                      server ? "connection closed" : "server closed the connection");
      }
      break;
    case State::kJoining:
      if (!server)
        announce_down(c, DownReason::kRefused, "server closed the connection before admitting us");
      break;
    default:
      break;
  }
  finish(c);
}

void TcpTransport::on_socket_error(TcpConnection& c, int err) {
  std::string why = err == ECONNRESET ? std::string("connection reset by peer")
                                      : fmt::format("socket error: {}", net::errno_text(err));
  if (config_.side == Side::kClient && err == ECONNRESET) why = "server reset the connection";
  // A peer that vanishes halfway through a frame is the case worth naming in the log.
  if (c.framed() && c.input().readable_bytes() > 0)
    why += fmt::format(" mid-frame ({} bytes buffered)", c.input().readable_bytes());
  if (c.up() || c.announce_down()) spdlog::warn("tcp: {}: {}", c.address(), why);
  announce_down(c, DownReason::kError, std::move(why));
  finish(c);
}

void TcpTransport::protocol_error(TcpConnection& c, const std::string& reason) {
  // A client's only link is its server: the reason reaches the user through on_peer_down, and a
  // log line saying the same would be said twice.
  if (config_.side == Side::kServer)
    spdlog::warn("tcp: dropping {} ({}): {}", c.address(), c.info().name, reason);
  else
    spdlog::debug("tcp: {}: {}", c.address(), reason);
  announce_down(c, DownReason::kError, reason);
  finish(c);
}

}  // namespace chat
