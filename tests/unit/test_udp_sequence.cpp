#include <gtest/gtest.h>

#include <cmath>

#include "transports/udp/sequence_tracker.h"

namespace chat::udp {
namespace {

void feed(SequenceTracker& t, std::initializer_list<uint32_t> seqs) {
  for (uint32_t s : seqs) t.record(s);
}

TEST(UdpSequence, InOrderHasNoLoss) {
  SequenceTracker t;
  for (uint32_t s = 0; s < 5000; ++s) t.record(s);
  EXPECT_EQ(t.received(), 5000u);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.reordered(), 0u);
  EXPECT_EQ(t.stale(), 0u);
}

TEST(UdpSequence, StartsAnywhere) {
  SequenceTracker t;
  feed(t, {1000, 1001, 1002});
  EXPECT_EQ(t.expected(), 3u);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(UdpSequence, GapsCountAsLost) {
  SequenceTracker t;
  feed(t, {0, 1, 4, 5, 9});
  EXPECT_EQ(t.received(), 5u);
  EXPECT_EQ(t.expected(), 10u);
  EXPECT_EQ(t.lost(), 5u);
  EXPECT_EQ(t.reordered(), 0u);
}

TEST(UdpSequence, LateArrivalFillsGap) {
  SequenceTracker t;
  feed(t, {0, 1, 3, 4});
  EXPECT_EQ(t.lost(), 1u);
  EXPECT_EQ(t.record(2), Arrival::kReordered);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.reordered(), 1u);
  EXPECT_EQ(t.received(), 5u);
  EXPECT_EQ(t.duplicates(), 0u);
}

TEST(UdpSequence, DuplicatesAreCountedOnceAndNeverHideLoss) {
  SequenceTracker t;
  feed(t, {0, 1, 1, 1, 3, 3});
  EXPECT_EQ(t.received(), 3u);
  EXPECT_EQ(t.duplicates(), 3u);
  EXPECT_EQ(t.lost(), 1u);  // 2 is still missing, whatever the duplicates
  EXPECT_EQ(t.reordered(), 0u);
}

TEST(UdpSequence, DuplicateOfLateOne) {
  SequenceTracker t;
  feed(t, {0, 2});
  EXPECT_EQ(t.record(1), Arrival::kReordered);
  EXPECT_EQ(t.record(1), Arrival::kDuplicate);
  EXPECT_EQ(t.reordered(), 1u);
  EXPECT_EQ(t.duplicates(), 1u);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.received(), 3u);
}

TEST(UdpSequence, ReorderingSwapsAdjacentPairs) {
  SequenceTracker t;
  for (uint32_t s = 0; s < 100; s += 2) {
    t.record(s + 1);
    t.record(s);
  }
  EXPECT_EQ(t.received(), 100u);
  EXPECT_EQ(t.lost(), 0u);
  // The very first pair: 1 arrives first, then 0 extends the start back: still late.
  EXPECT_EQ(t.reordered(), 50u);
  EXPECT_EQ(t.duplicates(), 0u);
}

TEST(UdpSequence, WrapsAcrossZero) {
  SequenceTracker t;
  const uint32_t start = 0xFFFFFFF0u;
  for (uint32_t i = 0; i < 32; ++i) {
    if (i == 20) continue;  // lose 0x00000004
    t.record(start + i);
  }
  t.record(start + 17);  // duplicate of 0x00000001, after the wrap
  EXPECT_EQ(t.received(), 31u);
  EXPECT_EQ(t.expected(), 32u);
  EXPECT_EQ(t.lost(), 1u);
  EXPECT_EQ(t.duplicates(), 1u);
  EXPECT_EQ(t.reordered(), 0u);
  EXPECT_EQ(t.record(start + 20), Arrival::kReordered);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.record(0xFFFFFFFFu), Arrival::kDuplicate);  // before the wrap, still in the window
  EXPECT_EQ(t.highest(), 0x0000000Fu);
}

TEST(UdpSequence, LateAcrossWrap) {
  SequenceTracker t;
  feed(t, {0xFFFFFFFEu, 0u, 1u});
  EXPECT_EQ(t.lost(), 1u);
  EXPECT_EQ(t.record(0xFFFFFFFFu), Arrival::kReordered);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.received(), 4u);
}

