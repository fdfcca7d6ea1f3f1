#include "src/link/tun.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/ipv6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace chat::link {
namespace {

ifreq named(const std::string& name) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  return ifr;
}

Result<void> set_v4(int sock, const std::string& name, unsigned long request,
                    const std::string& address) {
  ifreq ifr = named(name);
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  if (::inet_pton(AF_INET, address.c_str(), &sin->sin_addr) != 1)
    return make_error("bad IPv4 address " + address);
  if (::ioctl(sock, request, &ifr) != 0) return errno_error(fmt::format("{} {}", name, address));
  return {};
}

Result<void> bring_up(int sock, const std::string& name) {
  ifreq ifr = named(name);
  if (::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) return errno_error(name + ": flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) return errno_error(name + ": up");
  return {};
}

}  // namespace

Result<net::Fd> create_tun(const std::string& name) {
  net::Fd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return errno_error("cannot open /dev/net/tun");
  ifreq ifr = named(name);
  // Every packet carries a virtio-net header, so the kernel can hand over (and take back) its
  // segmentation-offload batches whole when offload is on (see set_offload).
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return errno_error("cannot create TUN " + name);
  int size = static_cast<int>(kVnetHeader);
  if (::ioctl(fd.get(), TUNSETVNETHDRSZ, &size) != 0) return errno_error("TUN header size");
  if (auto r = set_offload(fd.get(), false); !r) return r.error();
  return fd;
}

Result<void> set_offload(int tun, bool on) {
  unsigned flags = on ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
  if (::ioctl(tun, TUNSETOFFLOAD, flags) != 0) return errno_error("TUN offload");
  return {};
}

Result<void> set_mtu(const std::string& name, uint32_t mtu) {
  net::Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return errno_error("socket");
  ifreq ifr = named(name);
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(sock.get(), SIOCSIFMTU, &ifr) != 0)
    return errno_error(fmt::format("{}: mtu {}", name, mtu));
  return {};
}

Result<void> configure_tun(const std::string& name, const TunAddresses& a, uint32_t mtu) {
  net::Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return errno_error("socket");
  if (auto r = bring_up(sock.get(), "lo"); !r) return r;
  if (auto r = set_v4(sock.get(), name, SIOCSIFADDR, a.v4_self); !r) return r;
  if (auto r = set_v4(sock.get(), name, SIOCSIFDSTADDR, a.v4_peer); !r) return r;
  if (auto r = set_mtu(name, mtu); !r) return r;
  // tun's default of 500 packets overflows (silently, as tx_dropped) under a TCP burst before the
  // forwarder's next read; the model's own queue is where drops should happen.
  ifreq q = named(name);
  q.ifr_qlen = 4096;
  (void)::ioctl(sock.get(), SIOCSIFTXQLEN, &q);
  if (auto r = bring_up(sock.get(), name); !r) return r;

  net::Fd sock6(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock6.valid()) return {};  // no IPv6 in this kernel: the link is IPv4 only
  ifreq ifr = named(name);
  if (::ioctl(sock.get(), SIOCGIFINDEX, &ifr) != 0) return errno_error(name + ": index");
  in6_ifreq req{};
  req.ifr6_ifindex = ifr.ifr_ifindex;
  req.ifr6_prefixlen = 64;
  if (::inet_pton(AF_INET6, a.v6_self.c_str(), &req.ifr6_addr) != 1)
    return make_error("bad IPv6 address " + a.v6_self);
  if (::ioctl(sock6.get(), SIOCSIFADDR, &req) != 0)
    return errno_error(fmt::format("{} {}", name, a.v6_self));
  return {};
}

}  // namespace chat::link
