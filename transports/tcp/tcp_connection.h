#pragma once
// One TCP connection: its fd, its registration on the loop, an input and a bounded-by-the-caller
// output buffer, and the per-link protocol state the transport keeps for it. The connection does
// byte I/O only; what the bytes mean (frames, lines, JOIN) is TcpTransport's business.
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "src/net/buffer.h"
#include "src/net/event_loop.h"
#include "src/net/fd.h"
#include "src/wire/frame.h"
#include "src/wire/text_codec.h"
#include "transports/transport.h"

namespace chat {

class TcpConnection {
 public:
  enum class State {
    kConnecting,  // client: non-blocking connect in flight
    kSniffing,    // server: accepted, waiting for the first byte to tell framed from text
    kJoining,     // framed, not yet admitted (server waits for JOIN, client for WELCOME)
    kUp,          // admitted: on_peer_up has fired
    kDraining,    // closing: flushing output, then half-close and wait (bounded) for the FIN
    kClosed,      // fd gone; the object lives until the transport reaps it
  };

  TcpConnection(net::EventLoop& loop, PeerId id, net::Fd fd, std::string address, size_t max_line);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  PeerId id() const { return id_; }
  int fd() const { return fd_.get(); }

  // Queues bytes (whole messages) without a system call; the transport flushes dirty links once
  // per loop turn.
  // One message, given in two parts (either may be empty).
  void append(std::string_view head, std::string_view body = {}) {
    output_.append(head);
    output_.append(body);
    note_appended(head.size() + body.size(), true);
  }
  bool dirty() const { return dirty_; }
  void set_dirty(bool dirty) { dirty_ = dirty; }
  // Its queue passed the low-water mark: on_writable is owed once it falls below again.
  bool owes_writable() const { return owes_writable_; }
  void set_owes_writable(bool owes) { owes_writable_ = owes; }
  const std::string& address() const { return info_.address; }
  PeerInfo& info() { return info_; }
  const PeerInfo& info() const { return info_; }
  PeerStats& stats() { return stats_; }
  const PeerStats& stats() const { return stats_; }

  State state() const { return state_; }
  void set_state(State state);
  bool up() const { return state_ == State::kUp; }
  bool closed() const { return state_ == State::kClosed; }
  bool framed() const { return framed_; }
  void set_framed(bool framed) { framed_ = framed; }

  // Whether on_peer_down must fire for this link when it goes (set once it is up, or from the
  // start for a client's link to its server) and whether it already has.
  bool announce_down() const { return announce_down_ && !announced_; }
  void set_announce_down(bool on) { announce_down_ = on; }
  void mark_announced() { announced_ = true; }

  uint32_t take_seq() { return next_seq_++; }
  net::Buffer& input() { return input_; }
  wire::Frame& frame() { return frame_; }
  wire::LineSplitter& splitter() { return splitter_; }

  // Registers on the loop; events follow the state (EPOLLOUT while connecting or while output is
  // queued, EPOLLIN otherwise).
  void open(net::EventLoop::IoHandler handler);
  // Deregisters, cancels the timer and closes the fd at once; queued output is discarded.
  void close_now();

  // One timer per link (sniff, join, connect or close deadline); arming cancels the previous one.
  void arm_timer(net::Duration delay, std::function<void()> fn);
  void cancel_timer();
  // A second timer for the whole life of a link that has not yet sent a byte; closing cancels it.
  void arm_idle_timer(net::Duration delay, std::function<void()> fn);
  void cancel_idle_timer();
  // A third timer for back-pressure: how long its queue may stay past the mark before it is cut.
  void arm_slow_timer(net::Duration delay, std::function<void()> fn);
  void cancel_slow_timer();
  // Back-pressure: while set the link is not read (EPOLLIN is off), so the kernel's buffers fill
  // and push back on the peer; EPOLLOUT still follows the queue.
  void set_reading_paused(bool paused);
  bool reading_paused() const { return reading_paused_; }
  // Its queue passed the high-water mark and has not yet fallen below the low-water mark.
  bool over_mark() const { return over_mark_; }
  void set_over_mark(bool over) { over_mark_ = over; }
  // Drop policy: messages dropped and not yet told to the peer, and not yet logged.
  uint64_t& missed() { return missed_; }
  uint64_t& unlogged_drops() { return unlogged_drops_; }
  uint64_t& last_drop_log_ns() { return last_drop_log_ns_; }
  // Whether the peer has ever sent a byte: a silent link is the first to go when fds run out.
  bool spoken() const { return spoken_; }
  void mark_spoken() { spoken_ = true; }

