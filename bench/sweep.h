#pragma once
// `chat bench sweep`: loss × delay × wire over one emulated link. At each point the link is set to
// `loss=L%,delay=D` (both directions, on top of a base spec that gives the link a bottleneck), and
// each wire runs two measurements through the Transport seam:
//   - a probe: fixed-interval messages (64 B every 1 ms), not ping-pong, so a lost message never
//     stalls the clock; the sink reports one-way delay (both ends read one monotonic clock across
//     the namespaces), the delivered fraction, duplicates and reordering;
//   - a bulk transfer for a few seconds: goodput, and TCP's retransmissions from TCP_INFO.
// Nothing is modelled: every number is what crossed the emulated link.
#include <memory>
#include <string>
#include <vector>

#include "bench/common.h"
#include "bench/results.h"

namespace chat::bench {

struct SweepOptions {
  std::vector<std::string> transports;  // empty: every wire the factory knows
  std::vector<double> loss_pct = {0, 0.5, 1, 2, 5, 10};
  std::vector<double> delay_ms = {0, 20};
  // The link every point shares: a 100 Mbit/s bottleneck with a 400-packet queue (a 40 ms
  // round trip's worth), so the emulator's own speed never sets the result.
  std::string base = "rate=100mbit,queue=400pkt";
  uint64_t seed = 1;
  double probe_interval_ms = 1.0;
  size_t probe_size = 64;
  double probe_s = 2.0;
  size_t bulk_size = 1400;
  double bulk_s = 3.0;
  // TCP congestion control for the sending side (this process's namespace); empty: the kernel's
  // default. Loss-based (cubic, reno) and model-based (bbr) control answer loss very differently.
  std::string tcp_cc;
};

Result<std::vector<RunRecord>> run_sweep(const SweepOptions& options, Progress& progress);

}  // namespace chat::bench
