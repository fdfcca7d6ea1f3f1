// The impairment pipe's bottleneck: rate, queue bounds (packets and bytes), drop-tail and CoDel.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/unit/impair_stream.h"

namespace chat::impair {
namespace {

constexpr Nanos kSecond = 1000 * kMs;

// Bits delivered with a due time at or before `until`.
uint64_t bits_by(const std::vector<Seen>& seen, Nanos until) {
  uint64_t bits = 0;
  for (const auto& s : seen)
    if (s.due <= until) bits += s.bytes * 8;
  return bits;
}

TEST(ImpairBottleneck, TenMbitLinkFedAHundred) {
  Pipe pipe(spec_of("rate=10mbit"), 41);
  // 1500-byte packets every 120 us: 100 Mbit/s for one second.
  const auto seen = run(pipe, 8334, 120 * kUs, 1500);
  EXPECT_NEAR(static_cast<double>(bits_by(seen, kSecond)), 10e6, 10e6 * 0.01);
  EXPECT_GT(pipe.counters().queue_drops, 0u);
  EXPECT_EQ(seen.size() + pipe.counters().queue_drops, 8334u);
  // The link never idles while it has a backlog: one packet every 1.2 ms.
  for (size_t i = 1; i < seen.size(); ++i) ASSERT_EQ(seen[i].due - seen[i - 1].due, 1200 * kUs);
}

// Loss on a full link costs goodput: a lost packet has used its share of the link (the wire carried
// it), so 10 % loss leaves about 90 % of the 10 Mbit/s to the survivors, not the whole rate.
TEST(ImpairBottleneck, LossOnAFullLinkLowersWhatItDelivers) {
  Pipe pipe(spec_of("rate=10mbit,loss=10%"), 45);
  const auto seen = run(pipe, 8334, 120 * kUs, 1500);  // 100 Mbit/s offered for 1 s
  EXPECT_NEAR(static_cast<double>(bits_by(seen, kSecond)), 9e6, 9e6 * 0.05);
  EXPECT_GT(pipe.counters().lost, 0u);
}

TEST(ImpairBottleneck, UnderloadedLinkOnlySerialises) {
  Pipe pipe(spec_of("rate=10mbit,delay=5ms"), 42);
  const auto seen = run(pipe, 1000, 2 * kMs, 1500);  // 6 Mbit/s
  ASSERT_EQ(seen.size(), 1000u);
  for (const auto& s : seen) ASSERT_EQ(s.due - s.arrival, 5 * kMs + 1200 * kUs);
  EXPECT_EQ(pipe.counters().queue_drops, 0u);
}

TEST(ImpairBottleneck, PacketQueueBoundHolds) {
  Pipe pipe(spec_of("rate=10mbit,queue=100pkt"), 43);
  const auto seen = run(pipe, 8334, 120 * kUs, 1500);
  const auto& c = pipe.counters();
  EXPECT_GT(c.queue_drops, 0u);
  EXPECT_LE(c.max_queued_packets, 100u);
  EXPECT_GE(c.max_queued_packets, 99u);
  // Every delivered packet waited at most a full queue's worth of transmissions.
  for (const auto& s : seen) ASSERT_LE(s.due - s.arrival, 100 * 1200 * kUs);
}

TEST(ImpairBottleneck, ByteQueueBoundHolds) {
  for (const char* queue : {"150kb", "64kib", "1500b"}) {
    Spec spec = spec_of(std::string("rate=10mbit,queue=") + queue);
    Pipe pipe(spec, 44);
    std::vector<Departure> out;
    uint64_t max_bytes = 0;
    for (uint64_t i = 0; i < 20'000; ++i) {
      const Nanos t = static_cast<Nanos>(i) * 50 * kUs;
      pipe.pop_due(t, out);
      pipe.push(make_packet(i, t, 200 + (i * 7919) % 1300), t);
      max_bytes = std::max(max_bytes, pipe.counters().queued_bytes);
    }
    EXPECT_GT(pipe.counters().queue_drops, 0u) << queue;
    EXPECT_LE(max_bytes, spec.queue_limit) << queue;
    EXPECT_GE(max_bytes, spec.queue_limit - 1500) << queue;
  }
}

// A 10 Mbit/s link offered more, by unresponsive traffic (1500-byte packets `spacing` apart), for
// 30 s.
struct Sojourns {
  std::vector<Nanos> late;  // (due - arrival) of packets that arrived in the last 15 s
  PipeCounters counters;
};

Sojourns overload(const char* aqm, Nanos spacing) {
  Pipe pipe(spec_of(std::string("rate=10mbit,queue=1000pkt,aqm=") + aqm), 45);
  const auto seen = run(pipe, static_cast<uint64_t>(30 * kSecond / spacing), spacing, 1500);
  Sojourns s{{}, pipe.counters()};
  for (const auto& p : seen)
    if (p.arrival >= 15 * kSecond) s.late.push_back(p.due - p.arrival);
  std::sort(s.late.begin(), s.late.end());
  EXPECT_FALSE(s.late.empty());
  return s;
}

Nanos percentile(const std::vector<Nanos>& sorted, double q) {
  return sorted.empty() ? 0
                        : sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

TEST(ImpairBottleneck, CoDelKeepsSojournNearTargetWhereDropTailDoesNot) {
  constexpr Nanos kSpacing = 1'142'857;  // 10.5 Mbit/s offered
  const auto tail = overload("droptail", kSpacing);
  const auto codel = overload("codel", kSpacing);
  // Drop-tail: the 1000-packet queue fills up and stays full.
  EXPECT_GT(percentile(tail.late, 0.5), 500 * kMs);
  EXPECT_EQ(tail.counters.aqm_drops, 0u);
  // CoDel: drops as much as the excess and keeps the sojourn near its 5 ms target.
  EXPECT_GT(codel.counters.aqm_drops, 0u);
  EXPECT_EQ(codel.counters.queue_drops, 0u);
  EXPECT_LT(percentile(codel.late, 0.5), 15 * kMs);
  EXPECT_LT(percentile(codel.late, 0.9), 30 * kMs);
}

// At 20 % overload of unresponsive traffic CoDel's control law saws between its target and a
// few hundred ms (it is built for flows that slow down when they lose packets), still far below
// a full drop-tail queue.
TEST(ImpairBottleneck, CoDelUnderHeavyOverload) {
  const auto tail = overload("droptail", 1 * kMs);
  const auto codel = overload("codel", 1 * kMs);
  EXPECT_GT(percentile(tail.late, 0.5), 1000 * kMs);
  EXPECT_GT(tail.counters.queue_drops, 0u);
  EXPECT_EQ(codel.counters.queue_drops, 0u);
  EXPECT_LT(percentile(codel.late, 0.9), 200 * kMs);
  // It drops what the link cannot carry: about a sixth of 30,000 packets.
  EXPECT_NEAR(static_cast<double>(codel.counters.aqm_drops), 5000, 500);
}

TEST(ImpairBottleneck, CoDelIdleWithoutOverload) {
  Pipe pipe(spec_of("rate=10mbit,aqm=codel"), 46);
  run(pipe, 5000, 2 * kMs, 1500);
  EXPECT_EQ(pipe.counters().aqm_drops, 0u);
}

}  // namespace
}  // namespace chat::impair
