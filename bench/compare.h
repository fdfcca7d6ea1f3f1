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
#include "bench/histogram.h"
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

// The UDP goodput ratio row: chat's unpaced delivered goodput over iperf3's (`-b 0`), and the loss
// target judged at one offered rate. Unpaced, the two send at rates up to ~7x apart, and a
// receiver's loss grows with the rate it is offered; so the loss compared is chat's own when paced
// at the rate iperf3 sent (`at_their_rate`), not chat's at its own, higher rate. Without that run
// (`at_their_rate` has no loss_pct), the unpaced losses are compared, and the note says so.
RunRecord udp_goodput_verdict(const RunRecord& ours, const RunRecord& at_their_rate,
                              const RunRecord& anchor);

// sockperf's --full-log: after its summary, one "packet, txTime(sec), rxTime(sec), latency" row
// per measured message. Each row's round trip (rx - tx) goes into `into`; returns the rows read.
uint64_t read_sockperf_full_log(const std::string& text, Histogram& into);

// The resolution of an rtt ratio, from the anchor's rounds alone: `percentile` of its even-
// numbered rounds pooled over that of its odd-numbered ones (1.0: the halves agree); 0 when either
// half has no samples.
double halves_ratio(const std::vector<Histogram>& rounds, double percentile);

Result<std::vector<RunRecord>> run_compare(const CompareOptions& options, Progress& progress);

}  // namespace chat::bench
