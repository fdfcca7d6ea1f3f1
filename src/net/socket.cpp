#include "src/net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include <fmt/format.h>

namespace chat::net {

std::string errno_text(int err) {
  return std::strerror(err);
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string SocketAddress::to_string() const {
  char host[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, port());
  }
  if (family() == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    // Show IPv4-mapped addresses the way people typed them.
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof host);
      return fmt::format("{}:{}", host, port());
    }
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, port());
  }
  return "?";
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  return length == other.length && std::memcmp(&storage, &other.storage, length) == 0;
}

size_t SocketAddressHash::operator()(const SocketAddress& a) const {
  // FNV-1a's step over the meaningful bytes taken eight at a time (a hub hashes a sender's
  // address per datagram; byte by byte that was most of its lookups' cost), then folded so the
  // high bits' mixing reaches the bucket index.
  uint64_t h = 1469598103934665603ull;
  const auto* p = reinterpret_cast<const unsigned char*>(&a.storage);
  const size_t n = std::min<size_t>(a.length, sizeof a.storage);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, p + i, std::min<size_t>(8, n - i));
    h = (h ^ word) * 1099511628211ull;
  }
  return static_cast<size_t>(h ^ (h >> 29));
}

Result<std::vector<SocketAddress>> resolve(std::string_view host, uint16_t port, int socktype,
                                           bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  const std::string host_s(host);
  const std::string port_s = std::to_string(port);
  addrinfo* list = nullptr;
  const int rc =
      ::getaddrinfo(host_s.empty() ? nullptr : host_s.c_str(), port_s.c_str(), &hints, &list);
  if (rc != 0)
    return make_error(
        fmt::format("cannot resolve '{}': {}", host_s.empty() ? "*" : host_s, gai_strerror(rc)));
  std::vector<SocketAddress> out;
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    SocketAddress a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    out.push_back(a);
  }
  ::freeaddrinfo(list);
  if (out.empty()) return make_error(fmt::format("'{}' has no address", host_s));
  return out;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int set_receive_buffer(int fd, int bytes) {
  // The FORCE variant passes net.core.rmem_max where we may (CAP_NET_ADMIN, as root); elsewhere
  // the kernel caps the plain request at the limit.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  int got = 0;
  socklen_t len = sizeof got;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
  return got;
}

int set_send_buffer(int fd, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  int got = 0;
  socklen_t len = sizeof got;
  ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len);
  return got;
}

namespace {

// With no bind address, prefer a dual-stack [::] socket so IPv4 and IPv6 clients both reach us.
std::vector<SocketAddress> wildcard_candidates(uint16_t port) {
  SocketAddress v6;
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&v6.storage);
  a6->sin6_family = AF_INET6;
  a6->sin6_addr = in6addr_any;
  a6->sin6_port = htons(port);
  v6.length = sizeof(sockaddr_in6);
  SocketAddress v4;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&v4.storage);
  a4->sin_family = AF_INET;
  a4->sin_addr.s_addr = htonl(INADDR_ANY);
  a4->sin_port = htons(port);
  v4.length = sizeof(sockaddr_in);
  return {v6, v4};
}

Result<Fd> bind_first(std::string_view bind, uint16_t port, int socktype,
                      const std::function<Result<void>(int)>& after_bind) {
  std::vector<SocketAddress> candidates;
  if (bind.empty() || bind == "*") {
    candidates = wildcard_candidates(port);
  } else {
    auto r = resolve(bind, port, socktype, true);
    if (!r) return r.error();
    candidates = std::move(*r);
  }
  std::string last_error = "no address to bind";
  // The first address that exists is the one the server says it listens on ([::] when the
  // wildcard is dual-stack); its error is the one worth reporting, not the IPv4 fallback's.
  std::string first_bind_error;
  for (const SocketAddress& a : candidates) {
    Fd fd(::socket(a.family(), socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      last_error = fmt::format("socket: {}", errno_text(errno));
      continue;
    }
    int one = 1;
    if (socktype == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a.family() == AF_INET6) {
      int zero = 0;
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (::bind(fd.get(), a.get(), a.length) != 0) {
      last_error = fmt::format("cannot bind {}: {}", a.to_string(), errno_text(errno));
      if (errno == EADDRINUSE)
        last_error += " (is another server on that port? --port 0 picks a free one)";
      if (first_bind_error.empty()) first_bind_error = last_error;
      continue;
    }
    if (auto r = after_bind(fd.get()); !r) {
      last_error = r.error().message;
      continue;
    }
    return fd;
  }
  return make_error(first_bind_error.empty() ? last_error : first_bind_error);
}

}  // namespace

Result<Fd> listen_tcp(std::string_view bind, uint16_t port, int backlog) {
  return bind_first(bind, port, SOCK_STREAM, [backlog](int fd) -> Result<void> {
    if (::listen(fd, backlog) != 0) return make_error(fmt::format("listen: {}", errno_text(errno)));
    return {};
  });
}

Result<Fd> bind_udp(std::string_view bind, uint16_t port) {
  return bind_first(bind, port, SOCK_DGRAM, [](int) -> Result<void> { return {}; });
}

Result<Fd> start_connect_tcp(const SocketAddress& to) {
  Fd fd(::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(fmt::format("socket: {}", errno_text(errno)));
  if (::connect(fd.get(), to.get(), to.length) != 0 && errno != EINPROGRESS)
    return make_error(fmt::format("cannot connect to {}: {}", to.to_string(), errno_text(errno)));
  return fd;
}

Result<Fd> open_udp_for(const SocketAddress& to) {
  Fd fd(::socket(to.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(fmt::format("socket: {}", errno_text(errno)));
  // Connected UDP: the kernel filters other sources and reports ICMP port-unreachable as
  // ECONNREFUSED, which is how a client learns quickly that no server is there.
  if (::connect(fd.get(), to.get(), to.length) != 0)
    return make_error(fmt::format("cannot reach {}: {}", to.to_string(), errno_text(errno)));
  return fd;
}

int connect_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

SocketAddress local_address(int fd) {
  SocketAddress a;
  a.length = sizeof a.storage;
  ::getsockname(fd, a.get(), &a.length);
  return a;
}

SocketAddress peer_address(int fd) {
  SocketAddress a;
  a.length = sizeof a.storage;
  ::getpeername(fd, a.get(), &a.length);
  return a;
}

bool has_bytes_waiting(int fd) {
  char first = 0;
  return ::recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

}  // namespace chat::net
