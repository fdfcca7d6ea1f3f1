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
namespace {

// Fairness: one busy peer gets at most this much reading per wake-up; level-triggered epoll
// brings us back for the rest after the others had their turn.
constexpr size_t kReadBudgetBytes = 1024 * 1024;
// An input buffer that grew for a large frame is given back past this size once it is empty, so
// a thousand idle hub members do not each keep their biggest burst.
constexpr size_t kKeepInputBytes = 128 * 1024;
// How long a closing link may take to flush its goodbye before we drop what is left.
constexpr std::chrono::milliseconds kCloseLinger{1000};
// Messages below this are gathered per link and flushed once per loop turn; larger ones are sent at
// once, straight from the caller's bytes when nothing is queued, to save a copy.
constexpr size_t kCoalesceBelow = 16 * 1024;

}  // namespace

TcpTransport::TcpTransport(net::EventLoop& loop, TransportConfig config)
    : loop_(loop), config_(std::move(config)) {}

TcpTransport::~TcpTransport() {
  // Handlers and timers capture `this`: take every one of them off the loop first.
  for (auto& [id, c] : conns_) c->close_now();
  if (listening_) loop_.remove(listener_.get());
  if (accept_pause_timer_ != 0) loop_.cancel(accept_pause_timer_);
  if (client_deadline_ != 0) loop_.cancel(client_deadline_);
  if (shutdown_timer_ != 0) loop_.cancel(shutdown_timer_);
}

Result<void> TcpTransport::start(TransportCallbacks callbacks) {
  if (started_) return make_error("tcp: already started");
  started_ = true;
  callbacks_ = std::move(callbacks);
  return config_.side == Side::kServer ? start_server() : start_client();
}

// ---------------------------------------------------------------------------------------------
// Link handling

void TcpTransport::tune_socket(int fd) const {
  net::set_nodelay(fd);  // chat is latency-bound: never wait for Nagle to fill a segment
  if (config_.socket_buffer > 0) {
    net::set_send_buffer(fd, config_.socket_buffer);
    net::set_receive_buffer(fd, config_.socket_buffer);
  }
}

void TcpTransport::open_link(const ConnPtr& c) {
  conns_[c->id()] = c;
  // The handler holds the connection, so a handler that closes its own link stays valid.
  c->open([this, c](uint32_t events) { on_event(c, events); });
}

