#pragma once
// What the event loop waits with: the kernel interface behind EventLoop. The loop keeps the
// handlers, timers and deferred work; a Poller only watches fds and reports which are ready, so a
// backend is this one small interface and the loop's semantics are the same on every backend.
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace chat::net {

enum class IoBackend {
  kEpoll,  // epoll_wait, then one recv per readable socket
  kUring,  // io_uring: readiness and the read itself arrive together (see uring_poller.cpp)
  // epoll, but while one socket is busy the loop sleeps in that socket's own recvmsg, as a
  // blocking ping-pong program does (see epoll_poller.cpp)
  kBlocking,
};

std::string_view io_backend_name(IoBackend backend);
// "epoll", "uring" or "blocking"; false for anything else.
bool parse_io_backend(std::string_view name, IoBackend& out);
// Whether this kernel lets this process make an io_uring (it may be compiled out, disabled by
// sysctl, or forbidden by a seccomp profile).
bool io_uring_available();
// What a loop uses when not told: CHAT_IO_BACKEND's choice, else epoll.
IoBackend default_io_backend();
// What a ping-pong latency measurement waits with when not told (`chat bench rtt` and the echo
// server it starts): CHAT_IO_BACKEND's choice, else blocking. A round trip there is two wake-ups,
// and sleeping in the busy socket's own recvmsg makes each one the kernel's shortest path.
IoBackend latency_io_backend();

struct PollEvent {
  uint64_t tag;
  uint32_t events;  // EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP
};

class Poller {
 public:
  virtual ~Poller() = default;
  virtual IoBackend backend() const = 0;
  // `tag` comes back with every event for `fd` until the next add/modify. Errors are errno values.
  virtual int add(int fd, uint32_t events, uint64_t tag) = 0;
  virtual int modify(int fd, uint32_t events, uint64_t tag) = 0;
  virtual void remove(int fd) = 0;
  // Appends what is ready, waiting at most `timeout_ms` (-1: until something is). `quiet_ns` is how
  // long the loop has no timer due (INT64_MAX: none at all), which a backend that sleeps somewhere
  // other than in the poller must not overrun. Returns -1 with errno on failure (EINTR included).
  virtual int wait(std::vector<PollEvent>& out, int timeout_ms, int64_t quiet_ns) = 0;
  // Asks that `fd` (a socket already added) be read ahead, up to `bytes` per read: see
  // EventLoop::read_ahead. Backends that cannot ignore it.
  virtual void read_ahead(int /*fd*/, size_t /*bytes*/) {}
  virtual bool reads_ahead(int /*fd*/) const { return false; }
  virtual bool holds_read_ahead(int /*fd*/) const { return false; }
  // recvmsg(fd, msg, MSG_DONTWAIT), served from what was read ahead when there is any.
  virtual ssize_t receive(int fd, msghdr& msg, int& err);
};

std::unique_ptr<Poller> make_epoll_poller();
std::unique_ptr<Poller> make_blocking_poller();
// Null when io_uring cannot be used here; the caller falls back to epoll.
std::unique_ptr<Poller> make_uring_poller();

}  // namespace chat::net
