#pragma once
// UDP peers for the hub's admission tests: a framed member driven by hand (JOIN, CHALLENGE,
// cookie, token, PING), the plain-text join (`nc -u` typing the code), datagrams with a forged
// source address (a raw socket), and a network namespace in which a whole /15 is local, so one
// socket can send from thousands of source addresses and hear what the hub answers each.
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "src/net/fd.h"
#include "src/wire/frame.h"
#include "tests/support/raw_peer.h"

namespace chat::testing {

// nc -u joining the hub: sends `first`, reads "type NNNN to join", types NNNN. Returns the code,
// or nullopt when no code line came.
std::optional<std::string> join_as_text(RawPeer& raw, std::string_view first = "hello\n");

// The code in a "type NNNN to join" line.
std::optional<std::string> code_in(std::string_view line);

class FramedPeer {
 public:
  // A UDP socket connected to `host`:`port` (IPv4 literal).
  FramedPeer(const std::string& host, uint16_t port);

  bool valid() const { return fd_.valid(); }
  uint16_t local_port() const;
  // JOIN → CHALLENGE → JOIN with the cookie → WELCOME; false at the deadline.
  bool join(const std::string& name, std::chrono::milliseconds timeout);
  uint64_t token() const { return token_; }
  uint32_t id() const { return id_; }

  // Sends one frame stamped with `token` (default: ours).
  bool send(wire::FrameType type, std::string_view payload = {},
            std::optional<uint64_t> token = std::nullopt);
  // Sends a raw datagram.
  bool send_bytes(std::string_view bytes);
  // The next frame within the timeout; DATA/NOTICE/HEARTBEAT/PING are skipped unless `type`
  // asks for them (a PING from the hub is answered).
  std::optional<wire::Frame> wait_for(wire::FrameType type, std::chrono::milliseconds timeout);
  // A PING and its PONG: the round trip, or nullopt when none came within the timeout.
  std::optional<std::chrono::nanoseconds> ping(std::chrono::milliseconds timeout);
  // Reads and forgets whatever is queued (a member that was sent a burst it did not read).
  void drain();
  // Bytes received since the last call (every datagram, whatever it was).
  size_t take_bytes_received();

 private:
  std::optional<wire::Frame> next(std::chrono::milliseconds timeout);

  net::Fd fd_;
  uint64_t token_ = 0;
  uint32_t id_ = 0;
  uint32_t seq_ = 0;
  size_t bytes_received_ = 0;
  std::deque<wire::Frame> queued_;  // the rest of a bundle next() took apart
};

// A UDP/IPv4 datagram with any source address and port, through a raw socket (CAP_NET_RAW).
// Returns false with `why` when raw sockets are not allowed.
bool send_forged_udp4(const sockaddr_in& from, const sockaddr_in& to, std::string_view payload,
                      std::string* why = nullptr);
sockaddr_in ipv4(const std::string& address, uint16_t port);

// Moves this process into a new network namespace with lo up and 198.18.0.0/15 local (so any
// address in it can be a source), and back out on destruction. Children started meanwhile stay
// in it; the namespace vanishes with the last of them.
class SpoofNamespace {
 public:
  // nullopt with the reason when this process may not make namespaces.
  static std::optional<SpoofNamespace> enter(std::string& why);
  SpoofNamespace(SpoofNamespace&&) = default;
  ~SpoofNamespace();

 private:
  explicit SpoofNamespace(net::Fd original) : original_(std::move(original)) {}
  net::Fd original_;
};

// Sends from `sources` addresses of 198.18.0.0/15 to 127.0.0.1:`port`, one datagram per source
// in turn, at about `rate` datagrams a second until `stop` or `limit` datagrams; counts what the
// hub sent back to each source. Each round of the sources sends the next of `kinds`: t a 1-byte
// text datagram, h the line "hello\n", j a framed JOIN, d a DATA with a made-up token. Run inside
// a SpoofNamespace.
struct FloodResult {
  uint64_t sent_datagrams = 0;
  uint64_t sent_bytes = 0;
  uint64_t answered_bytes = 0;
  double worst_factor = 0;  // max over sources of bytes back / bytes sent
  size_t sources_answered = 0;
  std::string error;
};
FloodResult spoofed_flood(uint16_t port, size_t sources, double rate, uint64_t limit,
                          const std::atomic<bool>& stop, std::string_view kinds = "thjd");

}  // namespace chat::testing