void TcpTransport::on_event(const ConnPtr& c, uint32_t events) {
  if (c->state() == State::kConnecting) {
    on_connected(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(*c);
  if (!c->closed() && (events & EPOLLOUT)) on_writable(*c);
}

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
    if (!consume(c)) return;
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
    const wire::DecodeResult r = wire::decode_stream(in.bytes(), max_frame_payload(), c.frame());
    if (r.status == wire::DecodeStatus::kNeedMore) break;
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
    in.retrieve(r.consumed);
    if (!handle_frame(c, c.frame())) return false;
  }
  if (in.empty()) in.shrink_if_idle(kKeepInputBytes);
  return true;
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
    case FrameType::kNotice: {
      Result<Message> m = wire::frame_to_message(f);
      if (!m) {
        protocol_error(c, m.error().message);
        return false;
      }
      m->received_ns = now_ns();
      ++c.stats().messages_received;
      if (callbacks_.on_message && !silenced_) callbacks_.on_message(c.id(), std::move(*m));
      return c.up();
    }
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

void TcpTransport::encode_frame_for(TcpConnection& c, const Message& m, std::string& out) {
  out.clear();
  wire::encode_message_frame(m, own_sender(), c.take_seq(), now_ns(), out);
}

Result<void> TcpTransport::queue(TcpConnection& c, std::string_view bytes) {
  const size_t queued = c.queued();
  // An empty queue always takes the message: what the kernel does not take must be kept, or the
  // stream would lose a frame's tail. Only a backlog is measured against the mark.
  if (queued > 0 && queued + bytes.size() > config_.high_water_bytes) {
    if (config_.overflow == OverflowPolicy::kDrop) {
      ++c.stats().dropped;
      return make_error(fmt::format(
          "{}: output queue full ({} bytes queued, high-water mark {} bytes); message dropped",
          c.info().name, queued, config_.high_water_bytes));
    }
    const std::string why = fmt::format("slow reader: {} bytes queued", queued);
    spdlog::warn("tcp: disconnecting {} ({}): {}", c.address(), c.info().name, why);
    announce_down(c, DownReason::kOverflow, why);
    finish(c);
    return make_error(fmt::format("{}: {}; disconnected", c.info().name, why));
  }
  if (bytes.size() < kCoalesceBelow) {
    // Small messages wait for the end of this loop turn and leave in one send per link: a hub
    // relaying a burst of lines to fifty peers makes fifty system calls, not fifty per line, and
    // a lone message goes out before the loop sleeps again, so latency does not grow.
    c.append(bytes);
    mark_dirty(c);
  } else if (const int err = c.write(bytes); err != 0) {
    const std::string why = fmt::format("send failed: {}", net::errno_text(err));
    announce_down(c, DownReason::kError, why);
    finish(c);
    return make_error(fmt::format("{}: {}", c.info().name, why));
  }
  ++c.stats().messages_sent;
  if (c.queued() >= low_water()) c.set_owes_writable(true);
  return {};
}

void TcpTransport::mark_dirty(TcpConnection& c) {
  if (!c.dirty()) {
    c.set_dirty(true);
    dirty_.push_back(c.id());
  }
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  defer_guarded([this] {
    flush_scheduled_ = false;
    auto dirty = std::move(dirty_);
    dirty_.clear();
    for (const PeerId id : dirty) {
      auto it = conns_.find(id);
      if (it == conns_.end() || it->second->closed()) continue;
      it->second->set_dirty(false);
      on_writable(*it->second);
    }
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
  if (c->framed()) {
    encode_frame_for(*c, message, send_bytes_);
    return queue(*c, send_bytes_);
  }
  line_bytes_ = wire::message_to_line(message);
  line_bytes_.append(line_end_bytes(message.line_end));
  return queue(*c, line_bytes_);
}

size_t TcpTransport::broadcast(const Message& message, PeerId except) {
  if (shutting_down_) return 0;
  if (auto r = check_size(message); !r) {
    spdlog::warn("tcp: broadcast not sent: {}", r.error().message);
    return 0;
  }
  bool have_frame = false;
  bool have_line = false;
  size_t sent = 0;
  // queue() never erases from conns_ (reaping is deferred), so iterating while links fail is safe.
  for (auto& [id, c] : conns_) {
    if (id == except || !c->up()) continue;
    if (c->framed()) {
      if (!have_frame) {
        encode_frame_for(*c, message, send_bytes_);
        have_frame = true;
      } else {
        // Encoded once for the whole room; each link only gets its own sequence number.
        wire::stamp_seq(reinterpret_cast<uint8_t*>(send_bytes_.data()), c->take_seq());
      }
      if (queue(*c, send_bytes_)) ++sent;
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

// ---------------------------------------------------------------------------------------------
// Closing

void TcpTransport::close(PeerId peer, std::string_view reason) {
  TcpConnection* c = find_up(peer);
  if (c == nullptr) return;
  // Announced first, so a goodbye that fails to send still reads as our close, not an error.
  announce_down(*c, DownReason::kClosed, std::string(reason));
  if (c->framed()) {
    send_control(*c, wire::FrameType::kLeave, reason, own_sender(), c->take_seq(), now_ns());
  } else {
    // A text peer has no LEAVE to answer with: once it has read our last line the session is
    // over, so the connection closes then instead of lingering half-open until the peer's FIN.
    c->set_peer_closed();
    if (!reason.empty()) {
      line_bytes_.assign(reason);
      line_bytes_.push_back('\n');
      if (c->write(line_bytes_) != 0) finish(*c);
    }
  }
  if (!c->closed()) begin_drain(*c);
}

void TcpTransport::leave_up(TcpConnection& c) {
  if (c.up() && config_.side == Side::kServer) --members_;
}

void TcpTransport::begin_drain(TcpConnection& c) {
  if (c.closed() || c.state() == State::kDraining) return;
  leave_up(c);
  c.set_state(State::kDraining);
  c.input().retrieve_all();
  if (c.queued() == 0) {
    c.shutdown_write();
    if (c.peer_closed()) {
      finish(c);
      return;
    }
  }
  // Wait for the queue to drain and the peer's FIN, but not for ever.
  const PeerId id = c.id();
  c.arm_timer(kCloseLinger, [this, id] {
    if (TcpConnection* late = find(id)) finish(*late);
  });
  maybe_finish_shutdown();
}

void TcpTransport::finish(TcpConnection& c) {
  if (c.closed()) return;
  leave_up(c);
  c.close_now();
  reap_later();
  maybe_finish_shutdown();
}

void TcpTransport::announce_down(TcpConnection& c, DownReason reason, std::string why) {
  if (!c.announce_down()) return;
  c.mark_announced();
  announce_down_id(c.id(), reason, std::move(why));
}

void TcpTransport::announce_down_id(PeerId id, DownReason reason, std::string why) {
  // Always deferred: the role may be iterating its members, or be inside send() or close(),
  // when a link fails; it hears about it once the current batch is done.
  defer_guarded([this, id, reason, why = std::move(why)] {
    if (callbacks_.on_peer_down && !silenced_) callbacks_.on_peer_down(id, reason, why);
  });
}

void TcpTransport::reap_later() {
  if (reap_scheduled_) return;
  reap_scheduled_ = true;
  defer_guarded([this] {
    reap_scheduled_ = false;
    std::erase_if(conns_, [](const auto& entry) { return entry.second->closed(); });
  });
}

void TcpTransport::defer_guarded(std::function<void()> fn) {
  guard_.defer(loop_, std::move(fn));
}

void TcpTransport::shutdown(std::chrono::milliseconds linger, std::function<void()> done) {
  if (shutting_down_) {
    if (done) defer_guarded(std::move(done));
    return;
  }
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  if (listening_) {
    loop_.remove(listener_.get());
    listening_ = false;
  }
  listener_.reset();
  if (accept_pause_timer_ != 0) loop_.cancel(accept_pause_timer_);
  accept_pause_timer_ = 0;
  if (client_deadline_ != 0) loop_.cancel(client_deadline_);
  client_deadline_ = 0;

  const std::string reason =
      config_.side == Side::kServer ? "server shutting down" : "client leaving";
  for (auto& [id, c] : conns_) {
    if (c->up()) {
      close(id, reason);
    } else if (c->state() != State::kDraining) {
      finish(*c);  // never admitted: nobody above knows it, so nobody is told
    }
  }
  shutdown_timer_ = loop_.run_after(linger, [this] {
    shutdown_timer_ = 0;
    finish_shutdown();
  });
  maybe_finish_shutdown();
}

void TcpTransport::maybe_finish_shutdown() {
  if (!shutting_down_ || shutdown_complete_) return;
  for (const auto& [id, c] : conns_) {
    if (c->closed()) continue;
    if (c->state() == State::kDraining && c->queued() == 0) continue;
    return;
  }
  finish_shutdown();
}

void TcpTransport::finish_shutdown() {
  if (shutdown_complete_) return;
  shutdown_complete_ = true;
  if (shutdown_timer_ != 0) loop_.cancel(shutdown_timer_);
  shutdown_timer_ = 0;
  for (auto& [id, c] : conns_) {
    if (!c->closed()) c->close_now();
  }
  reap_later();
  // Deferred after the goodbyes already queued, so done() is the last thing anybody hears.
  defer_guarded([this] {
    silenced_ = true;
    if (auto done = std::move(shutdown_done_)) done();
  });
}

// ---------------------------------------------------------------------------------------------
// Queries

TcpConnection* TcpTransport::find(PeerId id) const {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second->closed()) return nullptr;
  return it->second.get();
}

TcpConnection* TcpTransport::find_up(PeerId id) const {
  TcpConnection* c = find(id);
  return c != nullptr && c->up() ? c : nullptr;
}

TransportCaps TcpTransport::caps_for(const TransportConfig& config) {
  TransportCaps c;
  c.max_message = config.max_payload;
  c.reliable = true;
  c.ordered = true;
  c.text_peers = true;
  c.queues = true;
  return c;
}

std::string TcpTransport::describe_stats(PeerId peer) const {
  auto it = conns_.find(peer);
  if (it == conns_.end() || it->second->closed()) return {};
  // The kernel's count from TCP_INFO: segments this end sent again.
  return fmt::format("retransmits {}", it->second->retransmits());
}

PeerStats TcpTransport::stats(PeerId peer) const {
  auto it = conns_.find(peer);
  if (it == conns_.end()) return {};
  const TcpConnection& c = *it->second;
  PeerStats s = c.stats();
  s.queued_bytes = c.queued();
  if (!c.closed()) s.retransmits = c.retransmits();
  return s;
}

std::vector<PeerInfo> TcpTransport::peers() const {
  std::vector<PeerInfo> out;
  for (const auto& [id, c] : conns_)
    if (c->up()) out.push_back(c->info());
  return out;
}

net::SocketAddress TcpTransport::local_address() const {
  return local_;
}

}  // namespace chat
