#pragma once
// `chat bench stream` and `chat bench rate`: one-way traffic from an in-process sender (through the
// Transport seam) to a `chat bench sink` process.
//
// stream: for each wire and size, send for a fixed time at a target rate or as fast as the link
// takes (TCP: as fast as the queue drains, never past half its high-water mark; UDP: the transport
// drops what the socket cannot take, counted as send drops). The sender reports what it handed to
// the transport; the sink reports what arrived (goodput over first-to-last arrival), UDP loss,
// duplicates, reordering and jitter; TCP retransmissions come from TCP_INFO on the sender.
//
// rate: RFC 2544's throughput search on UDP: the highest offered rate whose loss (messages sent
// but never received, sender drops included) stays at or below the threshold, by binary search
// between 0 and the unlimited sender's rate.
#include <memory>
#include <string>
#include <vector>

#include "bench/common.h"
#include "bench/path.h"
#include "bench/results.h"

namespace chat::bench {

struct StreamOptions {
  std::vector<std::string> transports = all_wires();
  std::vector<size_t> sizes = {64, 1400, 16384, 65000, 131072};
  double rate_mps = 0;                   // messages per second; 0: unlimited
  double duration_s = 2.0;               // per point
  int socket_buffer = 16 * 1024 * 1024;  // past rmem_max where allowed (SO_RCVBUFFORCE)
  std::string target;                    // HOST:PORT of a running `chat bench sink`; empty: ours
  std::shared_ptr<BenchPath> path;       // null: loopback
};

struct RateOptions {
  std::vector<size_t> sizes = {1400};
  double threshold_pct = 0.1;
  double trial_s = 1.0;
  int max_trials = 10;
  double precision = 0.03;               // stop when the bracket is this fraction of its top
  int socket_buffer = 16 * 1024 * 1024;  // past rmem_max where allowed (SO_RCVBUFFORCE)
  std::shared_ptr<BenchPath> path;       // null: loopback
};

Result<std::vector<RunRecord>> run_stream(const StreamOptions& options, Progress& progress);
Result<std::vector<RunRecord>> run_rate(const RateOptions& options, Progress& progress);

// One stream point against a running sink: what `stream`, `rate` and `sweep` each measure.
struct StreamPoint {
  uint64_t sent = 0;
  uint64_t sent_bytes = 0;
  double send_s = 0;
  uint64_t send_drops = 0;
  uint64_t retransmits = 0;
  Json sink;  // the sink's counters, empty if it never answered
  std::string error;
};
struct StreamTarget {
  std::string transport;
  HostPort sink;
  int socket_buffer = 0;
  // UDP: how long after the last send the sink is first asked for its counters, so datagrams
  // still crossing a delayed link are counted (TCP's report follows the data in order).
  std::chrono::milliseconds settle{30};
  // How long to keep asking for the sink's counters: a slow link may still be carrying the queued
  // tail of a TCP transfer, which the request waits behind.
  std::chrono::milliseconds report_wait{2000};
};
StreamPoint stream_once(const StreamTarget& target, size_t size, double rate_mps,
                        double duration_s);
Json stream_metrics(const StreamPoint& p, const std::string& transport);
// `chat bench sink` on the path's server side.
Result<ListeningChild> start_sink(const ScratchDir& dir, const std::string& transport,
                                  int socket_buffer, const BenchPath* path);

}  // namespace chat::bench
