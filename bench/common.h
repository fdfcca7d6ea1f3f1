#pragma once
// Pieces every scenario shares: the progress line, starting a server process and learning its
// port, the bench's payload layouts, and small system helpers.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/subprocess.h"
#include "src/util/result.h"
#include "transports/transport.h"

namespace chat::bench {

class BenchPath;

// One line on stderr, rewritten in place, only when stderr is a terminal: logs and pipes stay
// clean, and the measurement never pays for a write nobody sees.
class Progress {
 public:
  Progress() : enabled_(::isatty(STDERR_FILENO) == 1) {}
  explicit Progress(bool enabled) : enabled_(enabled) {}
  ~Progress() { clear(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void show(std::string_view text);
  void clear();
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  size_t last_width_ = 0;
};

// A server child (our `chat server`, the stream sink, or an anchor) that says where it listens.
struct ListeningChild {
  Subprocess process;
  uint16_t port = 0;
  std::filesystem::path log;
};

// Starts argv with its output in `log` and waits (bounded) for a line containing `needle`; the port
// is the number after that line's last ':'.
Result<ListeningChild> start_listening(
    std::vector<std::string> argv, std::filesystem::path log,
    std::string_view needle = "listening on",
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// `chat server --mode MODE --transport T --bind HOST --port 0 -q [extra...]`, this binary, on the
// path's server side (HOST 127.0.0.1 when `path` is null or loopback); pinned to `cpu` and run at
// SCHED_FIFO `realtime` when those are given (see placement.h).
Result<ListeningChild> start_chat_server(const ScratchDir& dir, const std::string& mode,
                                         const std::string& transport,
                                         std::vector<std::string> extra = {}, int cpu = -1,
                                         const BenchPath* path = nullptr, int realtime = 0);

// A loopback port free at the moment of asking (for anchors that cannot take port 0).
uint16_t free_loopback_port(bool udp);

// Waits until something accepts TCP connections on 127.0.0.1:port (bounded; false if `child`
// exits first). One probe connection is made and closed.
bool wait_for_tcp_port(uint16_t port, std::chrono::milliseconds timeout, Subprocess* child);

// Raises the soft RLIMIT_NOFILE to the hard limit (1,000 hub clients need 1,000+ fds); returns
// the soft limit now in force.
uint64_t raise_fd_limit();

// "HOST:PORT" (IPv6 as [::1]:PORT) split; only loopback hosts are accepted by the scenarios.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> parse_host_port(std::string_view text);
bool is_loopback_host(std::string_view host);

// Stamps a record with the path it took: params.path, and for an emulated link the link's counters
// over the point (metrics.link). Construct before the point, stamp after it.
class PathProbe {
 public:
  explicit PathProbe(const BenchPath* path);
  void stamp(struct RunRecord& record) const;

 private:
  const BenchPath* path_;
  nlohmann::ordered_json before_;
};

// Binary payload header used by rtt and stream (servers echo or sink it untouched):
//   byte 0   kind ('D' data, 'R' report request, 'S' sink stats)
//   1..8     sequence number (little-endian u64)
//   9..16    sender's CLOCK_MONOTONIC ns at send (little-endian u64)
// Every wire the transport factory knows: what a scenario runs over unless told otherwise.
std::vector<std::string> all_wires();
// The first wire that promises no delivery: the one whose loss a rate search measures.
std::string unreliable_wire();
// The first wire that serves plain-text peers on a reliable, ordered stream: the hub that line
// clients (nc, the course's client) can join.
std::string text_stream_wire();
// The largest message `transport` carries when its config asks for `max_payload`.
size_t wire_max_message(const std::string& transport, size_t max_payload);

inline constexpr size_t kBinaryHeader = 17;
inline void put_u64(std::string& s, size_t at, uint64_t v) {
  std::memcpy(s.data() + at, &v, 8);
}
inline uint64_t get_u64(std::string_view s, size_t at) {
  uint64_t v = 0;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

// Text payload used by fanout, safe for hubs that sanitise or speak lines (ncat --chat):
//   "~F" sender(8 hex) seq(8 hex) ns(16 hex) then '.' padding.
inline constexpr size_t kTextHeader = 2 + 8 + 8 + 16;
std::string make_text_payload(uint32_t sender, uint32_t seq, uint64_t ns, size_t size);
struct TextPayload {
  uint32_t sender = 0;
  uint32_t seq = 0;
  uint64_t ns = 0;
};
// Finds the header anywhere in a relayed line ("<user3> ~F...", "[bench7] ~F...").
std::optional<TextPayload> parse_text_payload(std::string_view line);

// Comma lists for the CLI: "16,64,256" -> {16, 64, 256}.
std::vector<size_t> parse_size_list(const std::string& text);

}  // namespace chat::bench
