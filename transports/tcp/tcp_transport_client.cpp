// TcpTransport, client side: resolve, try each address with a bounded non-blocking connect, JOIN,
// and wait (bounded by the same deadline) for WELCOME or REFUSE.
#include <sys/socket.h>

#include <cerrno>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/util/clock.h"
#include "src/wire/frame_codec.h"
#include "transports/tcp/tcp_transport.h"

namespace chat {
namespace {

// Why one address failed, in words a student can act on.
std::pair<DownReason, std::string> connect_failure(int err, const std::string& address) {
  switch (err) {
    case ECONNREFUSED:
      return {DownReason::kRefused, fmt::format("connection refused by {}", address)};
    case ETIMEDOUT:
      return {DownReason::kTimedOut, fmt::format("timed out connecting to {}", address)};
    default:
      return {DownReason::kError,
              fmt::format("cannot connect to {}: {}", address, net::errno_text(err))};
  }
}

}  // namespace

Result<void> TcpTransport::start_client() {
  if (config_.host.empty()) return make_error("tcp: no server host to connect to");
  Result<std::vector<net::SocketAddress>> addresses =
      net::resolve(config_.host, config_.port, SOCK_STREAM, false);
  if (!addresses) return make_error(fmt::format("tcp: {}", addresses.error().message));
  addresses_ = std::move(*addresses);
  next_address_ = 0;
  // One deadline covers every address and the join: the user waits connect_timeout at most.
  client_deadline_ = loop_.run_after(config_.connect_timeout, [this] {
    client_deadline_ = 0;
    on_client_deadline();
  });
  connect_next();
  return {};
}

void TcpTransport::connect_next() {
  while (next_address_ < addresses_.size()) {
    const net::SocketAddress& to = addresses_[next_address_++];
    const std::string address = to.to_string();
    net::Fd fd(::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      std::tie(connect_failure_, connect_error_) = connect_failure(errno, address);
      continue;
    }
    tune_socket(fd.get());  // before connect, so the window scale is negotiated for the buffer
    if (::connect(fd.get(), to.get(), to.length) != 0 && errno != EINPROGRESS) {
      std::tie(connect_failure_, connect_error_) = connect_failure(errno, address);
      continue;
    }
    auto c = std::make_shared<TcpConnection>(loop_, kServerPeer, std::move(fd), address,
                                             config_.max_line);
    c->set_state(State::kConnecting);
    c->set_framed(true);
    c->set_announce_down(true);  // the role hears why it never got in
    c->info().name = "server";
    open_link(c);  // replaces a failed attempt's closed link under the same id
    return;
  }
  // Every address failed: report the last one's reason.
  if (client_deadline_ != 0) loop_.cancel(client_deadline_);
  client_deadline_ = 0;
  if (addresses_.size() > 1)
    connect_error_ += fmt::format(" (tried {} addresses)", addresses_.size());
  spdlog::debug("tcp: {}", connect_error_);
  announce_down_id(kServerPeer, connect_failure_, connect_error_);
}

void TcpTransport::on_connected(const ConnPtr& c) {
  if (const int err = net::connect_error(c->fd()); err != 0) {
    std::tie(connect_failure_, connect_error_) = connect_failure(err, c->address());
    c->close_now();
    reap_later();
    connect_next();
    return;
  }
  local_ = net::local_address(c->fd());
  c->set_state(State::kJoining);
  send_control(*c, wire::FrameType::kJoin, config_.name, 0, c->take_seq(), now_ns());
}

bool TcpTransport::handle_welcome(TcpConnection& c, const wire::Frame& f) {
  if (client_deadline_ != 0) loop_.cancel(client_deadline_);
  client_deadline_ = 0;
  member_id_ = f.sender;
  c.set_state(State::kUp);
  if (callbacks_.on_peer_up && !silenced_) callbacks_.on_peer_up(c.info());
  return c.up();
}

void TcpTransport::on_client_deadline() {
  TcpConnection* c = find(kServerPeer);
  if (c == nullptr || c->up()) return;
  const auto ms = config_.connect_timeout.count();
  const std::string why = c->state() == State::kConnecting
                              ? fmt::format("no answer from {} within {} ms", c->address(), ms)
                              : fmt::format("{} did not admit us within {} ms", c->address(), ms);
  announce_down(*c, DownReason::kTimedOut, why);
  finish(*c);
}

}  // namespace chat
