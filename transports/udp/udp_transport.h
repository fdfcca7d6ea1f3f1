#pragma once
// The UDP wire behind the Transport seam: one frame per datagram, plus what UDP lacks: a JOIN →
// WELCOME handshake with member ids, a membership table with heartbeats and expiry, LEAVE, and
// per-link sequence numbers tracked with a sliding window.
//
// Server: one unconnected socket for the whole room; members are told apart by source address,
// and an address joins only once it has shown it receives what is sent to it (see admission.h):
// a framed joiner echoes a cookie, a plain-text peer (nc -u) types the code it was sent and then
// becomes a text member that is sent lines. Every frame from a framed member carries the secret
// token its WELCOME gave it; one without it is dropped and counted, whatever its source address.
// Client: one connected socket, so an ICMP port-unreachable surfaces as ECONNREFUSED and "nothing
// is listening" is reported at once instead of after the timeout.
//
// Every frame sent on a link takes that link's next sequence number, except PONG, whose seq and
// timestamp fields echo the PING's (RTT = now - echoed timestamp); the receiver feeds every frame
// but PONG to the link's SequenceTracker, so a lost heartbeat counts as loss like a lost message.
// Duplicates the window recognises are counted and not delivered.
//
// Outgoing datagrams queue briefly and leave in sendmmsg batches: at the end of each receive
// batch, when 256 are queued, or after the current loop iteration. Nothing waits on the kernel: a
// datagram the socket buffer cannot take (EAGAIN) is dropped and counted in stats().dropped.
//
// Frames for one framed peer within that window are packed into BUNDLE datagrams of at most
// `udp_bundle_bytes` (the path MTU's payload; 0 turns bundling off), so a hub relaying a burst
// pays the kernel's per-datagram cost once per member, not once per member per message. A lone
// frame still leaves as a plain frame, and a frame too large for a bundle leaves alone. A peer's
// bundles leave together, padded to one size, so the kernel takes them as one offload send; what
// waits for one peer is bounded by one such send (64,000 bytes), and for all by kMaxFullBundles.
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/wire/frame_codec.h"
#include "src/wire/text_codec.h"
#include "transports/transport.h"
#include "transports/transport_common.h"
#include "transports/udp/admission.h"
#include "transports/udp/datagram_socket.h"
#include "transports/udp/membership.h"
#include "transports/udp/sequence_tracker.h"

namespace chat {

class UdpTransport final : public Transport {
 public:
  // The only peer a client has: the hub.
  static constexpr PeerId kServerPeer = 1;

  UdpTransport(net::EventLoop& loop, TransportConfig config);
  ~UdpTransport() override;
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  static TransportCaps caps_for(const TransportConfig& config);
  std::string_view name() const override { return "udp"; }
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
  enum class ClientState { kIdle, kJoining, kJoined, kDown };

  struct Link {
    // Server: the member's secret (sent once, in WELCOME). Client: what we stamp on every frame
    // to the hub: the cookie while joining, the secret once welcomed.
    uint64_t token = 0;
    uint32_t send_seq = 0;
    udp::SequenceTracker tracker;
    PeerStats stats;
    udp::TimePoint last_sent{};
    size_t bundle = kNoBundle;  // index into open_ while frames for it are being gathered
  };
  static constexpr size_t kNoBundle = ~size_t{0};
  // Queued datagrams that trigger an immediate flush: a sendmmsg's worth, so a member's chain of
  // bundles is rarely cut between two calls.
  static constexpr size_t kSendQueueLimit = 256;
  struct Pending {
    PeerId peer;
    uint32_t messages;  // chat messages the datagram carries (a bundle may carry many)
    uint32_t skip;      // bytes at the front of the slot that are not sent
    bool has_address;
    net::SocketAddress to;
    std::span<const uint8_t> bytes;  // when set, sent instead of the slot (a bundle chain's)
  };
  // This loop turn's frames for one framed peer, as a chain of bundles laid out `limit` bytes
  // apart: the full ones, then the one being filled. Equal strides let the full ones be padded to
  // one size at the flush, so the chain leaves as one segmentation-offload send.
  struct OpenBundle {
    struct Full {
      uint32_t length;  // header and frames, before padding
      uint32_t frames;
      uint32_t messages;
      uint64_t stamp_ns;
    };
    PeerId peer = kNoPeer;
    std::string bytes;
    std::vector<Full> full;
    size_t start = 0;  // where the bundle being filled begins
    uint32_t frames = 0;
    uint32_t messages = 0;
    uint64_t stamp_ns = 0;  // when its latest frame was queued: no clock read per bundle
    size_t limit = 0;
    bool has_address = false;
    net::SocketAddress to;
  };

