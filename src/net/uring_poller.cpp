// The io_uring backend. Readiness is a one-shot poll request re-armed after each delivery, which
// keeps epoll's level-triggered meaning. A socket read ahead (EventLoop::read_ahead) instead has a
// receive request in flight: the kernel does the read when the bytes arrive, so the wake-up that
// says "readable" already holds them and the handler's receive costs no system call. Re-arming
// goes out with the next wait, so a ping-pong round costs one io_uring_enter and one send where
// epoll costs epoll_wait, recv and send.
#include "src/net/poller.h"
#include "src/net/read_ahead.h"

#ifdef CHAT_HAVE_LIBURING

#include <liburing.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

namespace chat::net {
namespace {

constexpr unsigned kRingEntries = 256;

bool setup_ring(io_uring& ring);

enum Kind : uint64_t { kPoll = 1, kRecv = 2 };

// fd in the upper half, a request id and its kind below: a completion names its request exactly,
// so one for a request since replaced (a cancelled poll, a removed fd whose number was reused) is
// recognised as stale.
uint64_t user_data(int fd, uint32_t id, Kind kind) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32) | (uint64_t{id} << 2) | kind;
}

// A receive kept in flight and, once it completed, what it read.
struct Ahead : ReadAhead {
  using ReadAhead::ReadAhead;
  uint32_t id = 0;     // of the request in flight
  bool armed = false;  // a receive is in flight
};

struct Slot {
  uint64_t tag = 0;
  uint32_t events = 0;
  uint32_t poll_mask = 0;  // of the poll request in flight; 0 when none
  uint32_t poll_id = 0;
  bool dirty = false;  // queued for arming before the next wait
  std::unique_ptr<Ahead> ahead;
};

// Slots by fd number. Fds are small and dense, so a vector indexed by them finds a slot without
// hashing, which a round trip does several times. Map-like on purpose: find() gives an entry whose
// `second` is the slot, or end().
class SlotTable {
 public:
  struct Entry {
    Slot second;
    bool used = false;
  };
  Entry* find(int fd) {
    return fd >= 0 && static_cast<size_t>(fd) < v_.size() && v_[fd].used ? &v_[fd] : nullptr;
  }
  const Entry* find(int fd) const { return const_cast<SlotTable*>(this)->find(fd); }
  Entry* end() const { return nullptr; }
  bool count(int fd) const { return find(fd) != nullptr; }
  Slot& operator[](int fd) {
    if (static_cast<size_t>(fd) >= v_.size()) v_.resize(static_cast<size_t>(fd) + 1);
    v_[fd].used = true;
    return v_[fd].second;
  }
  void erase(Entry* e) { *e = Entry{}; }

 private:
  std::vector<Entry> v_;
};

class UringPoller final : public Poller {
 public:
  UringPoller() : ok_(setup_ring(ring_)) {}
  ~UringPoller() override {
    if (ok_) io_uring_queue_exit(&ring_);
  }
  bool ok() const { return ok_; }

  IoBackend backend() const override { return IoBackend::kUring; }

  int add(int fd, uint32_t events, uint64_t tag) override {
    if (fd < 0) return EBADF;
    if (slots_.count(fd)) return EEXIST;
    Slot& s = slots_[fd];
    s.tag = tag;
    s.events = events;
    mark(fd, s);
    return 0;
  }

  int modify(int fd, uint32_t events, uint64_t tag) override {
    auto it = slots_.find(fd);
    if (it == slots_.end()) return ENOENT;
    it->second.tag = tag;
    it->second.events = events;
    mark(fd, it->second);
    return 0;
  }

  void remove(int fd) override {
    auto it = slots_.find(fd);
    if (it == slots_.end()) return;
    Slot& s = it->second;
    if (s.poll_mask) cancel(user_data(fd, s.poll_id, kPoll));
    if (s.ahead && s.ahead->armed) {
      // The kernel may still write into the buffer until the cancellation completes.
      const uint64_t key = user_data(fd, s.ahead->id, kRecv);
      cancel(key);
      orphans_[key] = std::move(s.ahead);
    }
    slots_.erase(it);
    // Now, not with the next wait: a request holds the socket open, and the owner is about to
    // close it and expects the peer to see that. Entering also runs the cancellations' deferred
    // completions, which is what lets go of the socket.
    io_uring_submit_and_get_events(&ring_);
  }

