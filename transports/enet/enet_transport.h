#pragma once
// The ENet wire: reliable, sequenced messages over UDP through the ENet library. ENet owns what
// the udp wire leaves undone (acknowledgements, resends, ordering per channel, fragmentation of
// large messages, its own pings and timeouts); this class puts the project's membership on top —
// JOIN → WELCOME or REFUSE, member ids, LEAVE — with one frame of the usual layout per packet,
// all on channel 0, so a peer's messages arrive in the order it sent them.
//
// The host's socket is watched by the caller's EventLoop and serviced on every readable event and
// on a short timer (ENet resends and pings only when serviced). Expiry is ENet's peer timeout set
// to config.expiry, and ENet's ping interval is config.heartbeat.
//
// Scale: one ENet host holds at most 4,095 peers (its largest peer id), so a server refuses to
// start with a larger --max-clients and caps() says so. Every enet_host_service walks all of the
// host's peer slots, so a readiness is serviced once per datagram batch, what handlers queue goes
// out in one flush, and the host's slot count is kept just above the highest slot in use (see
// enet_transport_service.cpp).
//
// Where it differs from tcp and udp: no plain-text peers (nc cannot speak ENet's protocol), and
// IPv4 only (ENet 1.3 addresses are IPv4). A datagram that is not ENet's is dropped by the library
// before it reaches us; a connected peer that sends a packet that is not a frame is dropped alone.
#include <enet/enet.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/wire/frame.h"
#include "transports/transport.h"
#include "transports/transport_common.h"

namespace chat {

class EnetTransport final : public Transport {
 public:
  static constexpr PeerId kServerPeer = 1;  // a client sees its server as this peer
  // The data of a disconnect that follows LEAVE; a timeout arrives with 0.
  static constexpr uint32_t kGoodbye = 1;
  // ENet's largest peer id: one host never holds more peers than this.
  static constexpr size_t kMostPeers = ENET_PROTOCOL_MAXIMUM_PEER_ID;

  EnetTransport(net::EventLoop& loop, TransportConfig config);
  ~EnetTransport() override;
  EnetTransport(const EnetTransport&) = delete;
  EnetTransport& operator=(const EnetTransport&) = delete;

  static TransportCaps caps_for(const TransportConfig& config);
  std::string_view name() const override { return "enet"; }
  TransportCaps caps() const override { return caps_for(config_); }
  Result<void> start(TransportCallbacks callbacks) override;
  Result<void> send(PeerId peer, const Message& message) override;
  size_t broadcast(const Message& message, PeerId except = kNoPeer) override;
  void close(PeerId peer, std::string_view reason) override;
  void shutdown(std::chrono::milliseconds linger, std::function<void()> done) override;
  void ping(PeerId peer) override;
  PeerStats stats(PeerId peer) const override;
  std::string describe_stats(PeerId peer) const override;
  std::vector<PeerInfo> peers() const override;
  net::SocketAddress local_address() const override;

 private:
  enum class State { kJoining, kUp, kClosing };
  struct Link {
    PeerId id = kNoPeer;
    ENetPeer* peer = nullptr;
    PeerInfo info;
    State state = State::kJoining;
    PeerStats stats;
    uint32_t seq = 0;
    uint64_t queued = 0;  // bytes sent and not yet acknowledged (packet free callback)
    // ENet walks a peer's whole outgoing queue on every service once its window is full, so it
    // is handed about one window (in_enet bytes) and the rest waits here, in order.
    std::deque<ENetPacket*> backlog;
    uint64_t in_enet = 0;
    bool leave_when_sent = false;  // disconnect once the backlog has gone to ENet
    bool feed_pending = false;     // in feed_ (an acknowledgement made room)
    EnetTransport* owner = nullptr;
    bool owes_writable = false;
    bool announced = false;  // on_peer_down said, or never owed
    uint32_t lost_seen = 0;  // ENet's packetsLost when last read (it resets it every interval)
    uint64_t retransmits = 0;
    net::TimerId join_timer = 0;
  };

  // enet_transport.cpp: set-up and ENet's events.
  Result<void> start_server();
  Result<void> start_client();
  Result<void> open_host(const ENetAddress* bind, size_t peers);
  void on_connect(ENetPeer* peer);
  void on_receive(ENetPeer* peer, ENetPacket* packet);
  void on_disconnect(ENetPeer* peer, uint32_t data);
  void handle_frame(Link& link, const wire::Frame& f);
  void handle_join(Link& link, const wire::Frame& f);
  void drop(Link& link, DownReason reason, const std::string& why);

  // enet_transport_service.cpp: driving ENet from the loop.
  void service();
  void on_service_timer();
  void dispatch(const ENetEvent& event);
  bool datagram_waiting() const;
  void fit_slots();
  void after_service();
  bool busy() const;  // anything unacknowledged, queued, or a handshake under way
  void arm_service_timer(bool busy);
  void count_resends();
  uint64_t resends(const Link& link) const;

  // enet_transport_send.cpp: packets out, closing, queries.
  static void on_packet_freed(ENetPacket* packet);
  Result<void> queue(Link& link, std::string_view bytes, bool counted);
  void feed(Link& link);  // hands backlog to ENet up to the window
  void feed_all();        // every link an acknowledgement made room for
  void disconnect_later(Link& link);
  uint64_t share() const;  // bytes one link may have inside ENet
  static void steady_resends(ENetPeer* peer);
  void discard_backlog(Link& link);
  void send_control(Link& link, wire::FrameType type, std::string_view payload, uint32_t sender,
                    uint32_t seq, uint64_t timestamp_ns);
  void announce_down(Link& link, DownReason reason, std::string why);
  void forget(PeerId id);
  void maybe_finish_shutdown();
  void finish_shutdown();
  void schedule_flush();
  Link* find(PeerId id) const;
  Link* find_up(PeerId id) const;
  Link* link_of(ENetPeer* peer) const;
  uint32_t own_sender() const { return seam::own_sender(config_.side, member_id_); }
  size_t low_water() const { return config_.high_water_bytes / 2; }

  net::EventLoop& loop_;
  TransportConfig config_;
  TransportCallbacks callbacks_;
  bool started_ = false;
  std::map<PeerId, std::unique_ptr<Link>> links_;  // ordered: peers() go in join order
  // Destroyed first in ~EnetTransport: its packets' free callbacks point into links_.
  ENetHost* host_ = nullptr;
  net::TimerId service_timer_ = 0;
  bool timer_busy_ = false;      // the service timer runs at the busy period
  size_t slots_ = 0;             // peer slots allocated; host_->peerCount is how many ENet walks
  bool in_service_ = false;      // inside service(): its own flush sends what is queued
  bool unflushed_ = false;       // packets queued since the last flush
  bool resume_pending_ = false;  // service() stopped at its limit and resumes on a timer
  std::vector<PeerId> owing_writable_;  // links that passed the low-water mark
  uint64_t resends_ = 0;                // by links already gone
  std::vector<PeerId> feed_;            // links with backlog and room in ENet's window
  net::TimerId client_deadline_ = 0;
  PeerId next_id_ = 1;
  uint32_t member_id_ = 0;
  std::string server_text_;  // client: "HOST:PORT" as given
  bool flush_scheduled_ = false;
  std::string bytes_;

  bool shutting_down_ = false;
  bool shutdown_complete_ = false;
  bool silenced_ = false;
  std::function<void()> shutdown_done_;
  net::TimerId shutdown_timer_ = 0;
  seam::AliveGuard guard_;
};

}  // namespace chat