  Result<void> start_server();
  Result<void> start_client();
  Result<void> open_client_socket();
  std::unique_ptr<udp::DatagramIo> wrap(net::Fd fd, size_t batch);

  void on_readable();
  // `member`: the sender's entry (members_.find(d.from)), null for a stranger.
  void handle_server_datagram(const udp::InboundDatagram& d, udp::Member* member);
  void handle_stranger(const udp::InboundDatagram& d);
  void handle_text_stranger(const udp::InboundDatagram& d);
  void note_malformed(const udp::InboundDatagram& d, std::string_view why);
  // A JOIN from a stranger, or from a member's address without the member's token.
  void handle_join(const udp::InboundDatagram& d, udp::Member* member);
  void handle_text(PeerId id, const udp::InboundDatagram& d);
  void handle_member_frame(PeerId id, const udp::InboundDatagram& d);
  void handle_client_datagram(const udp::InboundDatagram& d);
  void deliver(PeerId id, Link& link, const udp::InboundDatagram& d);
  void record_pong(Link& link, uint64_t echoed_ns);
  // Checks a BUNDLE whole, then handles each frame in it as if it had come alone.
  void receive_bundle(const udp::InboundDatagram& d);
  void dispatch(const udp::InboundDatagram& d);
  // Counts a datagram for its link; on a server returns the sender's entry (null: a stranger).
  udp::Member* count_datagram(const udp::InboundDatagram& d);

  // Queues one frame (or text line) for `peer`; `to` is null on the client's connected socket.
  void queue_frame(PeerId peer, Link& link, const net::SocketAddress* to, wire::FrameType type,
                   std::string_view payload, bool is_message, bool sequenced = true,
                   uint32_t seq = 0, uint64_t timestamp = 0);
  // Queues a DATA/NOTICE frame for `message`, encoded straight into the send slot.
  void queue_message(PeerId peer, Link& link, const net::SocketAddress* to, const Message& message);
  // `line` goes out as it is: the caller has ended it.
  void queue_text(PeerId peer, Link& link, const net::SocketAddress& to, std::string_view line,
                  bool is_message);
  std::string& next_slot();
  void commit_slot(PeerId peer, const net::SocketAddress* to, uint32_t messages, uint32_t skip = 0);
  void schedule_flush();
  // Where to append one encoded frame of `frame_bytes` for `peer`: its open bundle, or null when
  // the frame must leave alone (bundling off, a text or unknown peer, a frame too large).
  std::string* bundle_for(PeerId peer, Link& link, const net::SocketAddress* to,
                          size_t frame_bytes);
  // Counts the frame just appended to the buffer bundle_for returned.
  void bundled(Link& link, bool is_message);
  size_t bundle_limit(const net::SocketAddress* to) const;
  bool end_bundle(OpenBundle& b);  // records the open bundle as full; false if it was empty
  // Closes the bundle being filled; a chain as long as one offload send may be goes out at once.
  void close_bundle(OpenBundle& b);
  // Queues b's chain (a lone frame as itself); b's bytes must stay put until send_queued().
  void queue_chain(OpenBundle& b);
  void reset_chain(OpenBundle& b);
  void send_chain_now(OpenBundle& b);
  // Moves every chain into the send queue and sends it.
  void seal_bundles();
  // Sends the queue; open bundles stay open.
  void send_queued();
  void flush_pending();
  // Sends out_ and accounts each datagram on its link (out_links_, out_messages_).
  void send_batch();
  // broadcast() when the message fits a bundle: appended to each framed member's open bundle.
  size_t broadcast_bundled(const Message& message, PeerId except);
  // The line a broadcast gives plain-text members, made once on first need (most rooms have
  // none); nullptr when it cannot fit one datagram.
  const std::string* shared_text_line(const Message& message, std::optional<bool>& fits);
  // One header-only control frame to every framed member (heartbeats, LEAVE at shutdown).
  void send_control_to_members(wire::FrameType type, bool only_idle, udp::TimePoint now);

