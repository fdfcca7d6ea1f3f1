#include "transports/enet/enet_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <span>
#include <utility>

#include "src/util/clock.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"

namespace chat {
namespace {

// A hub's one socket takes every member's datagrams and acknowledgements: ENet's 256 KiB default
// overflows in one round of a thousand members, and every datagram lost there is resent later.
constexpr int kServerSocketBuffer = 32 * 1024 * 1024;

Result<ENetAddress> to_enet_address(std::string_view host, uint16_t port, bool passive) {
  ENetAddress out{};
  out.port = port;
  if (host.empty()) {
    out.host = ENET_HOST_ANY;
    return out;
  }
  auto resolved = net::resolve(host, port, SOCK_DGRAM, passive);
  if (!resolved) return resolved.error();
  for (const net::SocketAddress& a : *resolved) {
    if (a.family() != AF_INET) continue;
    out.host = reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr.s_addr;
    return out;
  }
  return make_error(fmt::format("enet: {} has no IPv4 address (ENet speaks IPv4 only)", host));
}

}  // namespace

EnetTransport::EnetTransport(net::EventLoop& loop, TransportConfig config)
    : loop_(loop), config_(std::move(config)) {
  enet_initialize();  // reference-free on Unix: it only checks the library is usable
}

EnetTransport::~EnetTransport() {
  if (service_timer_) loop_.cancel(service_timer_);
  if (client_deadline_) loop_.cancel(client_deadline_);
  if (shutdown_timer_) loop_.cancel(shutdown_timer_);
  for (auto& [id, link] : links_) {
    if (link->join_timer) loop_.cancel(link->join_timer);
    discard_backlog(*link);
  }
  if (host_) {
    loop_.remove(host_->socket);
    host_->peerCount = slots_;  // every slot is reset, not only those service() walks
    enet_host_destroy(host_);   // frees every queued packet while links_ still exists
  }
  enet_deinitialize();
}

TransportCaps EnetTransport::caps_for(const TransportConfig& config) {
  TransportCaps c;
  c.max_message = config.max_payload;  // ENet fragments what is larger than one datagram
  c.reliable = true;
  c.ordered = true;
  c.queues = true;
  c.max_members = kMostPeers;
  return c;
}

Result<void> EnetTransport::start(TransportCallbacks callbacks) {
  if (started_) return make_error("enet transport already started");
  started_ = true;
  callbacks_ = std::move(callbacks);
  return config_.side == Side::kServer ? start_server() : start_client();
}

Result<void> EnetTransport::open_host(const ENetAddress* bind, size_t peers) {
  host_ = enet_host_create(bind, peers, 1, 0, 0);
  if (host_ == nullptr)
    return make_error(fmt::format("enet: cannot open a host on port {} ({})", config_.port,
                                  net::errno_text(errno)));
  // ENet reassembles up to 32 MiB per packet by default before we could look at it: a peer may
  // make it hold no more than one largest frame, and a little over two such frames per link.
  host_->maximumPacketSize = config_.max_payload + wire::kMaxPayloadOverhead + wire::kHeaderSize;
  host_->maximumWaitingData = 2 * host_->maximumPacketSize + 1024 * 1024;
  const int buffer = config_.socket_buffer > 0       ? config_.socket_buffer
                     : config_.side == Side::kServer ? kServerSocketBuffer
                                                     : 0;
  if (buffer > 0) {
    net::set_receive_buffer(host_->socket, buffer);
    net::set_send_buffer(host_->socket, buffer);
  }
  slots_ = host_->peerCount;
  fit_slots();
  loop_.add(host_->socket, EPOLLIN, [this](uint32_t) { service(); });
  arm_service_timer(false);
  return {};
}

Result<void> EnetTransport::start_server() {
  if (config_.max_peers > kMostPeers)
    return make_error(fmt::format(
        "enet: one ENet host holds at most {} members (its largest peer id); {} asked for",
        kMostPeers, config_.max_peers));
  auto address = to_enet_address(config_.bind, config_.port, true);
  if (!address) return address.error();
  // A few spare slots beyond the room's limit, so a joiner past it is told why instead of ignored.
  const size_t peers =
      config_.max_peers ? std::min(config_.max_peers + 16, kMostPeers) : kMostPeers;
  return open_host(&*address, peers);
}

Result<void> EnetTransport::start_client() {
  server_text_ = fmt::format("{}:{}", config_.host, config_.port);
  auto address = to_enet_address(config_.host, config_.port, false);
  if (!address) return address.error();
  if (auto r = open_host(nullptr, 1); !r) return r;
  ENetPeer* peer = enet_host_connect(host_, &*address, 1, 0);
  if (peer == nullptr) return make_error("enet: no free peer slot to connect with");
  auto link = std::make_unique<Link>();
  link->owner = this;
  link->id = kServerPeer;
  link->peer = peer;
  link->info = PeerInfo{kServerPeer, "server", server_text_, false};
  peer->data = reinterpret_cast<void*>(static_cast<uintptr_t>(kServerPeer));
  links_[kServerPeer] = std::move(link);
  schedule_flush();  // the connect request leaves now, not at the next timer
  client_deadline_ = loop_.run_after(config_.connect_timeout, [this] {
    client_deadline_ = 0;
    Link* l = find(kServerPeer);
    if (l == nullptr || l->state != State::kJoining) return;
    const bool connected = l->peer->state == ENET_PEER_STATE_CONNECTED;
    drop(*l, DownReason::kTimedOut,
         connected ? fmt::format("{} did not admit us within {} ms", server_text_,
                                 config_.connect_timeout.count())
                   : fmt::format("no answer from {} within {} ms", server_text_,
                                 config_.connect_timeout.count()));
  });
  return {};
}

void EnetTransport::on_connect(ENetPeer* peer) {
  const auto expiry = static_cast<uint32_t>(config_.expiry.count());
  enet_peer_timeout(peer, 0, expiry, expiry);
  enet_peer_ping_interval(peer, static_cast<uint32_t>(config_.heartbeat.count()));
  steady_resends(peer);
  // ENet narrows a peer's window each time a round trip comes back longer than the last, and a
  // busy receiver's always does; the transport already bounds what a link has in flight (its
  // share), so the window stays whole instead of being walked over, unsendable, on every service.
  enet_peer_throttle_configure(peer, ENET_PEER_PACKET_THROTTLE_INTERVAL,
                               ENET_PEER_PACKET_THROTTLE_ACCELERATION, 0);
  if (config_.side == Side::kClient) {
    if (Link* link = link_of(peer))
      send_control(*link, wire::FrameType::kJoin, config_.name, 0, link->seq++, now_ns());
    return;
  }
  if (shutting_down_) {
    enet_peer_disconnect_now(peer, 0);
    return;
  }
  auto link = std::make_unique<Link>();
  link->owner = this;
  const PeerId id = next_id_++;
  link->id = id;
  link->peer = peer;
  char ip[64] = "?";
  enet_address_get_host_ip(&peer->address, ip, sizeof ip);
  link->info = PeerInfo{id, {}, fmt::format("{}:{}", ip, peer->address.port), false};
  peer->data = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  // A connection that never says JOIN holds a slot: it goes after the connect timeout.
  link->join_timer = guard_.defer_after(loop_, config_.connect_timeout, [this, id] {
    Link* l = find(id);
    if (l == nullptr) return;
    l->join_timer = 0;
    if (l->state == State::kJoining) drop(*l, DownReason::kTimedOut, "no JOIN");
  });
  links_[id] = std::move(link);
}

void EnetTransport::on_receive(ENetPeer* peer, ENetPacket* packet) {
  Link* link = link_of(peer);
  if (link == nullptr || link->state == State::kClosing) {
    enet_packet_destroy(packet);
    return;
  }
  link->stats.bytes_received += packet->dataLength;
  wire::Frame frame;
  const wire::DecodeResult r =
      wire::decode_datagram(std::span<const uint8_t>(packet->data, packet->dataLength),
                            config_.max_payload + wire::kMaxPayloadOverhead, frame);
  enet_packet_destroy(packet);
  if (r.status != wire::DecodeStatus::kOk) {
    drop(*link, DownReason::kError, fmt::format("bad frame: {}", r.reason));
    return;
  }
  handle_frame(*link, frame);
}

void EnetTransport::on_disconnect(ENetPeer* peer, uint32_t data) {
  Link* link = link_of(peer);
  peer->data = nullptr;
  if (link == nullptr) return;
  link->peer = nullptr;  // ENet has reset it
  if (link->state == State::kJoining && config_.side == Side::kClient)
    announce_down(*link, DownReason::kTimedOut, fmt::format("no answer from {}", server_text_));
  else if (link->state == State::kUp && data == kGoodbye)
    announce_down(*link, DownReason::kLeft,
                  config_.side == Side::kServer ? "left" : "server closed the connection");
  else if (link->state == State::kUp)
    announce_down(*link, DownReason::kTimedOut,
                  fmt::format("no word for {} ms", config_.expiry.count()));
  forget(link->id);
}

}  // namespace chat
