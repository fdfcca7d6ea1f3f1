#pragma once
// The TCP wire: frames length-prefixed on a stream, plain-text peers (nc, telnet, the course's
// Python client) told apart by their first byte and served lines, all on the caller's epoll loop
// with no threads. Server and client share the link handling; only admission differs.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/wire/message_codec.h"
#include "transports/tcp/tcp_connection.h"
#include "transports/transport.h"
#include "transports/transport_common.h"

namespace chat {

class TcpTransport final : public Transport {
 public:
  TcpTransport(net::EventLoop& loop, TransportConfig config);
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  static TransportCaps caps_for(const TransportConfig& config);
  std::string_view name() const override { return "tcp"; }
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

  // Client: the member id the server's WELCOME assigned us (0 until then).
  uint32_t member_id() const { return member_id_; }

  // A client sees its server as this peer.
  static constexpr PeerId kServerPeer = 1;

 private:
  using ConnPtr = std::shared_ptr<TcpConnection>;

  // Fairness: one busy peer gets at most this much reading per wake-up; level-triggered epoll
  // brings us back for the rest after the others had their turn.
  static constexpr size_t kReadBudgetBytes = 1024 * 1024;
  // An input buffer that grew for a large frame is given back past this size once it is empty, so
  // a thousand idle hub members do not each keep their biggest burst.
  static constexpr size_t kKeepInputBytes = 128 * 1024;
  // How long a closing link may take to flush its goodbye before we drop what is left.
  static constexpr std::chrono::milliseconds kCloseLinger{1000};
  // What a closing link still reads and throws away before its fd is closed: closing a socket with
  // unread input sends a reset, and a reset discards what the peer had not read yet (our goodbye).
  static constexpr size_t kDiscardBeforeClose = 1024 * 1024;
  // Kernel send buffer made for a goodbye at shutdown (LEAVE or a line, and their headers).
  static constexpr size_t kGoodbyeRoom = 4096;
  // Messages below this are gathered per link and flushed once per loop turn; larger ones are sent
  // at once, straight from the caller's bytes when nothing is queued, to save a copy.
  static constexpr size_t kCoalesceBelow = 16 * 1024;

  using State = TcpConnection::State;

  // Server side (tcp_transport_server.cpp).
  Result<void> start_server();
  void on_acceptable();
  void pause_accepting();
  bool shed_oldest_silent();
  void accept_one(net::Fd fd, const net::SocketAddress& from);
  bool admit_text(TcpConnection& c);
  bool handle_join(TcpConnection& c, const wire::Frame& f);

  // Client side (tcp_transport_client.cpp).
  Result<void> start_client();
  void connect_next();
  void on_connected(const ConnPtr& c);
  void on_client_deadline();
  bool handle_welcome(TcpConnection& c, const wire::Frame& f);

  // Link handling shared by both sides.
  void tune_socket(int fd) const;
  void open_link(const ConnPtr& c);
  void on_event(const ConnPtr& c, uint32_t events);
  void on_readable(TcpConnection& c);
  void on_writable(TcpConnection& c);
  bool consume(TcpConnection& c);
  bool consume_frames(TcpConnection& c);
  bool handle_frame(TcpConnection& c, const wire::Frame& f);
  bool deliver_frame_message(TcpConnection& c, Result<Message> m);
  static void make_room_for_frame(net::Buffer& in, size_t frame_size);
  bool consume_text(TcpConnection& c, bool burst_end);
  void arm_quiet_timer(TcpConnection& c);
  bool deliver_lines(TcpConnection& c, std::vector<std::string>& lines,
                     const std::vector<LineEnd>& ends);
  void on_eof(TcpConnection& c);
  void on_socket_error(TcpConnection& c, int err);
  void protocol_error(TcpConnection& c, const std::string& reason);

