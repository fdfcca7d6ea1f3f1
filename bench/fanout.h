#pragma once
// `chat bench fanout`: N clients in one hub, every client sends M messages, the hub relays each to
// the N-1 others. All clients live in this process on one event loop (the hub is a separate
// `chat server --mode hub` process, or any line-based hub with --target/--text).
//
// Load is sent in rounds: in round r every client sends its r-th message. A new round starts when
// an earlier one is fully delivered (or timed out), with a few rounds in flight at most, so the hub
// is kept busy without queues growing past their high-water marks. Every delivery is accounted
// for: expected = N·(N-1)·M; seen, duplicates and (per sender) out-of-order arrivals are counted
// from a bitmap of (receiver, sender, seq). Latency per delivery is receive time minus the send
// timestamp in the payload (one clock: loopback only).
//
// --broadcast: only member 0 sends, one message at a time, so each round times one broadcast
// reaching the whole room (reach_all_p50/p99) and the accounting grows with N instead of N² — the
// mode for 10,000 members. Every run also reports the hub's resident memory per member and the CPU
// share of the hub and of this load generator (one thread: near 100 % it is the bottleneck).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/common.h"
#include "bench/path.h"
#include "bench/results.h"

namespace chat::bench {

struct FanoutOptions {
  std::vector<std::string> transports = all_wires();
  std::vector<size_t> clients = {10, 100, 1000};
  size_t messages = 0;           // per client; 0: messages_per_client picks
  size_t size = 64;              // message text bytes (at least the 34-byte header)
  bool text = false;             // plain-text line clients instead of framed ones (TCP only)
  bool broadcast = false;        // only one member sends; each message is timed reaching all
  std::string target;            // HOST:PORT of a running hub; empty: start ours
  std::string tool = "chat";     // what the hub is, for the results ("ncat" for ncat --chat)
  double round_timeout_s = 2.0;  // give up on a round's missing deliveries after this
  double max_seconds = 120;      // hard cap per point
  size_t max_inflight_deliveries = 200'000;
  // UDP: the hub's --udp-bundle-bytes (0: a datagram per message); unset: the hub's default.
  std::optional<size_t> udp_bundle_bytes;
  std::shared_ptr<BenchPath> path;  // null: loopback
};

// The messages each of `clients` members sends: o.messages when given, else as many as make about
// three million deliveries (1 to 1,000): 303 at 100 members, 3 at 1,000, 1 at 10,000. A point of
// ten messages at 100 members was over in 40 ms, too short to tell two wires apart: start-up and
// the 10 ms CPU clock ticks were most of it.
size_t messages_per_client(const FanoutOptions& o, size_t clients);

Result<std::vector<RunRecord>> run_fanout(const FanoutOptions& options, Progress& progress);

}  // namespace chat::bench
