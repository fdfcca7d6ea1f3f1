#pragma once
// The link's forwarder: one thread, one epoll loop. A packet read from one TUN device goes through
// that direction's impairment pipe and is written to the other device when it is due; a timerfd
// armed at the earliest due time (absolute, with 1 ns timer slack) wakes the loop, so packets leave
// within microseconds of their schedule rather than on a millisecond tick. A Unix socket takes
// control requests (status, set, down) from `chat link` and from the bench.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/impair/pipe.h"
#include "src/net/fd.h"

namespace chat::link {

// Lateness of each packet (written − due), in microseconds: 1 µs buckets to 10 ms, then one
// overflow bucket, so the p99 the link promises can be read exactly.
class LatenessHistogram {
 public:
  void record(int64_t ns);
  uint64_t count() const { return count_; }
  double percentile_us(double q) const;
  double max_us() const { return static_cast<double>(max_ns_) / 1000.0; }

 private:
  static constexpr size_t kBuckets = 10001;
  std::vector<uint64_t> buckets_ = std::vector<uint64_t>(kBuckets, 0);
  uint64_t count_ = 0;
  int64_t max_ns_ = 0;
};

// True when a spec treats every byte alike (nothing, or a fixed delay), so the kernel's offload
// batches may cross whole; anything per packet needs the packets as the wire would carry them.
bool offload_allowed(const impair::Spec& spec);

struct Direction {
  std::string name;  // "up" (client → server) or "down"
  impair::Pipe pipe;
  int from = -1, to = -1;  // TUN descriptors
  bool offload = false;
  uint64_t write_errors = 0;
  LatenessHistogram lateness = {};
  // Offload batches keep their virtio-net header beside them, keyed by the packet's buffer (a
  // vector keeps its buffer when moved through the pipe); plain packets get a zero header.
  std::unordered_map<const uint8_t*, std::array<uint8_t, 10>> headers = {};
};

struct ForwarderSetup {
  net::Fd tun_client, tun_server;
  net::Fd netns_client, netns_server;  // for MTU changes on a running link
  std::string device;                  // the TUN devices' name (the same on both sides)
  impair::Spec up, down;
  uint64_t seed = 0;
};

class Forwarder {
 public:
  explicit Forwarder(ForwarderSetup setup);
  // Serves packets and control requests on `control` (a listening SOCK_SEQPACKET socket) until a
  // `down` request, SIGINT or SIGTERM.
  void run(int control);

  // The reply to a control request ("status", "set\nUP\nDOWN", "down").
  std::string handle(const std::string& request, bool& stop);
  std::string status_json() const;

 private:
  void forward(Direction& d, int64_t now);
  void flush_due(Direction& d, int64_t now);
  // Arms the timer for the next due packet, or returns true when it is so near that the loop
  // should poll for it instead.
  bool arm_timer();
  void apply_offload(Direction& d);
  std::string set(const std::string& up, const std::string& down);

  ForwarderSetup setup_;
  Direction up_, down_;
  net::Fd timer_;
  int64_t armed_for_ = -1;
  std::vector<impair::Departure> due_;
  std::vector<impair::Packet> pool_;
  std::vector<uint8_t> buffer_;
};

}  // namespace chat::link