  void on_tick();
  void server_tick(udp::TimePoint now);
  void report_refused(udp::TimePoint now);
  void client_tick(udp::TimePoint now);
  void send_join();
  void client_down(DownReason reason, const std::string& why);
  void schedule_refused();
  void on_refused();
  void remove_member(PeerId id);
  void stop_timers();

  Link* find_link(PeerId peer);
  const Link* find_link(PeerId peer) const;
  Result<void> check_size(size_t text_size, size_t datagram_size) const;
  std::string hub_text() const;  // "HOST:PORT" as the user gave it
  template <class Fn>
  void defer_guarded(Fn fn);

  net::EventLoop& loop_;
  TransportConfig config_;
  TransportCallbacks callbacks_;
  std::unique_ptr<udp::DatagramIo> io_;
  size_t max_payload_;
  size_t batch_ = 32;
  bool started_ = false;
  bool stopped_ = false;  // shut down: no more callbacks, no more sends
  seam::AliveGuard guard_;

  net::TimerId tick_timer_ = 0;
  net::TimerId join_timer_ = 0;
  net::TimerId join_deadline_ = 0;

  // Server.
  udp::Membership members_;
  std::unordered_map<PeerId, Link> links_;
  std::unique_ptr<udp::Admission> admission_;
  size_t stranger_work_ = 0;  // strangers handled in this wakeup
  // The last moment the socket was read dry, and whether the last wakeup left datagrams queued.
  udp::TimePoint caught_up_{};
  bool behind_ = false;
  // The kernel's count of datagrams it dropped for want of buffer, and when we last saw it grow.
  uint32_t overflowed_ = 0;
  udp::TimePoint overflowed_at_{};
  // What was turned away since the last report in the log.
  struct Refused {
    uint64_t challenged = 0;   // told the cookie or the code
    uint64_t withheld = 0;     // an answer would have exceeded 3× what the address sent
    uint64_t shed = 0;         // past the per-wakeup share for strangers: not even looked at
    uint64_t not_joined = 0;   // a frame other than JOIN from a stranger
    uint64_t malformed = 0;    // not a frame we can read (or from a member, not a frame at all)
    uint64_t wrong_token = 0;  // a member's address without the member's secret
    uint64_t locked = 0;       // a code from an address out of tries until the secret changes
    std::string first_malformed;
    bool any() const {
      return challenged || withheld || shed || not_joined || malformed || wrong_token || locked;
    }
  } refused_;
  udp::TimePoint refused_reported_{};

  // Client.
  ClientState client_state_ = ClientState::kIdle;
  std::vector<net::SocketAddress> candidates_;
  size_t candidate_ = 0;
  net::SocketAddress server_address_;
  Link server_link_;
  uint32_t my_id_ = 0;  // the member id the hub gave us
  udp::TimePoint server_heard_{};
  bool refused_pending_ = false;

  // Receive scratch, reused so steady-state receiving allocates only the delivered message.
  wire::Frame frame_;
  wire::LineSplitter splitter_;
  std::vector<std::string> lines_;

  // Send queue and batch scratch.
  std::vector<Pending> pending_;
  std::vector<std::string> slots_;
  bool flush_scheduled_ = false;
  int receiving_depth_ = -1;  // the loop depth on_readable runs at; -1 outside it
  std::vector<udp::OutboundDatagram> out_;
  std::vector<Link*> out_links_;
  std::vector<uint32_t> out_messages_;
  std::vector<OpenBundle> open_;  // the first open_count_ are in use; the rest keep capacity
  size_t open_count_ = 0;
  size_t full_bundles_ = 0;  // across every chain: bounds what one turn may hold
  std::vector<std::span<const uint8_t>> inner_;  // a received bundle's frames
  std::vector<std::array<uint8_t, wire::kHeaderSize>> heads_;
  std::string shared_frame_;
  std::string shared_line_;
};

}  // namespace chat
