#pragma once
// The measurements behind Q3, each a small self-contained experiment on loopback sockets that
// returns what it saw as JSON. q3_udp_tcp.cpp prints them; tests check them.
#include <netinet/in.h>

#include <cstdint>

#include <nlohmann/json.hpp>

namespace chat::demo {

using Json = nlohmann::json;

// 127.0.0.1:port, for the experiments' raw sockets.
inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// One request and one reply over each wire, with every socket call the two ends make listed.
Json count_socket_calls();
// Two quick sends read by one recv on TCP; one send of more than the lab's 1,024-byte buffer read
// in pieces; the same on UDP, where each datagram is one read (and a too-small buffer truncates).
Json measure_boundaries();
// 65,507 bytes in one IPv4 datagram, 65,508 refused with EMSGSIZE, and fragmentation by MTU.
Json measure_datagram_limit();
// A receiver busy for a moment while a burst arrives: UDP drops what its buffer cannot hold,
// TCP makes the sender wait and delivers everything, later.
Json measure_busy_receiver(bool quick);

}  // namespace chat::demo
