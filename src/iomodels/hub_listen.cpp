#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <fmt/format.h>

#include "src/iomodels/hub_models.h"
#include "src/net/socket.h"

namespace chat::iomodels {

Result<net::Fd> listen_for_model(const HubModelOptions& options, const char* model, bool blocking) {
  Result<net::Fd> fd = net::listen_tcp(options.bind, options.port, 1024);
  if (!fd) return make_error(fmt::format("tcp: {}", fd.error().message));
  if (blocking) {
    const int flags = ::fcntl(fd->get(), F_GETFL);
    ::fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK);
  }
  // Always shown, even with -q: scripts and tests wait for this line to learn the port.
  fmt::print(stderr, "chat: hub server ({}) listening on tcp {}\n", model,
             net::local_address(fd->get()).to_string());
  return fd;
}

net::Fd signals_as_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // Blocked before any thread starts, so every thread inherits the mask and only the fd hears them.
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return net::Fd(::signalfd(-1, &set, SFD_CLOEXEC));
}

void raise_fd_limit_for_model() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace chat::iomodels
