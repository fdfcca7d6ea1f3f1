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

#include "src/iomodels/hub_models.h"
#include "src/iomodels/ready_hub.h"
#include "src/net/socket.h"
#include "src/util/clock.h"

namespace chat::iomodels {
namespace {

class PollHub : public ReadyHub {
 public:
  using ReadyHub::ReadyHub;

  int run() {
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({signals_.get(), POLLIN, 0});
      fds.push_back({listener_.get(), POLLIN, 0});
      for (const auto& [fd, conn] : conns_) {
        const bool pending = has_output(fd);
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
};

}  // namespace

int run_hub_poll(const HubModelOptions& o) {
  return run_ready_hub<PollHub>(o, "poll(2)");
}

}  // namespace chat::iomodels
