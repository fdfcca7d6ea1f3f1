// The hub on poll(2): one thread, the sockets listed in an array of pollfd that is handed to the
// kernel whole on every call. Unlike select there is no FD_SETSIZE ceiling, but each call still
// costs time in proportion to every client, busy or idle — the cost epoll removes by keeping the
// interest list inside the kernel and returning only the ready ones.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "src/iomodels/hub_core.h"
#include "src/iomodels/hub_models.h"
#include "src/net/socket.h"
#include "src/util/clock.h"

namespace chat::iomodels {
namespace {

class PollHub {
 public:
  PollHub(const HubModelOptions& o, net::Fd listener, net::Fd signals)
      : core_({o.max_payload, o.high_water_bytes}),
        listener_(std::move(listener)),
        signals_(std::move(signals)) {}

  int run() {
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({signals_.get(), POLLIN, 0});
      fds.push_back({listener_.get(), POLLIN, 0});
      for (const auto& [fd, conn] : conns_) {
        const bool pending = !core_.output(fd)->empty();
        fds.push_back({fd, static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0});
      }
      // The one blocking call: wait until any socket can be read or written.
      const int n = ::poll(fds.data(), fds.size(), static_cast<int>(ms_until_next_admission()));
      if (n < 0) {
        if (errno == EINTR) continue;
        fmt::print(stderr, "chat: poll: {}\n", net::errno_text(errno));
        return 1;
      }
      if (fds[0].revents & POLLIN) return 0;
      if (fds[1].revents & POLLIN) accept_all();
      for (size_t i = 2; i < fds.size(); ++i) {
        const int fd = fds[i].fd;
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(fd);
        if ((fds[i].revents & POLLOUT) && conns_.count(fd)) write_to(fd);
      }
      admit_silent();
      settle();
    }
  }

 private:
  void accept_all() {
    for (;;) {
      net::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd.valid()) return;  // EAGAIN, or out of fds: the next poll says so again
      net::set_nodelay(fd.get());
      const int id = fd.get();
      core_.add(id, net::peer_address(id).to_string());
      conns_.emplace(id, std::move(fd));
      silent_.emplace(id, now_ns() + HubCore::kSniffTimeoutMs * 1'000'000ull);
    }
  }

  void read_from(int fd) {
    if (conns_.count(fd) == 0) return;
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
  char buffer_[64 * 1024];
};

}  // namespace

int run_hub_poll(const HubModelOptions& o) {
  raise_fd_limit_for_model();
  net::Fd signals = signals_as_fd();
  Result<net::Fd> listener = listen_for_model(o, "poll(2)", false);
  if (!listener) {
    fmt::print(stderr, "chat: {}\n", listener.error().message);
    return 1;
  }
  auto hub = std::make_unique<PollHub>(o, std::move(*listener), std::move(signals));
  return hub->run();
}

}  // namespace chat::iomodels
