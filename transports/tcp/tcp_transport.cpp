// TcpTransport's set-up, the event dispatch every link shares, and what it reports. Admission is
// in tcp_transport_server.cpp, connecting in tcp_transport_client.cpp, reading in
// tcp_link_reader.cpp, sending in tcp_link_writer.cpp, closing in tcp_transport_close.cpp.
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

TcpTransport::TcpTransport(net::EventLoop& loop, TransportConfig config)
    : loop_(loop), config_(std::move(config)) {}

TcpTransport::~TcpTransport() {
  // Handlers and timers capture `this`: take every one of them off the loop first.
  for (auto& [id, c] : conns_) c->close_now();
  if (listening_) loop_.remove(listener_.get());
  if (accept_pause_timer_ != 0) loop_.cancel(accept_pause_timer_);
  if (client_deadline_ != 0) loop_.cancel(client_deadline_);
  if (shutdown_timer_ != 0) loop_.cancel(shutdown_timer_);
  loop_.forget(this);
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
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    // While a queue is past the mark the room reads nobody; an error or hang-up is still taken.
    if (room_full() && c->up() && !(events & (EPOLLERR | EPOLLHUP)))
      pause_reading(*c);
    else
      on_readable(*c);
  }
  if (!c->closed() && (events & EPOLLOUT)) on_writable(*c);
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
