// The pipe on synthetic packet streams with a synthetic clock; every run uses a fixed seed, and
// statistical bounds are several standard deviations wide so they hold for that seed by margin,
// not by luck.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tests/unit/impair_stream.h"

namespace chat::impair {
namespace {

TEST(ImpairPipe, IdentityDeliversAtOnce) {
  Pipe pipe(Spec{}, 1);
  EXPECT_FALSE(pipe.next_due().has_value());
  pipe.push(make_packet(1, 5 * kMs), 5 * kMs);
  EXPECT_EQ(pipe.next_due(), 5 * kMs);
  EXPECT_EQ(pipe.counters().queued_packets, 1u);
  EXPECT_EQ(pipe.counters().queued_bytes, 100u);
  std::vector<Departure> out;
  pipe.pop_due(5 * kMs, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].due, 5 * kMs);
  EXPECT_EQ(seen_of(out[0]).id, 1u);
  const auto& c = pipe.counters();
  EXPECT_EQ(c.packets_in, 1u);
  EXPECT_EQ(c.bytes_in, 100u);
  EXPECT_EQ(c.packets_out, 1u);
  EXPECT_EQ(c.bytes_out, 100u);
  EXPECT_EQ(c.queued_packets, 0u);
  EXPECT_EQ(c.max_queued_packets, 1u);
}

TEST(ImpairPipe, DelayOnlyIsExact) {
  Pipe pipe(spec_of("delay=20ms"), 1);
  const auto seen = run(pipe, 5000, 300 * kUs);
  ASSERT_EQ(seen.size(), 5000u);
  EXPECT_TRUE(in_order(seen));
  for (const auto& s : seen) ASSERT_EQ(s.due, s.arrival + 20 * kMs);
  // 20 ms in flight at one packet per 0.3 ms: 67 packets at most.
  EXPECT_EQ(pipe.counters().max_queued_packets, 67u);
}

TEST(ImpairPipe, NextDueAndPartialPop) {
  Pipe pipe(spec_of("delay=10ms"), 1);
  pipe.push(make_packet(0, 0), 0);
  pipe.push(make_packet(1, 4 * kMs), 4 * kMs);
  EXPECT_EQ(pipe.next_due(), 10 * kMs);
  std::vector<Departure> out;
  pipe.pop_due(9 * kMs, out);
  EXPECT_TRUE(out.empty());
  pipe.pop_due(12 * kMs, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(pipe.next_due(), 14 * kMs);
  EXPECT_EQ(pipe.counters().queued_packets, 1u);
}

TEST(ImpairPipe, BernoulliLossRate) {
  Pipe pipe(spec_of("loss=2%"), 11);
  const uint64_t n = 100'000;
  const auto seen = run(pipe, n, 10 * kUs);
  const auto& c = pipe.counters();
  expect_binomial(c.lost, n, 0.02);
  EXPECT_EQ(seen.size() + c.lost, n);
  EXPECT_EQ(c.packets_out, seen.size());
  EXPECT_TRUE(in_order(seen));
}

TEST(ImpairPipe, GilbertElliottBurstsAndRate) {
  Pipe pipe(spec_of("loss=ge:p=1%,r=30%"), 12);
  const uint64_t n = 500'000;
  const auto seen = run(pipe, n, 10 * kUs, 40);
  // Loss bursts are the gaps in the delivered sequence.
  uint64_t bursts = 0, lost = 0, next = 0;
  for (const auto& s : seen) {
    if (s.id > next) {
      ++bursts;
      lost += s.id - next;
    }
    next = s.id + 1;
  }
  EXPECT_EQ(lost + (n - next), pipe.counters().lost);
  const double mean_burst = static_cast<double>(lost) / static_cast<double>(bursts);
  EXPECT_NEAR(mean_burst, 1 / 0.30, 0.2);  // standard error is ~0.03
  const double rate = static_cast<double>(pipe.counters().lost) / n;
  EXPECT_NEAR(rate, 0.01 / (0.01 + 0.30), 0.003);
}

TEST(ImpairPipe, GilbertElliottPartialLossInEachState) {
  // k < 1 loses in the good state too; h > 0 lets some through in the bad state.
  Pipe pipe(spec_of("loss=ge:p=10%,r=10%,h=50%,k=90%"), 13);
  const uint64_t n = 200'000;
  run(pipe, n, 10 * kUs, 40);
  // Half the time in each state: loss = 0.5 * 0.5 + 0.5 * 0.1.
  EXPECT_NEAR(static_cast<double>(pipe.counters().lost) / n, 0.30, 0.015);
}

struct JitterCase {
  const char* dist;
  double std_low, std_high;  // bounds on the measured standard deviation, in units of jitter
  double min_ms, max_ms;     // hard bounds on every packet's delay
};

class ImpairPipeJitter : public ::testing::TestWithParam<JitterCase> {};

TEST_P(ImpairPipeJitter, MeanIsDelayAndOrderHolds) {
  const auto& c = GetParam();
  Pipe pipe(spec_of(std::string("delay=20ms,jitter=5ms,dist=") + c.dist), 21);
  // Packets far apart, so the FIFO floor almost never touches the draws being measured.
  const uint64_t n = 20'000;
  const auto seen = run(pipe, n, 60 * kMs);
  ASSERT_EQ(seen.size(), n);
  EXPECT_TRUE(in_order(seen));
  double sum = 0, sum2 = 0;
  for (const auto& s : seen) {
    const double d = static_cast<double>(s.due - s.arrival) / kMs;
    sum += d;
    sum2 += d * d;
    ASSERT_GE(d, c.min_ms) << c.dist;
    ASSERT_LE(d, c.max_ms) << c.dist;
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 20.0, 0.25) << c.dist;  // standard error ~0.04 ms
  EXPECT_GE(sd, c.std_low * 5) << c.dist;
  EXPECT_LE(sd, c.std_high * 5) << c.dist;
}

TEST_P(ImpairPipeJitter, DenseTrafficNeverReorders) {
  const auto& c = GetParam();
  Pipe pipe(spec_of(std::string("delay=20ms,jitter=5ms,dist=") + c.dist), 22);
  const auto seen = run(pipe, 20'000, 100 * kUs);
  ASSERT_EQ(seen.size(), 20'000u);
  EXPECT_TRUE(in_order(seen));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end(),
                             [](const Seen& a, const Seen& b) { return a.due < b.due; }));
  for (const auto& s : seen) ASSERT_GE(s.due, s.arrival);
  EXPECT_EQ(pipe.counters().reordered, 0u);
}

// Uniform on [-j, j] has standard deviation j/sqrt(3); the others are scaled to j. Pareto's
// lightest draw is 0.577 j below the delay.
INSTANTIATE_TEST_SUITE_P(Distributions, ImpairPipeJitter,
                         ::testing::Values(JitterCase{"uniform", 0.55, 0.60, 15, 25},
                                           JitterCase{"normal", 0.95, 1.05, 0, 70},
                                           JitterCase{"pareto", 0.75, 1.25, 17.1, 520},
                                           JitterCase{"paretonormal", 0.80, 1.20, 0, 520}),
                         [](const auto& info) { return std::string(info.param.dist); });

}  // namespace
}  // namespace chat::impair
