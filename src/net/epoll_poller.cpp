// The epoll backend: level-triggered epoll_wait, the fd's own recv in the handler.
#include <sys/epoll.h>

#include <cerrno>
#include <stdexcept>

#include "src/net/fd.h"
#include "src/net/poller.h"

namespace chat::net {

std::string_view io_backend_name(IoBackend backend) {
  return backend == IoBackend::kUring ? "uring" : "epoll";
}

bool parse_io_backend(std::string_view name, IoBackend& out) {
  if (name == "epoll") {
    out = IoBackend::kEpoll;
    return true;
  }
  if (name == "uring" || name == "io_uring") {
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

class EpollPoller final : public Poller {
 public:
  EpollPoller() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!epoll_.valid()) throw std::runtime_error("epoll_create1 failed");
  }

  IoBackend backend() const override { return IoBackend::kEpoll; }

  int add(int fd, uint32_t events, uint64_t tag) override {
    return control(EPOLL_CTL_ADD, fd, events, tag);
  }
  int modify(int fd, uint32_t events, uint64_t tag) override {
    return control(EPOLL_CTL_MOD, fd, events, tag);
  }
  void remove(int fd) override { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

  int wait(std::vector<PollEvent>& out, int timeout_ms) override {
    const int n = ::epoll_wait(epoll_.get(), events_, kMaxEvents, timeout_ms);
    for (int i = 0; i < n; ++i) out.push_back(PollEvent{events_[i].data.u64, events_[i].events});
    return n;
  }

 private:
  static constexpr int kMaxEvents = 64;

  int control(int op, int fd, uint32_t events, uint64_t tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return ::epoll_ctl(epoll_.get(), op, fd, &ev) == 0 ? 0 : errno;
  }

  Fd epoll_;
  epoll_event events_[kMaxEvents];
};

}  // namespace

std::unique_ptr<Poller> make_epoll_poller() {
  return std::make_unique<EpollPoller>();
}

}  // namespace chat::net
