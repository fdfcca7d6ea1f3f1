// Closing one link and shutting the whole transport down in order.
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
    // Not at shutdown: there every link lingers (bounded) and its input is read, so that what the
    // peer still types does not find a closed socket and reset our last line away.
    if (!shutting_down_) c->set_peer_closed();
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
  leave_mark(c);
  c.set_state(State::kDraining);
  // Read on while draining, whatever the room does: its FIN ends the drain early, and input left
  // unread when we close would turn our FIN into a reset.
  c.set_reading_paused(false);
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
  leave_mark(c);
  // Only when the server stops: a link closed after its own goodbye (`q`) is closed for good,
  // and what its peer still writes is meant to be answered with a reset.
  if (shutting_down_ && c.state() == State::kDraining) c.discard_input(kDiscardBeforeClose);
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
      // A peer with a backlog has stopped reading, or cannot keep up: the goodbye goes next in
      // line, not behind what it would not read in the linger, with room made in the kernel so
      // that it is still delivered once we are gone.
      // (A client's queue holds what its user said: that is never dropped.)
      const bool server = config_.side == Side::kServer;
      if (const size_t dropped = server ? c->drop_backlog() : 0; dropped > 0) {
        spdlog::info(
            "tcp: {} ({}) had {} message(s) queued unread; dropped so the goodbye gets "
            "through",
            c->address(), c->info().name, dropped);
        c->grow_send_buffer(c->queued() + kGoodbyeRoom);
      }
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
  // Done when every peer answered our FIN with its own, or its linger ran out: a peer that stopped
  // reading keeps its connection until then, its input read and thrown away, so that what it has
  // not read yet (our goodbye last) stays in the kernel's hands when we close, not reset away.
  for (const auto& [id, c] : conns_)
    if (!c->closed()) return;
  finish_shutdown();
}

void TcpTransport::finish_shutdown() {
  if (shutdown_complete_) return;
  shutdown_complete_ = true;
  if (shutdown_timer_ != 0) loop_.cancel(shutdown_timer_);
  shutdown_timer_ = 0;
  for (auto& [id, c] : conns_) {
    if (c->closed()) continue;
    c->discard_input(kDiscardBeforeClose);
    c->close_now();
  }
  reap_later();
  // Deferred after the goodbyes already queued, so done() is the last thing anybody hears.
  defer_guarded([this] {
    silenced_ = true;
    if (auto done = std::move(shutdown_done_)) done();
  });
}

}  // namespace chat
