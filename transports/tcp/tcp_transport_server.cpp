// TcpTransport, server side: listening, accepting, telling framed from text peers, admission.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/net/socket.h"
#include "src/util/clock.h"
#include "src/wire/frame_codec.h"
#include "transports/tcp/tcp_transport.h"

namespace chat {
namespace {

// Accepts per wake-up, so a connection storm cannot starve the links already up.
constexpr int kMaxAcceptsPerEvent = 64;
// Out of fds: stop accepting for a moment rather than spin on a listener that stays readable.
constexpr std::chrono::milliseconds kAcceptPause{100};

}  // namespace

Result<void> TcpTransport::start_server() {
  Result<net::Fd> fd = net::listen_tcp(config_.bind, config_.port);
  if (!fd) return make_error(fmt::format("tcp: {}", fd.error().message));
  listener_ = std::move(*fd);
  // Accepted sockets inherit these, which matters for the receive window scale negotiated in
  // the handshake.
  tune_socket(listener_.get());
  local_ = net::local_address(listener_.get());
  loop_.add(listener_.get(), EPOLLIN, [this](uint32_t) { on_acceptable(); });
  listening_ = true;
  return {};
}

void TcpTransport::on_acceptable() {
  for (int i = 0; i < kMaxAcceptsPerEvent && listening_; ++i) {
    net::SocketAddress from;
    from.length = sizeof from.storage;
    const int fd =
        ::accept4(listener_.get(), from.get(), &from.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_one(net::Fd(fd), from);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    // A table full of links that never spoke would lock real clients out until they leave: the
    // oldest of them makes room for the newcomer, which may be the client someone is waiting for.
    if (errno == EMFILE || errno == ENFILE) {
      if (shed_oldest_silent()) continue;
    }
    spdlog::warn("tcp: accept: {}", net::errno_text(errno));
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
      pause_accepting();
    return;
  }
}

bool TcpTransport::shed_oldest_silent() {
  // conns_ is ordered by id, so the first silent one found is the oldest.
  for (auto& [id, c] : conns_) {
    if (c->closed() || c->spoken()) continue;
    spdlog::info("tcp: out of descriptors; closing {}, silent since it connected", c->address());
    finish(*c);
    return true;
  }
  return false;
}

void TcpTransport::pause_accepting() {
  if (accept_pause_timer_ != 0) return;
  loop_.modify(listener_.get(), 0);
  accept_pause_timer_ = loop_.run_after(kAcceptPause, [this] {
    accept_pause_timer_ = 0;
    if (listening_) loop_.modify(listener_.get(), EPOLLIN);
  });
}

void TcpTransport::accept_one(net::Fd fd, const net::SocketAddress& from) {
  net::set_nodelay(fd.get());
  if (config_.socket_buffer > 0) tune_socket(fd.get());
  const PeerId id = next_id_++;
  // A text peer's line is cut into pieces no longer than a message may be, so every piece is
  // delivered rather than refused.
  auto c = std::make_shared<TcpConnection>(loop_, id, std::move(fd), from.to_string(),
                                           std::min(config_.max_line, config_.max_payload));
  c->set_state(State::kSniffing);
  open_link(c);
  if (config_.idle_timeout.count() > 0) {
    c->arm_idle_timer(config_.idle_timeout, [this, id] {
      TcpConnection* idle = find(id);
      if (!idle || idle->closed() || idle->spoken()) return;
      spdlog::info("tcp: closing {}: sent nothing in {} ms", idle->address(),
                   config_.idle_timeout.count());
      finish(*idle);
    });
  }
  // telnet and an idle nc wait to be spoken to: silence means a text peer.
  c->arm_timer(config_.sniff_timeout, [this, id] {
    TcpConnection* quiet = find(id);
    if (!quiet || quiet->state() != State::kSniffing) return;
    // A busy loop may run this timer before it reads bytes that arrived in time (a framed
    // client's JOIN among hundreds of others): only a socket with nothing waiting is silent.
    if (loop_.has_unread(quiet->fd())) return;
    admit_text(*quiet);
  });
}

bool TcpTransport::admit_text(TcpConnection& c) {
  c.set_framed(false);
  if (config_.max_peers > 0 && members_ >= config_.max_peers) {
    spdlog::info("tcp: refusing text peer {}: {}", c.address(), seam::full_reason(config_));
    const std::string line = seam::full_line(config_);
    if (c.write(line) != 0) {
      finish(c);
    } else {
      begin_drain(c);
    }
    return false;
  }
  PeerInfo& info = c.info();
  info.name = info.address;
  info.text = true;
  c.set_state(State::kUp);
  c.set_announce_down(true);
  ++members_;
  if (callbacks_.on_peer_up && !silenced_) callbacks_.on_peer_up(info);
  return c.up();
}

bool TcpTransport::handle_join(TcpConnection& c, const wire::Frame& f) {
  c.cancel_timer();
  if (config_.max_peers > 0 && members_ >= config_.max_peers) {
    const std::string reason = seam::full_reason(config_);
    spdlog::info("tcp: refusing {} ({}): {}", c.address(), f.payload, reason);
    send_control(c, wire::FrameType::kRefuse, reason, 0, c.take_seq(), now_ns());
    begin_drain(c);
    return false;
  }
  PeerInfo& info = c.info();
  info.name = f.payload.empty() ? info.address : f.payload;
  info.text = false;
  // WELCOME carries the member id in its sender field; every other server frame says 0.
  send_control(c, wire::FrameType::kWelcome, fmt::format("welcome, {}", info.name), c.id(),
               c.take_seq(), now_ns());
  if (c.closed()) return false;
  c.set_state(State::kUp);
  c.set_announce_down(true);
  ++members_;
  if (callbacks_.on_peer_up && !silenced_) callbacks_.on_peer_up(info);
  return c.up();
}

}  // namespace chat
