#pragma once
// `chat bench compare`: each scenario beside its standard tool from the same run, interleaved
// (ours, then the anchor, measure by measure) so a machine's drift hits both alike:
//   rtt 64 B     vs sockperf ping-pong (its latencies are half round trips: doubled here)
//   stream       vs iperf3 (TCP 128 KiB writes; UDP -u -b 0 -l 1400, delivered goodput)
//   fanout       vs ncat --chat, both hubs driven by the same text-client load generator
// and records chat ÷ anchor ratios (scenario "ratio") against the targets. A tool that is
// not installed gives one line on stderr and a note; the rest goes on.
#include <vector>

#include "bench/common.h"
#include "bench/results.h"

namespace chat::bench {

struct CompareOptions {
  double duration_s = 2.0;  // per rtt and stream measurement
  // rtt alternates ours and sockperf this many times and compares medians: a burst of noise on a
  // shared machine then lands on one round of one side, not on the whole comparison.
  int rtt_rounds = 3;
  size_t fanout_clients = 50;
  size_t fanout_messages = 20;
};

// The UDP goodput comparison also asks that chat lose no more than iperf3 did (equal, zero
// included, is fine).
bool loss_target_met(double our_loss_pct, double their_loss_pct);

// The largest of `rounds`' values of `key` over the smallest (rounds without it skipped); 0 when
// fewer than two have it. Compare states it for the anchor's own rounds: the ratio's resolution.
double rounds_max_over_min(const std::vector<RunRecord>& rounds, const std::string& key);

Result<std::vector<RunRecord>> run_compare(const CompareOptions& options, Progress& progress);

}  // namespace chat::bench
