// The hub on select(2): one thread, and before every wait the set of sockets is written out again
// as bitmaps (fd_set) of FD_SETSIZE bits. The kernel scans them up to the highest fd, and an fd at
// or above FD_SETSIZE (1,024) cannot be put in a set at all: FD_SET past the end writes over the
// stack. So this server refuses such a client with a message saying why, instead of crashing.
#include <fcntl.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/iomodels/hub_core.h"
#include "src/iomodels/hub_models.h"
#include "src/net/socket.h"
#include "src/util/clock.h"
#include "src/wire/frame_codec.h"

namespace chat::iomodels {
namespace {

class SelectHub {
 public:
  SelectHub(const HubModelOptions& o, net::Fd listener, net::Fd signals)
      : core_({o.max_payload, o.high_water_bytes}),
        listener_(std::move(listener)),
        signals_(std::move(signals)) {}

  int run() {
    for (;;) {
      fd_set readable, writable;
      FD_ZERO(&readable);
      FD_ZERO(&writable);
      int highest = std::max(listener_.get(), signals_.get());
      FD_SET(listener_.get(), &readable);
      FD_SET(signals_.get(), &readable);
      for (const auto& [fd, conn] : conns_) {
        FD_SET(fd, &readable);
        if (!core_.output(fd)->empty()) FD_SET(fd, &writable);
        highest = std::max(highest, fd);
      }
      // The one blocking call: wait until any socket can be read or written.
      const int64_t wait_ms = ms_until_next_admission();
      timeval wait{wait_ms / 1000, (wait_ms % 1000) * 1000};
      const int n =
          ::select(highest + 1, &readable, &writable, nullptr, wait_ms < 0 ? nullptr : &wait);
      if (n < 0) {
        if (errno == EINTR) continue;
        fmt::print(stderr, "chat: select: {}\n", net::errno_text(errno));
        return 1;
      }
      if (FD_ISSET(signals_.get(), &readable)) return 0;
      if (FD_ISSET(listener_.get(), &readable)) accept_all();
      for (auto it = conns_.begin(); it != conns_.end();) {
        const int fd = (it++)->first;  // advanced first: reading may close this one
        if (FD_ISSET(fd, &readable)) read_from(fd);
        if (FD_ISSET(fd, &writable) && conns_.count(fd)) write_to(fd);
      }
      admit_silent();
      settle();
    }
  }

 private:
  void accept_all() {
    for (;;) {
      net::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd.valid()) return;  // EAGAIN, or out of fds: the next select says so again
      if (fd.get() >= FD_SETSIZE) {
        refuse(std::move(fd));
        continue;
      }
      net::set_nodelay(fd.get());
      const int id = fd.get();
      core_.add(id, net::peer_address(id).to_string());
      conns_.emplace(id, std::move(fd));
      silent_.emplace(id, now_ns() + HubCore::kSniffTimeoutMs * 1'000'000ull);
    }
  }

  // Past FD_SETSIZE the socket cannot be watched, so the client gets the reason and a close.
  void refuse(net::Fd fd) {
    const std::string why = fmt::format(
        "this hub runs on select(2), which cannot watch fd {}: FD_SETSIZE is {} "
        "(try --io poll or --io epoll)",
        fd.get(), FD_SETSIZE);
    if (refused_++ == 0) fmt::print(stderr, "chat: refusing a client: {}\n", why);
    spdlog::debug("refusing a client: {}", why);
    // A framed client sends JOIN at once; peek briefly at its first byte to answer in its tongue.
    timeval wait{0, 200'000};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    const int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    unsigned char first = 0;
    const bool framed = ::recv(fd.get(), &first, 1, MSG_PEEK) == 1 && wire::looks_framed(first);
    const std::string bytes = HubCore::refusal(framed, why);
    (void)::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  void read_from(int fd) {
    const ssize_t got = ::recv(fd, buffer_, sizeof buffer_, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) {
      drop(fd, got == 0 ? "connection closed" : net::errno_text(errno));
      return;
    }
    if (!core_.feed(fd, std::string_view(buffer_, static_cast<size_t>(got)))) {
      write_to(fd);  // a goodbye in flight gets one chance to leave
      drop(fd, "left");
    }
  }

  void write_to(int fd) {
    std::string* out = core_.output(fd);
    if (out == nullptr || out->empty()) return;
    const ssize_t sent = ::send(fd, out->data(), out->size(), MSG_NOSIGNAL);
    if (sent > 0) out->erase(0, static_cast<size_t>(sent));
    if (sent < 0 && errno != EAGAIN && errno != EINTR) drop(fd, net::errno_text(errno));
  }

  void drop(int fd, const std::string& why) {
    if (conns_.erase(fd) == 0) return;  // the Fd closes with its map entry
    core_.remove(fd, why);
  }

  // Writes what the round queued (most sockets take it at once) and closes whom the core gave up.
  void settle() {
    for (int fd : core_.take_closing()) drop(fd, "too slow");
    for (int fd : core_.take_dirty())
      if (conns_.count(fd)) write_to(fd);
  }

  // Connections that have not spoken yet, and when they count as plain-text peers.
  void admit_silent() {
    const uint64_t now = now_ns();
    for (auto it = silent_.begin(); it != silent_.end();) {
      if (it->second > now && conns_.count(it->first)) {
        ++it;
        continue;
      }
      if (conns_.count(it->first)) core_.admit_silent(it->first);
      it = silent_.erase(it);
    }
  }
  int64_t ms_until_next_admission() const {
    if (silent_.empty()) return -1;
    uint64_t first = UINT64_MAX;
    for (const auto& [fd, at] : silent_) first = std::min(first, at);
    const uint64_t now = now_ns();
    return first > now ? static_cast<int64_t>((first - now) / 1'000'000 + 1) : 0;
  }

  HubCore core_;
  std::map<int, uint64_t> silent_;
  net::Fd listener_;
  net::Fd signals_;
  std::map<int, net::Fd> conns_;
  size_t refused_ = 0;
  char buffer_[64 * 1024];
};

}  // namespace

int run_hub_select(const HubModelOptions& o) {
  raise_fd_limit_for_model();
  net::Fd signals = signals_as_fd();
  Result<net::Fd> listener = listen_for_model(o, "select(2)", false);
  if (!listener) {
    fmt::print(stderr, "chat: {}\n", listener.error().message);
    return 1;
  }
  auto hub = std::make_unique<SelectHub>(o, std::move(*listener), std::move(signals));
  return hub->run();
}

}  // namespace chat::iomodels
