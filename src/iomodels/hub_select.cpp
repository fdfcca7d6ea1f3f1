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

#include "src/iomodels/hub_models.h"
#include "src/iomodels/ready_hub.h"
#include "src/net/socket.h"
#include "src/util/clock.h"
#include "src/wire/frame_codec.h"

namespace chat::iomodels {
namespace {

class SelectHub : public ReadyHub {
 public:
  using ReadyHub::ReadyHub;

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
        if (has_output(fd)) FD_SET(fd, &writable);
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
  // Past FD_SETSIZE the socket cannot be watched, so the client gets the reason and a close.
  bool refused(net::Fd& fd) override {
    if (fd.get() < FD_SETSIZE) return false;
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
    return true;  // the Fd closes here
  }

  size_t refused_ = 0;
};

}  // namespace

int run_hub_select(const HubModelOptions& o) {
  return run_ready_hub<SelectHub>(o, "select(2)");
}

}  // namespace chat::iomodels
