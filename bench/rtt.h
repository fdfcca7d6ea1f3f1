#pragma once
// `chat bench rtt`: ping-pong through an echo server. One request is outstanding at a time (like
// sockperf ping-pong), so each sample is one full round trip: client Transport::send → codec →
// socket → echo server process → back → client callback. The payload carries a sequence number so
// a reply that comes after its request timed out (UDP loss) is recognised and not mistaken for
// the next one's.
#include <memory>
#include <string>
#include <vector>

#include "bench/common.h"
#include "bench/histogram.h"
#include "bench/path.h"
#include "bench/placement.h"
#include "bench/results.h"
#include "src/net/poller.h"

namespace chat::bench {

struct RttOptions {
  std::vector<std::string> transports = all_wires();
  std::vector<size_t> sizes = {16, 64, 256, 1024, 4096, 16384, 65000};
  uint64_t count = 0;       // samples per point; 0: run for `duration_s`
  double duration_s = 1.0;  // per point, when count is 0
  uint64_t warmup = 200;    // round trips discarded before measuring
  int timeout_ms = 200;     // a request unanswered this long counts as lost
  double max_seconds = 60;  // hard cap per point whatever the count
  std::string target;       // HOST:PORT of a running echo server; empty: start our own
  bool busy_poll = false;   // spin the loop instead of sleeping in epoll_wait
  // What the client's loop and the echo server's wait with (see src/net/poller.h).
  net::IoBackend io_backend = net::latency_io_backend();
  Placement placement;  // pin client and server to cores (see placement.h); default unpinned
  std::shared_ptr<BenchPath> path;  // null: loopback
};

// `histograms`, when given, receives each point's round trips as well (in the records' order),
// so a caller can pool samples over several runs instead of averaging their percentiles.
Result<std::vector<RunRecord>> run_rtt(const RttOptions& options, Progress& progress,
                                       std::vector<Histogram>* histograms = nullptr);

}  // namespace chat::bench
