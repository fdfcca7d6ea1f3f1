#pragma once
// The Transport seam: it carries messages, not bytes. TCP hides framing of a stream, UDP hides
// membership and sequencing of datagrams, ENet hides its acknowledgements and resends; roles above
// never ask which one they run on. What differs between wires is declared (TransportCaps) or
// described (describe_stats), never guessed from the wire's name.
//
// Everything is driven by the caller's EventLoop: callbacks are set before start(), fire on the
// loop's thread, and no exception crosses them. Errors come back as Result values.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/net/event_loop.h"
#include "src/net/socket.h"
#include "src/util/result.h"
#include "src/wire/frame.h"
#include "src/wire/message.h"

namespace chat {

using PeerId = uint32_t;
inline constexpr PeerId kNoPeer = 0;

enum class DownReason {
  kLeft,      // the peer said goodbye (LEAVE, FIN, or a text peer's `q`)
  kTimedOut,  // silence past the expiry, or no answer to a join
  kRefused,   // not admitted (server full, p2p busy) or connection refused
  kError,     // a socket error or a protocol violation (bad frame)
  kClosed,    // we closed it
  kOverflow,  // its output queue passed the high-water mark under the disconnect policy
};
std::string_view down_reason_name(DownReason reason);

struct PeerInfo {
  PeerId id = kNoPeer;
  std::string name;     // the nick from JOIN, or the address for a text peer
  std::string address;  // "127.0.0.1:50312"
  bool text = false;    // a plain-text peer (nc, telnet, the course's Python client)
};

struct PeerStats {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t rtt_ns = 0;  // latest PING round trip; 0 until one completes
  uint64_t rtt_samples = 0;
  // UDP: from the receive-side sequence window.
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  uint64_t reordered = 0;
  // UDP: datagrams the messages came in; fewer than messages_received when the peer bundles.
  uint64_t datagrams_received = 0;
  // TCP: from TCP_INFO.
  uint64_t retransmits = 0;
  // Back-pressure.
  uint64_t queued_bytes = 0;
  uint64_t dropped = 0;  // messages dropped at the high-water mark (or EAGAIN on UDP)
};

// What happens when a peer's output queue reaches its high-water mark: the role chooses.
enum class OverflowPolicy { kDrop, kDisconnect };

enum class Side { kServer, kClient };

struct TransportConfig {
  Side side = Side::kServer;
  std::string host;  // client: the server to reach (name or literal, IPv4 or IPv6)
  std::string bind;  // server: the address to listen on; empty for every interface
  uint16_t port = 0;
  std::string name;  // client: the nick sent with JOIN