  // Sending.
  uint32_t own_sender() const;
  Result<void> send_to(TcpConnection& c, const Message& message);
  Result<void> check_size(const Message& m) const;
  size_t low_water() const { return config_.high_water_bytes / 2; }
  size_t max_frame_payload() const { return config_.max_payload + wire::kMaxPayloadOverhead; }
  // The frame for `m` into `out`; for a message of kCoalesceBelow bytes or more, all of it but the
  // text, which is returned to go to the kernel from where it lies (empty otherwise).
  std::string_view encode_frame_for(TcpConnection& c, const Message& m, std::string& out);
  // One message, in one or two parts.
  Result<void> queue(TcpConnection& c, std::string_view head, std::string_view body = {});
  void send_control(TcpConnection& c, wire::FrameType type, std::string_view payload,
                    uint32_t sender, uint32_t seq, uint64_t timestamp_ns);

  // Back-pressure (tcp_backpressure.cpp). A server under the disconnect policy stops reading its
  // peers while any of them has more queued than the high-water mark, and reads again once every
  // queue fell below the low-water mark; a peer that stays past the mark longer than the grace is
  // cut, so one reader that never reads holds the room up for the grace only.
  bool backpressure() const {
    return config_.side == Side::kServer && config_.overflow == OverflowPolicy::kDisconnect;
  }
  bool room_full() const { return over_mark_ > 0; }
  // What one queue may hold even while the room waits: the mark, plus what arrives from a read
  // already under way and from the room's own notices.
  size_t hard_limit() const;
  void check_mark(TcpConnection& c);
  void enter_mark(TcpConnection& c);
  void leave_mark(TcpConnection& c);
  void pause_reading(TcpConnection& c);
  void resume_reading();
  void cut_slow_reader(TcpConnection& c, const std::string& why);
  // Drop policy: counts and logs (at most once a second per peer) what a slow reader missed, and
  // tells it the count once its queue drained.
  void note_drop(TcpConnection& c);
  void tell_missed(TcpConnection& c);

  // Closing.
  void begin_drain(TcpConnection& c);
  void finish(TcpConnection& c);
  void leave_up(TcpConnection& c);
  void announce_down(TcpConnection& c, DownReason reason, std::string why);
  void announce_down_id(PeerId id, DownReason reason, std::string why);
  void reap_later();
  void maybe_finish_shutdown();
  void finish_shutdown();
  void defer_guarded(std::function<void()> fn);
  void mark_dirty(TcpConnection& c);

  TcpConnection* find(PeerId id) const;
  TcpConnection* find_up(PeerId id) const;

  net::EventLoop& loop_;
  TransportConfig config_;
  TransportCallbacks callbacks_;
  bool started_ = false;

  // Server.
  net::Fd listener_;
  bool listening_ = false;
  net::TimerId accept_pause_timer_ = 0;
  net::SocketAddress local_;
  PeerId next_id_ = 1;
  size_t members_ = 0;  // admitted peers, for max_peers

  // Client.
  std::vector<net::SocketAddress> addresses_;
  size_t next_address_ = 0;
  DownReason connect_failure_ = DownReason::kError;
  std::string connect_error_;
  net::TimerId client_deadline_ = 0;
  uint32_t member_id_ = 0;

  std::map<PeerId, ConnPtr> conns_;  // ordered: peers() and shutdown go in join order
  bool reap_scheduled_ = false;

  // Encoded bytes, reused across sends so the hot path does not allocate for them.
  std::string send_bytes_;
  std::string line_bytes_;
  std::string control_bytes_;
  wire::Frame control_frame_;

  bool shutting_down_ = false;
  bool shutdown_complete_ = false;
  bool silenced_ = false;  // after shutdown's done(): no further callbacks
  std::function<void()> shutdown_done_;
  net::TimerId shutdown_timer_ = 0;

  seam::AliveGuard guard_;
  std::vector<PeerId> dirty_;  // links with output appended this loop turn, flushed at its end
  std::vector<PeerId> spare_dirty_;  // dirty_'s swap partner (see mark_dirty)
  bool flush_scheduled_ = false;

  size_t over_mark_ = 0;        // up links whose queue is past the high-water mark
  std::vector<PeerId> paused_;  // links not read while the room is full
};

}  // namespace chat