TEST(UdpSequence, BigJumpCountsTheGapAndClearsTheWindow) {
  SequenceTracker t(1024);
  feed(t, {0, 1, 2});
  t.record(1'000'002);
  EXPECT_EQ(t.received(), 4u);
  EXPECT_EQ(t.lost(), 999'999u);
  // Something from the far past is beyond the window: stale, not a duplicate nor a fill.
  EXPECT_EQ(t.record(1), Arrival::kStale);
  EXPECT_EQ(t.stale(), 1u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.lost(), 999'999u);
  // Inside the new window a late one still fills its gap.
  EXPECT_EQ(t.record(1'000'001), Arrival::kReordered);
  EXPECT_EQ(t.lost(), 999'998u);
  // The slot that 2 used (same index modulo the window) reads as unseen, not as a duplicate.
  EXPECT_EQ(t.record(1'000'002 - 1024 + 1), Arrival::kReordered);
}

TEST(UdpSequence, WindowEdge) {
  SequenceTracker t(1024);
  for (uint32_t s = 0; s < 2000; ++s) t.record(s);
  EXPECT_EQ(t.record(2000 - 1024), Arrival::kDuplicate);  // the oldest the window remembers
  EXPECT_EQ(t.record(2000 - 1025), Arrival::kStale);
  EXPECT_EQ(t.window(), 1024u);
}

TEST(UdpSequence, LateBeforeFirstExtendsTheStart) {
  SequenceTracker t;
  feed(t, {10, 11});
  EXPECT_EQ(t.record(8), Arrival::kReordered);
  EXPECT_EQ(t.expected(), 4u);  // 8..11
  EXPECT_EQ(t.lost(), 1u);      // 9
  EXPECT_EQ(t.record(9), Arrival::kReordered);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(UdpSequence, LongRandomishStreamStaysConsistent) {
  // Loss every 7th, a duplicate every 11th, swaps every 13th: the counters must add up.
  SequenceTracker t;
  uint64_t sent_distinct = 0, lost = 0, dups = 0;
  for (uint32_t s = 0; s < 100000; ++s) {
    if (s % 7 == 3) {
      ++lost;
      continue;
    }
    t.record(s);
    ++sent_distinct;
    if (s % 11 == 5) {
      t.record(s);
      ++dups;
    }
  }
  EXPECT_EQ(t.received(), sent_distinct);
  EXPECT_EQ(t.duplicates(), dups);
  // The last sequence number (99999) was sent, so every loss is a gap below it.
  EXPECT_EQ(t.lost(), lost);
}

TEST(UdpSequence, JitterZeroForConstantDelay) {
  SequenceTracker t;
  for (uint64_t i = 0; i < 100; ++i) t.record(i, i * 10'000'000, i * 10'000'000 + 500'000);
  EXPECT_EQ(t.jitter_ns(), 0u);
}

TEST(UdpSequence, JitterMatchesRfc3550OnAlternatingDelay) {
  // Delay alternates 1 ms / 3 ms, so every |D| is 2 ms; J_n = 2 ms * (1 - (15/16)^n).
  SequenceTracker t;
  const int n = 200;
  for (int i = 0; i <= n; ++i) {
    const uint64_t sent = static_cast<uint64_t>(i) * 20'000'000;
    const uint64_t delay = i % 2 == 0 ? 1'000'000 : 3'000'000;
    t.record(static_cast<uint32_t>(i), sent, sent + delay);
  }
  const double expect = 2e6 * (1 - std::pow(15.0 / 16.0, n));
  EXPECT_NEAR(static_cast<double>(t.jitter_ns()), expect, 1.0);

  SequenceTracker few;
  for (int i = 0; i <= 3; ++i) {
    const uint64_t sent = static_cast<uint64_t>(i) * 20'000'000;
    few.record(static_cast<uint32_t>(i), sent, sent + (i % 2 == 0 ? 1'000'000 : 3'000'000));
  }
  // Three differences: 2e6/16 = 125000, then +(2e6-125000)/16 = 242187.5, then 352050.78...
  EXPECT_NEAR(static_cast<double>(few.jitter_ns()), 352050.78, 1.0);
}

TEST(UdpSequence, JitterIgnoresDuplicates) {
  SequenceTracker t;
  t.record(0, 0, 1000);
  t.record(1, 1000, 2000);
  t.record(1, 1000, 900'000);  // a duplicate arriving much later must not count
  EXPECT_EQ(t.jitter_ns(), 0u);
}

}  // namespace
}  // namespace chat::udp
