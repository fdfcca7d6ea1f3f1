// UdpTransport: construction, start, the server's bind, and introspection. The client half is in
// udp_transport_client.cpp.
#include "transports/udp/udp_transport.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "src/wire/message_codec.h"
#include "transports/udp/udp_transport_internal.h"

namespace chat {
namespace {

using namespace std::chrono_literals;
using udp::detail::seconds_text;

constexpr size_t kServerBatch = 64;

}  // namespace

UdpTransport::UdpTransport(net::EventLoop& loop, TransportConfig config)
    : loop_(loop),
      config_(std::move(config)),
      max_payload_(std::min(config_.max_payload, wire::kMaxUdpFramePayload)),
      members_(udp::MembershipConfig{config_.max_peers, config_.expiry, config_.text_expiry}),
      // A text datagram is cut into pieces no longer than a message may be, so each is delivered.
      splitter_(std::min(config_.max_line, max_payload_)) {}

UdpTransport::~UdpTransport() {
  stop_timers();
  if (io_) io_->unwatch();
  loop_.forget(this);
}

std::unique_ptr<udp::DatagramIo> UdpTransport::wrap(net::Fd fd, size_t batch) {
  udp::DatagramSocketOptions options;
  options.batch = batch;
  options.buffer_bytes = config_.socket_buffer;
  std::unique_ptr<udp::DatagramIo> io =
      std::make_unique<udp::DatagramSocket>(std::move(fd), options);
  io->watch(loop_, [this] { on_readable(); });
  return io;
}

Result<void> UdpTransport::start(TransportCallbacks callbacks) {
  if (started_) return make_error("udp transport already started");
  started_ = true;
  callbacks_ = std::move(callbacks);
  auto r = config_.side == Side::kServer ? start_server() : start_client();
  if (!r) return r;
  const auto shortest = std::min(config_.heartbeat, config_.expiry);
  const auto period = std::clamp<std::chrono::milliseconds>(shortest / 4, 5ms, 250ms);
  tick_timer_ = loop_.run_every(period, [this] { on_tick(); });
  return {};
}

Result<void> UdpTransport::start_server() {
  auto fd = net::bind_udp(config_.bind, config_.port);
  if (!fd) return make_error(fmt::format("udp: {}", fd.error().message));
  batch_ = kServerBatch;
  io_ = wrap(std::move(*fd), batch_);
  const auto now = udp::SteadyClock::now();
  admission_ = std::make_unique<udp::Admission>(now);
  caught_up_ = now;
  refused_reported_ = now;
  return {};
}

void UdpTransport::stop_timers() {
  for (net::TimerId* t : {&tick_timer_, &join_timer_, &join_deadline_}) {
    if (*t) loop_.cancel(*t);
    *t = 0;
  }
}

UdpTransport::Link* UdpTransport::find_link(PeerId peer) {
  if (config_.side == Side::kClient)
    return peer == kServerPeer && client_state_ != ClientState::kIdle ? &server_link_ : nullptr;
  auto it = links_.find(peer);
  return it == links_.end() ? nullptr : &it->second;
}

const UdpTransport::Link* UdpTransport::find_link(PeerId peer) const {
  return const_cast<UdpTransport*>(this)->find_link(peer);
}

// ---------------------------------------------------------------------------------------------
// Introspection

PeerStats UdpTransport::stats(PeerId peer) const {
  const Link* link = find_link(peer);
  if (!link) return {};
  PeerStats s = link->stats;
  s.lost = link->tracker.lost();
  // Arrivals older than the window may be duplicates or very late: reported with duplicates.
  s.duplicates = link->tracker.duplicates() + link->tracker.stale();
  s.reordered = link->tracker.reordered();
  return s;
}

TransportCaps UdpTransport::caps_for(const TransportConfig& config) {
  TransportCaps c;
  // What always fits one datagram, whatever the sender's name adds to the frame.
  c.max_message =
      std::min(config.max_payload, wire::kMaxUdpFramePayload - wire::kMaxPayloadOverhead);
  c.text_peers = true;
  return c;
}

std::string UdpTransport::describe_stats(PeerId peer) const {
  const Link* link = find_link(peer);
  if (!link) return {};
  // Jitter is RFC 3550's interarrival estimate of what `peer` sends us.
  return fmt::format("lost {} dup {} reordered {} jitter {:.3f} ms", link->tracker.lost(),
                     link->tracker.duplicates() + link->tracker.stale(), link->tracker.reordered(),
                     static_cast<double>(link->tracker.jitter_ns()) / 1e6);
}

std::vector<PeerInfo> UdpTransport::peers() const {
  std::vector<PeerInfo> out;
  if (config_.side == Side::kClient) {
    if (client_state_ == ClientState::kJoined)
      out.push_back(PeerInfo{kServerPeer, "server", server_address_.to_string(), false});
    return out;
  }
  out.reserve(members_.size());
  for (const udp::Member& m : members_.members())
    out.push_back(PeerInfo{m.id, m.name, m.address.to_string(), m.text});
  return out;
}

net::SocketAddress UdpTransport::local_address() const {
  return io_ ? io_->local_address() : net::SocketAddress{};
}

}  // namespace chat
