#include "src/link/link_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "src/link/forwarder.h"
#include "src/link/netns.h"
#include "src/link/tun.h"

namespace chat::link {
namespace fs = std::filesystem;
namespace {

Result<net::Fd> listen_control(const fs::path& path) {
  net::Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) return make_error("state path too long");
  std::strcpy(addr.sun_path, path.c_str());
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 16) != 0)
    return errno_error("control socket " + path.string());
  return fd;
}

// One side: a fresh namespace with its device up and addressed. Leaves the thread inside it.
Result<net::Fd> make_side(net::Fd& tun, const TunAddresses& addresses, uint32_t mtu) {
  auto ns = unshare_netns();
  if (!ns) return ns.error();
  // Duplicate address detection would hold the IPv6 address back for a second or two; the link
  // has exactly two addresses, chosen by us.
  (void)write_sysctl("net/ipv6/conf/default/accept_dad", "0");
  (void)write_sysctl("net/ipv6/conf/all/accept_dad", "0");
  auto dev = create_tun(kDevice);
  if (!dev) return dev.error();
  if (auto r = configure_tun(kDevice, addresses, mtu); !r) return r.error();
  tun = std::move(*dev);
  return std::move(*ns);
}

// The forwarder process: builds both sides, reports on `ready`, then forwards until told to stop.
}  // namespace

[[noreturn]] void forwarder_main(const LinkOptions& o, const fs::path& dir, int ready) {
  auto fail = [&](const std::string& why) {
    const std::string msg = "error: " + why;
    (void)!::write(ready, msg.data(), msg.size());
    std::error_code ec;
    fs::remove_all(dir, ec);
    ::_exit(1);
  };
  // SIGINT and SIGTERM wait (blocked) until the loop reads them from its signalfd, so one that
  // comes while the link is still being made ends it in order too, not half-built.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  if (!o.detach) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const bool unprivileged = !have_net_admin();
  if (unprivileged) {
    if (auto r = become_root_in_user_namespace(); !r)
      fail(
          "the link needs root or CAP_NET_ADMIN, and this machine offers no unprivileged user "
          "namespace (" +
          r.error().message + ")");
  }
  ForwarderSetup setup;
  setup.device = kDevice;
  setup.up = o.up;
  setup.down = o.down;
  setup.seed = std::random_device{}();
  setup.seed = (setup.seed << 32) ^ std::random_device{}();
  auto c = make_side(setup.tun_client, {kClientV4, kServerV4, kClientV6}, o.up.mtu);
  if (!c && unprivileged && ::access("/dev/net/tun", R_OK | W_OK) != 0)
    fail(
        "the link needs root or CAP_NET_ADMIN; without them it runs in a user namespace, which "
        "needs /dev/net/tun open to everyone (chmod 0666 /dev/net/tun, as Debian and Ubuntu ship "
        "it) — here it is not");
  if (!c) fail(c.error().message);
  auto s = make_side(setup.tun_server, {kServerV4, kClientV4, kServerV6}, o.down.mtu);
  if (!s) fail(s.error().message);
  setup.netns_client = std::move(*c);
  setup.netns_server = std::move(*s);
  auto control = listen_control(dir / "control");
  if (!control) fail(control.error().message);
  {
    std::ofstream st(dir / "state.new");
    st << "pid " << ::getpid() << "\nstart " << process_start_time(::getpid()) << "\nclient_fd "
       << setup.netns_client.get() << "\nserver_fd " << setup.netns_server.get() << "\n";
  }
  fs::rename(dir / "state.new", dir / "state");
  Forwarder forwarder(std::move(setup));
  (void)!::write(ready, "ok", 2);
  ::close(ready);
  forwarder.run(control->get());
  control->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  ::_exit(0);
}

}  // namespace chat::link
