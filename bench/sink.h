#pragma once
// `chat bench sink`: the receiving end of one-way streams, run as its own process (as iperf3's
// server is) so sender and receiver each get a core and neither's loop slows the other. It counts
// every data message per link (sequence window from the UDP room's SequenceTracker: loss,
// duplicates, reordering, RFC 3550 jitter) and answers a report request ('R') on the same link
// with its counters as JSON ('S'), so one sink serves many trials: each trial is a fresh link.
#include <cstdint>
#include <string>

#include "transports/transport.h"

namespace chat::bench {

struct SinkOptions {
  std::string transport{default_transport()};
  std::string bind = "127.0.0.1";
  uint16_t port = 0;
  int socket_buffer = 8 * 1024 * 1024;
  size_t max_payload = 256 * 1024;
};

// Runs until SIGINT/SIGTERM; prints "bench sink listening on <wire> ADDR:PORT" on stderr.
int run_sink(const SinkOptions& options);

}  // namespace chat::bench
