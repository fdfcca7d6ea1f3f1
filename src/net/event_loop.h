#pragma once
// One event loop with timers: every socket, the terminal and the signals are served from one
// thread: no thread per client, so a thousand idle members cost a thousand fds, not threads. It
// waits with epoll or io_uring (poller.h); handlers see the same level-triggered events on both.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "src/net/fd.h"
#include "src/net/poller.h"

namespace chat::net {

using Duration = std::chrono::nanoseconds;
using TimerId = uint64_t;

class EventLoop {
 public:
  using IoHandler = std::function<void(uint32_t events)>;

  // io_uring falls back to epoll where the kernel refuses it (see backend()).
  explicit EventLoop(IoBackend backend = default_io_backend());
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Registers `fd` for `events` (EPOLLIN, EPOLLOUT, ...). The handler may remove any fd, including
  // its own: events for a removed fd are never delivered afterwards.
  void add(int fd, uint32_t events, IoHandler handler);
  void modify(int fd, uint32_t events);
  void remove(int fd);

  // Asks the loop to read the socket `fd` (already added for EPOLLIN) itself, up to `bytes` at a
  // time, and to hand the bytes over through receive(). On io_uring the read is done by the kernel
  // as the bytes arrive, so the wake-up and the read are one system call; elsewhere nothing
  // changes. Whoever asks must read `fd` only through receive() from then on.
  void read_ahead(int fd, size_t bytes) { poller_->read_ahead(fd, bytes); }
  // Whether `fd` is read ahead (on epoll never): its owner then reads it only through receive().
  bool reads_ahead(int fd) const { return poller_->reads_ahead(fd); }
  // Whether bytes read ahead for `fd` wait to be taken (MSG_PEEK cannot see them).
  bool holds_read_ahead(int fd) const { return poller_->holds_read_ahead(fd); }
  // recvmsg(fd, &msg, MSG_DONTWAIT): -1 with `err` set (EAGAIN when nothing is there), 0 at the end
  // of a stream, else the bytes copied into msg's iovecs (name, control and flags as recvmsg sets
  // them).
  ssize_t receive(int fd, msghdr& msg, int& err) { return poller_->receive(fd, msg, err); }
  // Whether bytes or datagrams wait on socket `fd` that its owner has not read: read ahead here, or
  // still in the kernel (one MSG_PEEK). A timer about to call a peer silent asks first: a busy
  // loop may run it before it reads what arrived in time.
  bool has_unread(int fd) const;
  IoBackend backend() const { return poller_->backend(); }

  TimerId run_after(Duration delay, std::function<void()> fn);
  TimerId run_every(Duration period, std::function<void()> fn);
  void cancel(TimerId id);
  // Runs `fn` after the current batch of events: the safe place to destroy what a handler owns.
  void defer(std::function<void()> fn) { defer_for(nullptr, std::move(fn)); }
  // The same, for work of an `owner` that may be destroyed before it runs: forget(owner), from its
  // destructor, drops everything it still has queued. A callable that captures only `this` then
  // needs no guard object, so deferring it allocates nothing (a flush per loop turn does this).
  void defer_for(const void* owner, std::function<void()> fn);
  void forget(const void* owner);

  // Delivers SIGINT/SIGTERM through the loop (signalfd) instead of an async handler.
  void on_signals(std::function<void(int signo)> fn);

  // Spinning: every wait returns at once instead of sleeping (`chat bench rtt --busy-poll`, like
  // sockperf's spinning client). Timers and deferred work run as usual between the passes.
  void set_spinning(bool spin) { spinning_ = spin; }

  void run();  // until stop()
  void stop() { running_ = false; }
  bool running() const { return running_; }
  // How many run() calls are under way (a handler may run a nested loop): lets a handler that
  // will finish its own work before returning tell its own turn from a nested one.
  int depth() const { return depth_; }

 private:
  struct Watch {
    uint64_t generation = 0;
    std::shared_ptr<IoHandler> handler;
  };
  struct Timer {
    Duration period;  // zero for one-shot
    std::function<void()> fn;
  };

  // How the next wait may sleep: the poller's timeout (0: not at all, -1: until woken; the
  // timerfd wakes it for timers) and how long no timer is due (INT64_MAX: none).
  struct WaitFor {
    int timeout_ms;
    int64_t quiet_ns = INT64_MAX;
  };
  WaitFor prepare_wait();
  void run_timers();
  void run_deferred();

  std::unique_ptr<Poller> poller_;
  Fd signal_fd_;
  // Timers wake the loop through a timerfd armed only when the earliest deadline changes, so
  // epoll_wait blocks without a timeout: no kernel timer is armed and cancelled on every wait
  // (measured on the rtt hot path), and a deadline is met to the nanosecond, not rounded up to ms.
  Fd timer_fd_;
  std::chrono::steady_clock::time_point armed_for_ = std::chrono::steady_clock::time_point::max();
  // By fd number: fds are small and dense, and every event looks its watch up (no hashing).
  std::vector<Watch> watches_;
  const Watch* watch_of(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < watches_.size() && watches_[fd].handler
               ? &watches_[fd]
               : nullptr;
  }
  uint64_t next_generation_ = 1;
  std::multimap<std::chrono::steady_clock::time_point, TimerId> timer_queue_;
  std::unordered_map<TimerId, Timer> timers_;
  TimerId next_timer_ = 1;
  struct Deferred {
    const void* owner;
    std::function<void()> fn;
    bool forgotten = false;
  };
  std::vector<Deferred> deferred_;
  std::vector<Deferred> spare_deferred_;         // deferred_'s swap partner (see run_deferred)
  std::vector<std::vector<Deferred>*> walking_;  // batches being run, innermost last
  int depth_ = 0;
  bool spinning_ = false;
  std::function<void(int)> signal_handler_;
  bool running_ = false;
};

}  // namespace chat::net
