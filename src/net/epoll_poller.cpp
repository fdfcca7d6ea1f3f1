// The epoll backend: level-triggered epoll_wait, the fd's own recv in the handler.
//
// Its blocking variant is for ping-pong latency. A round trip costs epoll three system calls
// (epoll_wait, recvmsg, sendmsg) and two wake-up paths (the socket wakes epoll, epoll wakes the
// thread); a blocking ping-pong program such as sockperf sleeps in recvmsg itself: two calls, one
// wake-up. So while exactly one read-ahead socket is busy (epoll just reported it readable) and
// nothing else needs the loop soon, the blocking variant waits in that socket's own blocking
// recvmsg, with the read going into the read-ahead buffer. Everything else keeps epoll's
// meaning, within bounds:
// - the sleep is cut short by SO_RCVTIMEO (kSpell); a spell that ends with nothing read means the
//   socket went quiet, and the loop is back on epoll_wait until epoll reports it readable again;
// - no spell starts when a timer is due within kHorizon (more than the spell, rounded up to the
//   kernel's tick), so timers still fire on time;
// - after kStreak spells in a row one epoll_wait runs, so other fds (a listener, the signalfd)
//   are served within kStreak round trips even while the one socket never goes quiet.
// A zero wait (a spinning loop, or deferred work pending) looks at the busy socket with one
// nonblocking recvmsg instead of epoll_wait and a read, and counts toward kStreak as a spell does:
// spinning then costs one call per pass, as sockperf's spinning client does.
// The socket is switched to blocking mode (without O_NONBLOCK) the first time it is waited on
// this way, and back when it is removed. Every other read of it here is recvmsg with
// MSG_DONTWAIT, and the transports' sends all pass MSG_DONTWAIT, so nothing else ever blocks.
#include <fcntl.h>
#include <sys/epoll.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <vector>

#include "src/net/fd.h"
#include "src/net/poller.h"
#include "src/net/read_ahead.h"

namespace chat::net {

std::string_view io_backend_name(IoBackend backend) {
  switch (backend) {
    case IoBackend::kUring:
      return "uring";
    case IoBackend::kBlocking:
      return "blocking";
    case IoBackend::kEpoll:
      break;
  }
  return "epoll";
}

bool parse_io_backend(std::string_view name, IoBackend& out) {
  for (IoBackend b : {IoBackend::kEpoll, IoBackend::kUring, IoBackend::kBlocking}) {
    if (name == io_backend_name(b)) {
      out = b;
      return true;
    }
  }
  if (name == "io_uring") {
    out = IoBackend::kUring;
    return true;
  }
  return false;
}

ssize_t Poller::receive(int fd, msghdr& msg, int& err) {
  const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) err = errno;
  return n;
}

namespace {

// The kernel rounds SO_RCVTIMEO up to whole ticks (4 ms at HZ=250, 10 ms at HZ=100) and the wake-up
// comes on a tick, so a 1 ms spell may last up to two ticks.
constexpr timeval kSpell{0, 1000};
constexpr int64_t kHorizonNs = 10'000'000;
constexpr int kStreak = 64;

class EpollPoller final : public Poller {
 public:
  explicit EpollPoller(bool blocking)
      : epoll_(::epoll_create1(EPOLL_CLOEXEC)), blocking_(blocking) {
    if (!epoll_.valid()) throw std::runtime_error("epoll_create1 failed");
  }

  IoBackend backend() const override {
    return blocking_ ? IoBackend::kBlocking : IoBackend::kEpoll;
  }

  int add(int fd, uint32_t events, uint64_t tag) override {
    if (fd < 0) return EBADF;
    const int err = control(EPOLL_CTL_ADD, fd, events);
    if (err == 0) {
      if (static_cast<size_t>(fd) >= slots_.size()) slots_.resize(static_cast<size_t>(fd) + 1);
      slots_[fd] = Slot{tag, events, true, nullptr};
    }
    return err;
  }

  int modify(int fd, uint32_t events, uint64_t tag) override {
    Slot* s = slot(fd);
    if (!s) return ENOENT;
    const int err = control(EPOLL_CTL_MOD, fd, events);
    if (err == 0) {
      s->tag = tag;
      s->events = events;
    }
    return err;
  }

  void remove(int fd) override {
    Slot* s = slot(fd);
    if (!s) return;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    if (s->ahead) {
      // Its owner may go on using the socket: give it back as it was lent.
      if (s->ahead->blocking) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      --aheads_;
      if (busy_ == fd) busy_ = -1;
      if (held_ == fd) held_ = -1;
    }
    *s = Slot{};
  }

  void read_ahead(int fd, size_t bytes) override {
    Slot* s = slot(fd);
    if (!blocking_ || !s || s->ahead || bytes == 0) return;
    int type = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return;  // not a socket
    s->ahead = std::make_unique<Ahead>(bytes, type == SOCK_STREAM);
    ++aheads_;
  }

  bool reads_ahead(int fd) const override {
    const Slot* s = slot(fd);
    return s && s->ahead;
  }

  bool holds_read_ahead(int fd) const override {
    const Slot* s = slot(fd);
    return s && s->ahead && s->ahead->stashed;
  }

