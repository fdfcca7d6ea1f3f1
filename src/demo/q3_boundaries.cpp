// Q3, message boundaries and the datagram size limit, measured on loopback sockets.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "src/demo/q3_probes.h"
#include "src/net/fd.h"
#include "src/net/socket.h"

namespace chat::demo {
namespace {

constexpr size_t kLabBuffer = 1024;  // the lab's BUFFER_SIZE: recv(1024)

// A connected TCP pair on loopback (client, server side), blocking, receive timeouts of 2 s.
bool tcp_pair(net::Fd& client, net::Fd& server) {
  net::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return false;
  client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
  server.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  timeval wait{2, 0};
  ::setsockopt(server.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  return server.valid();
}

// A UDP receiver bound to loopback and a sender connected to it.
bool udp_pair(net::Fd& sender, net::Fd& receiver) {
  receiver.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(receiver.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(receiver.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return false;
  timeval wait{2, 0};
  ::setsockopt(receiver.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  sender.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  return ::connect(sender.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

// Waits (bounded) until `bytes` are queued for reading, so a read sees everything that was sent.
void wait_queued(int fd, int bytes) {
  for (int i = 0; i < 200; ++i) {
    int queued = 0;
    if (::ioctl(fd, FIONREAD, &queued) == 0 && queued >= bytes) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Reads until `total` bytes came, with reads of at most `buffer` bytes; the size of each read.
std::vector<size_t> read_sizes(int fd, size_t total, size_t buffer) {
  std::vector<size_t> sizes;
  std::vector<char> buf(buffer);
  size_t got = 0;
  while (got < total) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    sizes.push_back(static_cast<size_t>(n));
    got += static_cast<size_t>(n);
  }
  return sizes;
}

}  // namespace

Json measure_boundaries() {
  Json out;
  {
    net::Fd c, s;
    if (tcp_pair(c, s)) {
      // Nagle off, so the second message is not held back: both really leave at once.
      int one = 1;
      ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::send(c.get(), "hello", 5, 0);
      ::send(c.get(), "world", 5, 0);
      wait_queued(s.get(), 10);
      char buf[kLabBuffer];
      const ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
      const std::string first(buf, static_cast<size_t>(std::max<ssize_t>(n, 0)));
      const std::string big(1500, 'x');
      ::send(c.get(), big.data(), big.size(), 0);
      wait_queued(s.get(), static_cast<int>(big.size()));
      out["tcp"] = Json{{"sends", Json::array({"hello", "world"})},
                        {"first_read", first},
                        {"big_send", big.size()},
                        {"big_reads", read_sizes(s.get(), big.size(), kLabBuffer)}};
    }
  }
  {
    net::Fd c, s;
    if (udp_pair(c, s)) {
      ::send(c.get(), "hello", 5, 0);
      ::send(c.get(), "world", 5, 0);
      char buf[kLabBuffer];
      std::vector<std::string> reads;
      for (int i = 0; i < 2; ++i) {
        const ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
        if (n >= 0) reads.emplace_back(buf, static_cast<size_t>(n));
      }
      // A datagram larger than the lab's buffer: recv returns what fits and the rest is gone.
      const std::string big(1500, 'x');
      ::send(c.get(), big.data(), big.size(), 0);
      const ssize_t n = ::recv(s.get(), buf, sizeof buf, MSG_TRUNC);
      const ssize_t after = ::recv(s.get(), buf, sizeof buf, MSG_DONTWAIT);
      out["udp"] = Json{{"sends", Json::array({"hello", "world"})},
                        {"reads", reads},
                        {"big_send", big.size()},
                        {"big_read_buffer", kLabBuffer},
                        {"big_datagram_length", n},  // MSG_TRUNC: the datagram's real length
                        {"big_rest_readable", after > 0}};
    }
  }
  return out;
}

Json measure_datagram_limit() {
  Json out;
  net::Fd c, s;
  if (!udp_pair(c, s)) return Json{{"error", "no UDP socket pair"}};
  int big_buffer = 1 << 20;
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &big_buffer, sizeof big_buffer);
  std::vector<char> payload(65508, 'x');
  std::vector<char> buf(70000);
  const ssize_t fits = ::send(c.get(), payload.data(), 65507, 0);
  const int fits_err = fits < 0 ? errno : 0;
  const ssize_t got = fits == 65507 ? ::recv(s.get(), buf.data(), buf.size(), 0) : -1;
  const ssize_t over = ::send(c.get(), payload.data(), 65508, 0);
  const int over_err = over < 0 ? errno : 0;
  // The path MTU the kernel holds for this destination (loopback's is 65,536).
  int mtu = 0;
  socklen_t len = sizeof mtu;
  ::getsockopt(c.get(), IPPROTO_IP, IP_MTU, &mtu, &len);
  // On an Ethernet path (MTU 1,500) each fragment carries 1,480 bytes of the UDP datagram.
  const size_t udp_bytes = 65507 + 8;
  const size_t ethernet_fragments = (udp_bytes + 1479) / 1480;
  const size_t loopback_fragments =
      mtu > 28 ? (udp_bytes + (static_cast<size_t>(mtu) - 20) - 1) / (static_cast<size_t>(mtu) - 20)
               : 0;
  out = Json{{"max_ok_bytes", 65507},
             {"max_ok_sent", fits == 65507},
             {"max_ok_error", fits_err ? net::errno_text(fits_err) : ""},
             {"max_ok_received_in_one_read", got},
             {"over_bytes", 65508},
             {"over_refused", over < 0},
             {"over_errno", over_err == EMSGSIZE ? "EMSGSIZE" : std::to_string(over_err)},
             {"over_error", over_err ? net::errno_text(over_err) : ""},
             {"path_mtu", mtu},
             {"fragments_on_this_path", loopback_fragments},
             {"fragments_at_mtu_1500", ethernet_fragments}};
  return out;
}

}  // namespace chat::demo
