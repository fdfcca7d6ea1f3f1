// Reordering, duplication, corruption, seeding and spec changes of the impairment pipe.
#include <gtest/gtest.h>

#include <bit>
#include <vector>

#include "tests/unit/impair_stream.h"

namespace chat::impair {
namespace {

// For each delivered packet, how many packets pushed after it were delivered before it.
std::vector<uint64_t> overtaken_by(const std::vector<Seen>& seen) {
  std::vector<uint64_t> result;
  for (size_t i = 0; i < seen.size(); ++i) {
    uint64_t n = 0;
    for (size_t j = (i > 64 ? i - 64 : 0); j < i; ++j) n += seen[j].id > seen[i].id;
    result.push_back(n);
  }
  return result;
}

TEST(ImpairEffects, ReorderRateAndDisplacementIsTheGap) {
  for (uint32_t gap : {1u, 3u}) {
    Pipe pipe(spec_of("reorder=1%,gap=" + std::to_string(gap)), 31);
    const uint64_t n = 100'000;
    const auto seen = run(pipe, n, 1 * kMs);
    ASSERT_EQ(seen.size(), n);
    const auto overtaken = overtaken_by(seen);
    uint64_t displaced = 0;
    for (size_t i = 0; i + 10 < overtaken.size(); ++i) {
      ASSERT_TRUE(overtaken[i] == 0 || overtaken[i] == gap) << "gap " << gap << " at " << i;
      displaced += overtaken[i] == gap;
    }
    EXPECT_EQ(displaced, pipe.counters().reordered);
    expect_binomial(pipe.counters().reordered, n, 0.01);
    for (const auto& s : seen) ASSERT_GE(s.due, s.arrival);
  }
}

TEST(ImpairEffects, HeldPacketTimesOutWhenNothingFollows) {
  Pipe pipe(spec_of("reorder=100%,delay=5ms"), 32);
  pipe.push(make_packet(0, 0), 0);
  EXPECT_EQ(pipe.next_due(), 15 * kMs);  // 10 ms after it was due
  std::vector<Departure> out;
  pipe.pop_due(15 * kMs - 1, out);
  EXPECT_TRUE(out.empty());
  pipe.pop_due(15 * kMs, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].due, 15 * kMs);
  EXPECT_EQ(pipe.counters().reordered, 0u);  // nothing overtook it
  EXPECT_FALSE(pipe.next_due().has_value());
}

TEST(ImpairEffects, HeldPacketLeavesAtTimeoutIfTheGapFillsTooLate) {
  Spec spec = spec_of("reorder=100%,gap=2");
  Pipe pipe(spec, 33);
  pipe.push(make_packet(0, 0), 0);  // held until 10 ms
  spec.reorder = 0;
  pipe.set_spec(spec);
  pipe.push(make_packet(1, 4 * kMs), 4 * kMs);    // overtakes it
  pipe.push(make_packet(2, 12 * kMs), 12 * kMs);  // too late: it left at 10 ms
  std::vector<Departure> out;
  pipe.pop_due(20 * kMs, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(seen_of(out[0]).id, 1u);
  EXPECT_EQ(seen_of(out[1]).id, 0u);
  EXPECT_EQ(out[1].due, 10 * kMs);
  EXPECT_EQ(seen_of(out[2]).id, 2u);
  EXPECT_EQ(pipe.counters().reordered, 1u);
}

TEST(ImpairEffects, DuplicateRateAndPlacement) {
  Pipe pipe(spec_of("dup=1%,delay=3ms"), 34);
  const uint64_t n = 100'000;
  const auto seen = run(pipe, n, 100 * kUs);
  const auto& c = pipe.counters();
  expect_binomial(c.duplicated, n, 0.01);
  EXPECT_EQ(seen.size(), n + c.duplicated);
  EXPECT_EQ(c.packets_out, n + c.duplicated);
  EXPECT_EQ(c.bytes_out, c.bytes_in + 100 * c.duplicated);
  uint64_t copies = 0;
  for (size_t i = 1; i < seen.size(); ++i) {
    ASSERT_GE(seen[i].id, seen[i - 1].id);  // the copy sits right behind its original
    if (seen[i].id == seen[i - 1].id) {
      ++copies;
      EXPECT_EQ(seen[i].due, seen[i - 1].due);
    }
  }
  EXPECT_EQ(copies, c.duplicated);
}

int differing_bits(const Packet& a, const Packet& b, size_t& first_byte) {
  int bits = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const int d = std::popcount(static_cast<unsigned>(a[i] ^ b[i]));
    if (d && !bits) first_byte = i;
    bits += d;
  }
  return bits;
}

TEST(ImpairEffects, CorruptFlipsOneBitPastTheIpHeader) {
  Pipe pipe(spec_of("corrupt=100%"), 35);
  std::vector<Departure> out;
  struct Case {
    Packet packet;
    size_t first_allowed;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 2000; ++i) {
    Packet v4 = make_packet(i, 0, 60);
    v4[0] = 0x46;  // IHL 6: a 24-byte header with options
    cases.push_back({v4, 24});
    Packet v6(80, 0xAA);
    v6[0] = 0x60;
    cases.push_back({v6, 40});
    cases.push_back({Packet(20, 0x45), 0});    // IPv4 header only: anywhere
    cases.push_back({Packet(30, 0x12), 0});    // not IP: anywhere
    cases.push_back({Packet{0x4f, 1, 2}, 0});  // claims a header longer than itself
  }
  size_t lowest[2] = {SIZE_MAX, SIZE_MAX};
  for (const auto& c : cases) {
    pipe.push(c.packet, 0);
    out.clear();
    pipe.pop_due(0, out);
    ASSERT_EQ(out.size(), 1u);
    size_t where = 0;
    ASSERT_EQ(differing_bits(c.packet, out[0].packet, where), 1);
    ASSERT_GE(where, c.first_allowed);
    if (c.first_allowed == 0)
      lowest[c.packet.size() == 20] = std::min(lowest[c.packet.size() == 20], where);
  }
  EXPECT_EQ(lowest[1], 0u);  // header-only packets can be hit in the header
  EXPECT_EQ(pipe.counters().corrupted, cases.size());
}

TEST(ImpairEffects, EmptyPacketsPassUncorrupted) {
  Pipe pipe(spec_of("corrupt=100%"), 36);
  pipe.push(Packet{}, 0);
  std::vector<Departure> out;
  pipe.pop_due(0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(pipe.counters().corrupted, 0u);
}

std::vector<Departure> everything(uint64_t seed) {
  Pipe pipe(spec_of("loss=5%,delay=10ms,jitter=4ms,dist=paretonormal,reorder=3%,dup=2%,corrupt=2%,"
                    "rate=20mbit,queue=50pkt"),
            seed);
  std::vector<Departure> out;
  for (uint64_t i = 0; i < 5000; ++i) {
    const Nanos t = static_cast<Nanos>(i) * 300 * kUs;
    pipe.push(make_packet(i, t, 100 + i % 1300), t);
    pipe.pop_due(t, out);
  }
  pipe.pop_due(3'600'000 * kMs, out);
  return out;
}

bool same(const std::vector<Departure>& a, const std::vector<Departure>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].due != b[i].due || a[i].packet != b[i].packet) return false;
  return true;
}