  void read_ahead(int fd, size_t bytes) override {
    auto it = slots_.find(fd);
    if (it == slots_.end() || it->second.ahead || bytes == 0) return;
    int type = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return;  // not a socket
    it->second.ahead = std::make_unique<Ahead>(bytes, type == SOCK_STREAM);
    mark(fd, it->second);
  }

  bool reads_ahead(int fd) const override {
    auto it = slots_.find(fd);
    return it != slots_.end() && it->second.ahead != nullptr;
  }

  bool holds_read_ahead(int fd) const override {
    auto it = slots_.find(fd);
    return it != slots_.end() && it->second.ahead && it->second.ahead->stashed;
  }

  ssize_t receive(int fd, msghdr& msg, int& err) override {
    auto it = slots_.find(fd);
    if (it == slots_.end() || !it->second.ahead) return Poller::receive(fd, msg, err);
    Ahead& a = *it->second.ahead;
    if (!a.stashed) {
      // Nothing in flight can race a direct read: re-arming waits for the next wait(). After the
      // end of a stream the socket itself says so again, as a read would.
      if (a.armed) {
        err = EAGAIN;
        return -1;
      }
      return a.read_direct(fd, msg, err);
    }
    const ssize_t n = a.take(msg, err);
    if (!a.stashed) mark(fd, it->second);  // all taken: the next receive goes out with the wait
    return n;
  }