  // One read into input(). Returns >0 bytes, 0 at EOF, -1 with `err` set. `drained` tells that
  // the read did not fill the room it was offered, so the socket is very likely empty now.
  ssize_t read(int& err, bool& drained);

  // Writes one message at once when nothing is queued and keeps what the kernel did not take.
  // Returns 0, or the errno that killed the socket (EPIPE, ECONNRESET, ...). In two parts, the
  // message leaves in one sendmsg from where each part lies.
  int write(std::string_view head, std::string_view body = {});
  // Writes what is queued (on EPOLLOUT). Same return as write().
  int flush();
  size_t queued() const { return output_.readable_bytes(); }
  // Drops the queued messages the kernel has not begun to take, but for the last one (a message
  // it took in part is kept whole, or the stream would break mid-frame); returns how many went.
  // For a goodbye that should not wait behind what a peer that stopped reading will never read.
  size_t drop_backlog();
  // Makes room in the kernel's send buffer for `bytes` more, where the system allows it.
  void grow_send_buffer(size_t bytes);

  // Half-closes after the queue drained, so the peer reads everything and then EOF.
  void shutdown_write();
  bool write_shut() const { return write_shut_; }
  // Reads and discards what the peer sent, at most `limit` bytes: a socket closed with unread
  // input sends a reset, and a reset makes the peer's kernel throw away what it had not yet read
  // (our goodbye among it). Returns false once the peer's FIN or an error was seen.
  bool discard_input(size_t limit);
  // The peer sent its FIN: stop watching for input (EOF stays readable for ever) while what we
  // still owe it drains.
  void set_peer_closed();
  bool peer_closed() const { return peer_closed_; }

  uint64_t retransmits() const;  // tcpi_total_retrans from TCP_INFO

 private:
  void update_interest();
  // `whole`: the bytes are a message, not the tail of one the kernel took in part.
  void note_appended(size_t n, bool whole) {
    appended_ += n;
    if (ends_.empty() && output_.readable_bytes() < kTrackFrom) return;
    if (ends_.empty() && whole) ends_.push_back(appended_ - n);  // this one's start
    ends_.push_back(appended_);
  }
  void note_sent(size_t n);

  net::EventLoop& loop_;
  PeerId id_;
  net::Fd fd_;
  PeerInfo info_;
  PeerStats stats_;
  State state_ = State::kSniffing;
  bool framed_ = false;
  bool announce_down_ = false;
  bool announced_ = false;
  bool registered_ = false;
  bool write_shut_ = false;
  bool peer_closed_ = false;
  uint32_t interest_ = 0;
  uint32_t next_seq_ = 1;
  net::TimerId timer_ = 0;
  net::TimerId idle_timer_ = 0;
  net::TimerId slow_timer_ = 0;
  bool reading_paused_ = false;
  bool over_mark_ = false;
  uint64_t missed_ = 0;
  uint64_t unlogged_drops_ = 0;
  uint64_t last_drop_log_ns_ = 0;
  bool spoken_ = false;
  net::Buffer input_;
  net::Buffer output_;
  // Message boundaries in the output stream, counted from the link's first byte: bytes ever queued
  // and sent, and where queued messages end. Kept only while the queue is past kTrackFrom, so a
  // link that keeps up pays nothing for them; below it there is little to drop anyway.
  static constexpr size_t kTrackFrom = 64 * 1024;
  uint64_t appended_ = 0;
  uint64_t consumed_ = 0;
  std::deque<uint64_t> ends_;
  wire::Frame frame_;  // decode target, reused so its payload keeps its capacity
  wire::LineSplitter splitter_;
  bool dirty_ = false;
  bool owes_writable_ = false;
};

}  // namespace chat
