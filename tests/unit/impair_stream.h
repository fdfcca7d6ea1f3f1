#pragma once
// Synthetic packet streams for the impairment pipe's tests: IPv4-looking packets that carry their
// sequence number and arrival time, fed to a pipe on a synthetic clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

#include "src/impair/pipe.h"

namespace chat::impair {

inline constexpr Nanos kMs = 1'000'000;
constexpr Nanos kUs = 1'000;
inline constexpr size_t kIdOffset = 20, kArrivalOffset = 28;

inline Spec spec_of(std::string_view text) {
  auto r = parse_spec(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Spec{};
}

// An IPv4-looking packet (IHL 5) carrying its sequence number and arrival time past the header.
inline Packet make_packet(uint64_t id, Nanos arrival, size_t size = 100) {
  Packet p(std::max<size_t>(size, 36), 0);
  p[0] = 0x45;
  std::memcpy(p.data() + kIdOffset, &id, 8);
  std::memcpy(p.data() + kArrivalOffset, &arrival, 8);
  return p;
}

struct Seen {
  uint64_t id;
  Nanos arrival;
  Nanos due;
  size_t bytes;
};

inline Seen seen_of(const Departure& d) {
  Seen s{0, 0, d.due, d.packet.size()};
  std::memcpy(&s.id, d.packet.data() + kIdOffset, 8);
  std::memcpy(&s.arrival, d.packet.data() + kArrivalOffset, 8);
  return s;
}

// Feeds `count` packets `spacing` apart, popping what is due before and after each push (as the
// forwarder does), then drains the pipe.
inline std::vector<Seen> run(Pipe& pipe, uint64_t count, Nanos spacing, size_t size = 100,
                             uint64_t first_id = 0, Nanos start = 0) {
  std::vector<Departure> out;
  std::vector<Seen> seen;
  const auto collect = [&](Nanos now) {
    out.clear();
    pipe.pop_due(now, out);
    for (const auto& d : out) {
      EXPECT_LE(d.due, now);
      seen.push_back(seen_of(d));
    }
  };
  Nanos t = start;
  for (uint64_t i = 0; i < count; ++i) {
    t = start + static_cast<Nanos>(i) * spacing;
    collect(t);
    pipe.push(make_packet(first_id + i, t, size), t);
    collect(t);
  }
  collect(t + 3'600'000 * kMs);
  EXPECT_FALSE(pipe.next_due().has_value());
  EXPECT_EQ(pipe.counters().queued_packets, 0u);
  EXPECT_EQ(pipe.counters().queued_bytes, 0u);
  return seen;
}

inline bool in_order(const std::vector<Seen>& seen) {
  return std::is_sorted(seen.begin(), seen.end(),
                        [](const Seen& a, const Seen& b) { return a.id < b.id; });
}

// Within k standard deviations of a binomial(n, p) count.
inline void expect_binomial(uint64_t observed, uint64_t n, double p, double k = 5) {
  const double mean = static_cast<double>(n) * p;
  const double sigma = std::sqrt(static_cast<double>(n) * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(observed), mean, k * sigma) << "n=" << n << " p=" << p;
}

}  // namespace chat::impair