TEST(ImpairEffects, SeedReproducesARun) {
  EXPECT_TRUE(same(everything(7), everything(7)));
  EXPECT_FALSE(same(everything(7), everything(8)));
}

TEST(ImpairEffects, SetSpecSeedRestartsTheGenerator) {
  Spec spec = spec_of("loss=30%,seed=9");
  Pipe fresh(spec, 9);
  Pipe switched(Spec{}, 1);
  switched.set_spec(spec);
  EXPECT_EQ(switched.seed(), 9u);
  const auto a = run(fresh, 1000, kMs);
  const auto b = run(switched, 1000, kMs);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, b[i].id);
  // Without a seed in the spec the generator carries on.
  Pipe kept(spec_of("loss=30%"), 9);
  kept.set_spec(spec_of("loss=30%"));
  EXPECT_EQ(kept.seed(), 9u);
}

TEST(ImpairEffects, SetSpecMidStream) {
  Pipe pipe(spec_of("delay=50ms"), 37);
  std::vector<Seen> seen = run(pipe, 100, kMs);  // ends with everything delivered
  pipe.push(make_packet(100, 200 * kMs), 200 * kMs);
  pipe.set_spec(spec_of("delay=10ms"));
  pipe.push(make_packet(101, 201 * kMs), 201 * kMs);
  // The packet already in flight keeps its 50 ms; the next one cannot overtake it.
  std::vector<Departure> out;
  pipe.pop_due(300 * kMs, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].due, 250 * kMs);
  EXPECT_EQ(out[1].due, 250 * kMs);
  EXPECT_EQ(seen_of(out[1]).id, 101u);
  pipe.set_spec(spec_of("loss=100%"));
  seen = run(pipe, 100, kMs, 100, 200, 400 * kMs);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(pipe.counters().lost, 100u);
  pipe.set_spec(Spec{});
  seen = run(pipe, 100, kMs, 100, 300, 600 * kMs);
  EXPECT_EQ(seen.size(), 100u);
  for (const auto& s : seen) EXPECT_EQ(s.due, s.arrival);
}

}  // namespace
}  // namespace chat::impair
