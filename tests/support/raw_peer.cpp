#include "tests/support/raw_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace chat::testing {
using Clock = std::chrono::steady_clock;

int left_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

net::Fd connect_loopback(uint16_t port, int type, int receive_buffer) {
  net::Fd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  // Set before connect so a TCP window is announced for it: a small one fills at once.
  if (receive_buffer > 0)
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fd.reset();
  return fd;
}

RawPeer RawPeer::tcp(uint16_t port) {
  return RawPeer(connect_loopback(port, SOCK_STREAM), false);
}
RawPeer RawPeer::udp(uint16_t port) {
  return RawPeer(connect_loopback(port, SOCK_DGRAM), true);
}

bool RawPeer::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    if (datagram_) return true;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<std::string> RawPeer::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!datagram_) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
    }
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, left_ms(deadline)) <= 0) return std::nullopt;
    char buf[65536];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    if (datagram_) {
      std::string d(buf, static_cast<size_t>(n));
      if (!d.empty() && d.back() == '\n') d.pop_back();
      return d;
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

std::string RawPeer::read_bytes(size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string out = std::move(buffer_);
  buffer_.clear();
  while (out.size() < n) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, left_ms(deadline)) <= 0) break;
    char buf[65536];
    const ssize_t got = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

std::optional<std::string> RawPeer::wait_for(std::string_view needle,
                                             std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = read_line(std::chrono::milliseconds(left_ms(deadline))))
    if (line->find(needle) != std::string::npos) return line;
  return std::nullopt;
}

bool RawPeer::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, left_ms(deadline)) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
}

bool RawPeer::wait_reset(std::chrono::milliseconds timeout) {
  // A read cannot tell: after the FIN it returns 0 whatever comes next. The socket's state can:
  // a reset moves it from CLOSE_WAIT to CLOSE.
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
    if (info.tcpi_state == TCP_CLOSE) return true;
    if (Clock::now() >= deadline) return false;
    ::poll(nullptr, 0, 10);
  }
}

}  // namespace chat::testing