  size_t max_peers = 0;     // server: 0 for no limit; past it a joiner gets REFUSE
  std::string full_reason;  // server: what a refused joiner is told (the role's words)
  // Largest message text asked for; a wire with a smaller limit clamps it (caps().max_message).
  size_t max_payload = wire::kDefaultTcpMaxPayload;
  size_t max_line = 64 * 1024;  // longest text-peer line before it is cut (never past max_payload)
  size_t high_water_bytes = 4 * 1024 * 1024;
  OverflowPolicy overflow = OverflowPolicy::kDisconnect;
  // Server, disconnect policy, on a wire that queues: past the mark the room stops reading its
  // senders until the queue drains; a peer still past it after this long is cut as a slow reader.
  std::chrono::milliseconds slow_reader_grace{3000};

  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds expiry{5000};
  std::chrono::milliseconds text_expiry{300000};  // UDP text members cannot heartbeat
  // How long a TCP text peer must stay quiet before bytes it sent without a newline count as one
  // message: one send() can arrive as several segments, milliseconds apart.
  std::chrono::milliseconds text_quiet{150};
  std::chrono::milliseconds connect_timeout{5000};
  // How long a TCP peer may stay silent before we decide it is a text peer that waits to be spoken
  // to (telnet, an idle nc); framed clients send JOIN at once.
  std::chrono::milliseconds sniff_timeout{300};
  // Server: a TCP peer that has sent nothing at all for this long is closed (0: never). Much longer
  // than sniff_timeout, since a telnet user waits to be spoken to before typing.
  std::chrono::milliseconds idle_timeout{60000};
  int socket_buffer = 0;  // SO_RCVBUF/SO_SNDBUF request in bytes; 0 leaves the kernel default
  // UDP: frames sent to one peer within a loop turn are packed into datagrams of at most this
  // many bytes, the IPv4 payload of a 1,500-byte link (IPv6 peers get 20 fewer); 0: never bundle.
  size_t udp_bundle_bytes = 1472;
};

// What a wire promises, so callers size messages and pace senders without knowing its name.
struct TransportCaps {
  size_t max_message = 0;   // largest message text send() takes with this configuration
  bool reliable = false;    // a message that is sent arrives, or the peer goes down
  bool ordered = false;     // messages from one peer arrive in the order they were sent
  bool text_peers = false;  // serves plain-text peers (nc, telnet) beside framed ones
  bool queues = false;      // send() may queue bytes (stats().queued_bytes, on_writable)
  // Most members one server of this wire can hold, whatever --max-clients says; 0: no limit of the
  // wire's own (file descriptors and memory still bound it).
  size_t max_members = 0;
};

struct TransportCallbacks {
  std::function<void(const PeerInfo&)> on_peer_up;
  std::function<void(PeerId, Message&&)> on_message;
  std::function<void(PeerId, DownReason, const std::string& why)> on_peer_down;
  // Optional: a peer's queued output fell below the low-water mark (half the high-water mark)
  // after having passed it. Senders that want back-pressure stop at the mark and resume here.
  std::function<void(PeerId)> on_writable;
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual std::string_view name() const = 0;  // as the factory knows it
  virtual TransportCaps caps() const = 0;

  // Server: bind and listen. Client: connect and join; on_peer_up fires for the server once
  // admitted, on_peer_down (kRefused, kTimedOut, kError) if that never happens.
  virtual Result<void> start(TransportCallbacks callbacks) = 0;

  // Queues one message. Errors: unknown peer, a message too large for the wire (on UDP the text
  // names the 65,507-byte IPv4 datagram limit), a full queue under the drop policy.
  virtual Result<void> send(PeerId peer, const Message& message) = 0;
  // Sends to every admitted peer except `except`; returns how many it was queued for.
  virtual size_t broadcast(const Message& message, PeerId except = kNoPeer) = 0;
  // Says goodbye (LEAVE, or the text line `reason`), flushes what is queued, then closes.
  // on_peer_down(kClosed) fires for it.
  virtual void close(PeerId peer, std::string_view reason) = 0;
  // Leaves every peer in order, waits at most `linger` for queues to drain, then calls done.
  virtual void shutdown(std::chrono::milliseconds linger, std::function<void()> done) = 0;

  virtual void ping(PeerId peer) = 0;  // the round trip lands in stats(peer).rtt_ns
  virtual PeerStats stats(PeerId peer) const = 0;
  // The wire's own counters for `peer` in one line for people ("lost 0 dup 0 reordered 0",
  // "retransmits 3"): what only this wire measures, after the counters every wire shares.
  virtual std::string describe_stats(PeerId peer) const = 0;
  virtual std::vector<PeerInfo> peers() const = 0;
  virtual net::SocketAddress local_address() const = 0;
};

// Makes the named transport; adding a wire is adding a folder and a line in factory.cpp.
Result<std::unique_ptr<Transport>> make_transport(std::string_view name, net::EventLoop& loop,
                                                  TransportConfig config);
// What the named wire would promise with `config`, without making it.
Result<TransportCaps> transport_caps(std::string_view name, const TransportConfig& config);
// Every wire the factory knows, in the order the CLI and the benchmarks list them.
std::vector<std::string_view> transport_names();
// The wire a command uses when none is named.
std::string_view default_transport();

}  // namespace chat
