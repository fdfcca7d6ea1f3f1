#pragma once
// Addresses and socket set-up shared by every wire: resolution (IPv4, IPv6, host names), listening,
// connecting and binding, all non-blocking and close-on-exec.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/net/fd.h"
#include "src/util/result.h"

namespace chat::net {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  std::string to_string() const;  // "127.0.0.1:10000" or "[::1]:10000"
  bool operator==(const SocketAddress& other) const;
};

struct SocketAddressHash {
  size_t operator()(const SocketAddress& a) const;
};

// Resolves a host (name or literal) and port. An empty host means every interface (passive).
Result<std::vector<SocketAddress>> resolve(std::string_view host, uint16_t port, int socktype,
                                           bool passive);

// Listens on the first address `bind` resolves to; an empty bind listens on [::] with IPv4 mapped,
// falling back to 0.0.0.0 where IPv6 is unavailable.
Result<Fd> listen_tcp(std::string_view bind, uint16_t port, int backlog = 128);
Result<Fd> bind_udp(std::string_view bind, uint16_t port);
// Starts a non-blocking connect; completion is signalled by EPOLLOUT and checked with
// connect_error().
Result<Fd> start_connect_tcp(const SocketAddress& to);
Result<Fd> open_udp_for(const SocketAddress& to);
int connect_error(int fd);

SocketAddress local_address(int fd);
SocketAddress peer_address(int fd);

void set_nonblocking(int fd);
void set_nodelay(int fd);
// Asks for `bytes` of kernel buffer; returns what the kernel granted (it doubles and caps).
int set_receive_buffer(int fd, int bytes);
int set_send_buffer(int fd, int bytes);

// Whether a stream socket has bytes waiting to be read (peeked, not taken). A server that admits a
// connection as a silent text peer after a deadline asks first: a busy loop turn can pass the
// deadline before it reads a JOIN that arrived in time.
bool has_bytes_waiting(int fd);

std::string errno_text(int err);

}  // namespace chat::net