  ssize_t receive(int fd, msghdr& msg, int& err) override {
    Slot* s = slot(fd);
    if (!s || !s->ahead) return Poller::receive(fd, msg, err);
    Ahead& a = *s->ahead;
    // After a read in a spell the socket is most likely empty (the peer waits for our answer):
    // read_direct says so without asking.
    return a.stashed ? a.take(msg, err) : a.read_direct(fd, msg, err);
  }

  int wait(std::vector<PollEvent>& out, int timeout_ms, int64_t quiet_ns) override {
    // A read-ahead not yet taken, or taken only in part, is readable again at once.
    Slot* held = slot(held_);
    if (!held || !held->ahead || !held->ahead->stashed) {
      held_ = -1;
      held = nullptr;
    } else if (held->events & EPOLLIN) {
      timeout_ms = 0;
    } else {
      held = nullptr;  // its reading is paused: it stays held until wanted
    }
    if (Slot* s = spell_candidate(timeout_ms, quiet_ns)) {
      const int got = read_busy(*s, out, timeout_ms < 0);
      // A look that found nothing is the whole of a zero wait. A spell that stayed quiet leaves
      // the rest of the wait to epoll.
      if (got != 0 || timeout_ms == 0) return got;
    } else {
      streak_ = 0;
    }
    const int n = ::epoll_wait(epoll_.get(), events_, kMaxEvents, timeout_ms);
    if (n < 0) return n;
    const size_t before = out.size();
    for (int i = 0; i < n; ++i) {
      const int fd = events_[i].data.fd;
      Slot* s = slot(fd);
      if (!s) continue;
      if (s->ahead && (events_[i].events & EPOLLIN)) {
        if (s == held) continue;  // reported below, once
        busy_ = fd;
        s->ahead->more = true;
      }
      out.push_back(PollEvent{s->tag, events_[i].events});
    }
    if (held) out.push_back(PollEvent{held->tag, EPOLLIN});
    return static_cast<int>(out.size() - before);
  }

 private:
  struct Ahead : ReadAhead {
    using ReadAhead::ReadAhead;
    bool blocking = false;  // O_NONBLOCK cleared (see the top of this file)
  };
  struct Slot {
    uint64_t tag = 0;
    uint32_t events = 0;
    bool used = false;
    std::unique_ptr<Ahead> ahead;
  };
  static constexpr int kMaxEvents = 64;

  Slot* slot(int fd) {
    return fd >= 0 && static_cast<size_t>(fd) < slots_.size() && slots_[fd].used ? &slots_[fd]
                                                                                 : nullptr;
  }
  const Slot* slot(int fd) const { return const_cast<EpollPoller*>(this)->slot(fd); }

  // The busy socket, when this wait may be spent in its recvmsg (see the top of this file).
  Slot* spell_candidate(int timeout_ms, int64_t quiet_ns) {
    if (!blocking_ || aheads_ != 1 || timeout_ms > 0) return nullptr;
    if (timeout_ms < 0 && quiet_ns < kHorizonNs) return nullptr;
    Slot* s = slot(busy_);
    if (!s || !s->ahead || s->ahead->stashed || s->ahead->eof) return nullptr;
    if ((s->events & (EPOLLIN | EPOLLOUT)) != EPOLLIN) return nullptr;
    if (++streak_ > kStreak) return nullptr;
    return s;
  }

  // One recvmsg on the busy socket: 1 with its event, 0 when there was nothing, -1 with errno
  // when interrupted. Blocking (a spell), a socket that stayed quiet is no longer busy; otherwise
  // it is a look (a zero wait, as a spinning loop makes), one call where epoll_wait and a read
  // would be two.
  int read_busy(Slot& s, std::vector<PollEvent>& out, bool block) {
    Ahead& a = *s.ahead;
    if (block && !a.blocking) {
      const int flags = ::fcntl(busy_, F_GETFL);
      if (flags < 0 || ::setsockopt(busy_, SOL_SOCKET, SO_RCVTIMEO, &kSpell, sizeof kSpell) != 0 ||
          ::fcntl(busy_, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        busy_ = -1;  // not a socket this can do it with: epoll only
        return 0;
      }
      a.blocking = true;
    }
    a.prepare();
    const ssize_t n = ::recvmsg(busy_, &a.msg, block ? 0 : MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (block) busy_ = -1;
      return 0;
    }
    if (n < 0 && errno == EINTR) return -1;
    a.stash(n < 0 ? -errno : static_cast<int>(n));
    a.more = false;  // for a stream, take() says whether the buffer was filled
    held_ = busy_;
    out.push_back(PollEvent{s.tag, EPOLLIN});
    return 1;
  }

  int control(int op, int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    return ::epoll_ctl(epoll_.get(), op, fd, &ev) == 0 ? 0 : errno;
  }

  Fd epoll_;
  const bool blocking_;
  epoll_event events_[kMaxEvents];
  std::vector<Slot> slots_;  // by fd
  int aheads_ = 0;           // slots with a read-ahead buffer
  int busy_ = -1;            // the read-ahead socket epoll last reported readable
  int held_ = -1;            // the socket whose read-ahead holds a read (only a spell makes one)
  int streak_ = 0;           // spells since the last epoll_wait
};

}  // namespace

std::unique_ptr<Poller> make_epoll_poller() {
  return std::make_unique<EpollPoller>(false);
}

std::unique_ptr<Poller> make_blocking_poller() {
  return std::make_unique<EpollPoller>(true);
}

}  // namespace chat::net