  int wait(std::vector<PollEvent>& out, int timeout_ms, int64_t /*quiet_ns*/) override {
    for (int fd : dirty_) arm(fd);
    dirty_.clear();
    // A read handed over only in part is still readable: say so again, at once (level-triggered).
    // One not wanted now (EPOLLIN paused) stays listed for when it is.
    redeliver_.clear();
    size_t kept = 0;
    for (int fd : stashed_) {
      auto it = slots_.find(fd);
      if (it == slots_.end() || !it->second.ahead || !it->second.ahead->stashed) continue;
      if (it->second.events & EPOLLIN)
        redeliver_.push_back(fd);
      else
        stashed_[kept++] = fd;
    }
    stashed_.resize(kept);
    if (!redeliver_.empty()) timeout_ms = 0;

    io_uring_cqe* cqe = nullptr;
    int rc = 0;
    if (timeout_ms == 0) {
      // Entering is what runs the deferred completions, so a zero wait still enters once.
      rc = io_uring_submit_and_get_events(&ring_);
    } else if (timeout_ms < 0) {
      rc = io_uring_submit_and_wait(&ring_, 1);
    } else {
      __kernel_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000LL};
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
      if (rc == -ETIME) rc = 0;
    }
    if (rc < 0 && rc != -EINTR && rc != -EBUSY) {
      errno = -rc;
      return -1;
    }
    const size_t before = out.size();
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      complete(cqe->user_data, cqe->res, out);
    }
    io_uring_cq_advance(&ring_, seen);
    for (int fd : redeliver_) {
      auto it = slots_.find(fd);
      if (it == slots_.end()) continue;
      out.push_back(PollEvent{it->second.tag, EPOLLIN});
      stashed_.push_back(fd);
    }
    if (out.size() == before && rc == -EINTR) {
      errno = EINTR;
      return -1;
    }
    return static_cast<int>(out.size() - before);
  }

 private:
  void mark(int fd, Slot& s) {
    if (s.dirty) return;
    s.dirty = true;
    dirty_.push_back(fd);
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    if (!e) {
      io_uring_submit(&ring_);  // the queue is full: hand it over and take a fresh entry
      e = io_uring_get_sqe(&ring_);
    }
    return e;
  }

  void cancel(uint64_t key) {
    io_uring_sqe* e = sqe();
    io_uring_prep_cancel64(e, key, 0);
    e->user_data = 0;
  }

  // Brings the requests in flight for `fd` in line with its interest.
  void arm(int fd) {
    auto it = slots_.find(fd);
    if (it == slots_.end()) return;
    Slot& s = it->second;
    s.dirty = false;
    Ahead* a = s.ahead.get();
    const bool recv_serves_in = a && !a->eof;
    if (recv_serves_in && (s.events & EPOLLIN) && !a->armed && !a->stashed) {
      a->prepare();
      a->id = next_id();
      a->armed = true;
      a->more = false;
      io_uring_sqe* e = sqe();
      io_uring_prep_recvmsg(e, fd, &a->msg, 0);
      // The socket was just drained (or never read): wait for bytes before trying, rather than
      // fail a read first. Bytes already there are still taken at once.
      e->ioprio |= IORING_RECVSEND_POLL_FIRST;
      e->user_data = user_data(fd, a->id, kRecv);
    }
    uint32_t want = s.events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
    if (recv_serves_in) want &= ~static_cast<uint32_t>(EPOLLIN);
    if (s.poll_mask && s.poll_mask != want) {
      cancel(user_data(fd, s.poll_id, kPoll));
      s.poll_mask = 0;
    }
    if (want && !s.poll_mask) {
      s.poll_id = next_id();
      s.poll_mask = want;
      io_uring_sqe* e = sqe();
      io_uring_prep_poll_add(e, fd, want);
      e->user_data = user_data(fd, s.poll_id, kPoll);
    }
  }

  void complete(uint64_t key, int res, std::vector<PollEvent>& out) {
    if (key == 0) return;  // a cancellation's own answer
    const int fd = static_cast<int>(key >> 32);
    const auto kind = static_cast<Kind>(key & 3);
    const auto id = static_cast<uint32_t>((key >> 2) & 0x3FFFFFFF);
    auto it = slots_.find(fd);
    if (kind == kRecv) {
      if (it == slots_.end() || !it->second.ahead || it->second.ahead->id != id ||
          !it->second.ahead->armed) {
        orphans_.erase(key);  // the kernel is done with that buffer
        return;
      }
      Slot& s = it->second;
      Ahead& a = *s.ahead;
      a.armed = false;
      if (res == -ECANCELED) {
        mark(fd, s);
        return;
      }
      a.stash(res);
      stashed_.push_back(fd);
      if (s.events & EPOLLIN) out.push_back(PollEvent{s.tag, EPOLLIN});
      return;
    }
    if (it == slots_.end() || it->second.poll_id != id || !it->second.poll_mask) return;
    Slot& s = it->second;
    s.poll_mask = 0;
    if (res < 0) {
      // EBADF: closed without being removed. Re-arming would only fail again.
      if (res != -ECANCELED) out.push_back(PollEvent{s.tag, EPOLLERR});
      if (res == -ECANCELED) mark(fd, s);
      return;
    }
    mark(fd, s);  // one-shot: re-armed for the next wait, which keeps level-triggered meaning
    const auto ready = static_cast<uint32_t>(res) & (s.events | EPOLLERR | EPOLLHUP);
    if (ready) out.push_back(PollEvent{s.tag, ready});
  }

  uint32_t next_id() {
    next_id_ = (next_id_ + 1) & 0x3FFFFFFF;
    if (next_id_ == 0) next_id_ = 1;
    return next_id_;
  }

  io_uring ring_;
  SlotTable slots_;
  std::vector<int> dirty_;
  std::vector<int> redeliver_;
  std::vector<int> stashed_;  // fds that were handed a completed read, perhaps not yet taken
  // Buffers of removed fds whose receive the kernel has not yet given back.
  std::unordered_map<uint64_t, std::unique_ptr<Ahead>> orphans_;
  uint32_t next_id_ = 0;
  bool ok_;
};

bool setup_ring(io_uring& ring) {
  io_uring_params p{};
  // Completions are processed only when we wait, on this thread: no interrupting task work.
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(kRingEntries, &ring, &p) == 0) return true;
  p = io_uring_params{};  // an older kernel: plain rings work too
  return io_uring_queue_init_params(kRingEntries, &ring, &p) == 0;
}

}  // namespace

bool io_uring_available() {
  io_uring ring;
  if (!setup_ring(ring)) return false;
  io_uring_queue_exit(&ring);
  return true;
}

std::unique_ptr<Poller> make_uring_poller() {
  auto p = std::make_unique<UringPoller>();
  if (!p->ok()) return nullptr;
  return p;
}

}  // namespace chat::net

#else  // built without liburing

namespace chat::net {

bool io_uring_available() {
  return false;
}

std::unique_ptr<Poller> make_uring_poller() {
  return nullptr;
}

}  // namespace chat::net

#endif
