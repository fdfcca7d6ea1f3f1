// Q3, first difference: what each wire asks of the program. The demo makes one exchange (a
// "ping" and its "pong") over TCP and over UDP with blocking sockets and lists every socket call.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "src/demo/q3_probes.h"
#include "src/net/fd.h"

namespace chat::demo {
namespace {

// The calls one end made, in order.
struct Calls {
  std::vector<std::string> names;
  int note(const char* name, int result) {
    names.emplace_back(name);
    return result;
  }
};

uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

Json tcp_exchange() {
  Calls server, client;
  char buf[16];
  sockaddr_in any = loopback(0);
  net::Fd listener(server.note("socket", ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
  server.note("bind", ::bind(listener.get(), reinterpret_cast<sockaddr*>(&any), sizeof any));
  server.note("listen", ::listen(listener.get(), 1));
  sockaddr_in to = loopback(bound_port(listener.get()));
  net::Fd c(client.note("socket", ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
  bool ok =
      client.note("connect", ::connect(c.get(), reinterpret_cast<sockaddr*>(&to), sizeof to)) == 0;
  net::Fd s(server.note("accept", ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)));
  ok = ok && client.note("send", ::send(c.get(), "ping", 4, 0)) == 4;
  ok = ok && server.note("recv", ::recv(s.get(), buf, 4, MSG_WAITALL)) == 4;
  ok = ok && server.note("send", ::send(s.get(), "pong", 4, 0)) == 4;
  ok = ok && client.note("recv", ::recv(c.get(), buf, 4, MSG_WAITALL)) == 4;
  client.note("close", ::close(c.release()));
  server.note("close", ::close(s.release()));
  server.note("close", ::close(listener.release()));
  return Json{{"ok", ok},
              {"server", server.names},
              {"client", client.names},
              {"calls", server.names.size() + client.names.size()},
              {"sockets", 3}};
}

Json udp_exchange() {
  Calls server, client;
  char buf[16];
  sockaddr_in any = loopback(0);
  net::Fd s(server.note("socket", ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)));
  server.note("bind", ::bind(s.get(), reinterpret_cast<sockaddr*>(&any), sizeof any));
  sockaddr_in to = loopback(bound_port(s.get()));
  net::Fd c(client.note("socket", ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)));
  bool ok = client.note("sendto", ::sendto(c.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&to),
                                           sizeof to)) == 4;
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  ok =
      ok && server.note("recvfrom", ::recvfrom(s.get(), buf, sizeof buf, 0,
                                               reinterpret_cast<sockaddr*>(&from), &from_len)) == 4;
  ok = ok && server.note("sendto", ::sendto(s.get(), "pong", 4, 0,
                                            reinterpret_cast<sockaddr*>(&from), from_len)) == 4;
  ok =
      ok && client.note("recvfrom", ::recvfrom(c.get(), buf, sizeof buf, 0, nullptr, nullptr)) == 4;
  client.note("close", ::close(c.release()));
  server.note("close", ::close(s.release()));
  return Json{{"ok", ok},
              {"server", server.names},
              {"client", client.names},
              {"calls", server.names.size() + client.names.size()},
              {"sockets", 2}};
}

}  // namespace

Json count_socket_calls() {
  return Json{{"tcp", tcp_exchange()}, {"udp", udp_exchange()}};
}

}  // namespace chat::demo
