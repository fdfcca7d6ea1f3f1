// The bench's payload layouts and the stream sink's derived metrics from synthetic sequence
// streams (the sink feeds the UDP room's SequenceTracker with a 65,536-wide window).
#include <gtest/gtest.h>

#include "bench/common.h"
#include "bench/fanout.h"
#include "transports/udp/sequence_tracker.h"

namespace chat::bench {
namespace {

TEST(BenchPayload, TextPayloadRoundTripsInsideRelayedLines) {
  const std::string p = make_text_payload(42, 7, 0x123456789abcULL, 64);
  EXPECT_EQ(p.size(), 64u);
  for (const std::string& line : {p, "<user3> " + p, "[b42] " + p}) {
    auto t = parse_text_payload(line);
    ASSERT_TRUE(t.has_value()) << line;
    EXPECT_EQ(t->sender, 42u);
    EXPECT_EQ(t->seq, 7u);
    EXPECT_EQ(t->ns, 0x123456789abcULL);
  }
  EXPECT_FALSE(parse_text_payload("*** b3 joined (4 here)").has_value());
  EXPECT_FALSE(parse_text_payload("~Fzz").has_value());
}

TEST(BenchFanout, WithoutMessagesGivenEachPointCarriesAboutThreeMillionDeliveries) {
  FanoutOptions o;
  EXPECT_EQ(messages_per_client(o, 100), 303u);  // 100 x 99 x 303 = 2,999,700
  EXPECT_EQ(messages_per_client(o, 1000), 3u);
  EXPECT_EQ(messages_per_client(o, 10000), 1u);  // never none, though a round is 10^8
  EXPECT_EQ(messages_per_client(o, 10), 1000u);  // capped: 90,000 deliveries
  o.broadcast = true;                            // one sender: a round is n-1 deliveries
  EXPECT_EQ(messages_per_client(o, 10000), 300u);
  o.messages = 7;
  EXPECT_EQ(messages_per_client(o, 100), 7u);
}

TEST(BenchPayload, HostPortAndLoopback) {
  auto hp = parse_host_port("127.0.0.1:10001");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->port, 10001);
  EXPECT_EQ(parse_host_port("[::1]:5")->host, "::1");
  EXPECT_FALSE(parse_host_port("nohost").ok());
  EXPECT_FALSE(parse_host_port("h:99999").ok());
  EXPECT_TRUE(is_loopback_host("127.0.0.2"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_EQ(parse_size_list("16,64,,x,256"), (std::vector<size_t>{16, 64, 256}));
}

// A synthetic stream: 10,000 datagrams with every 100th lost, every 250th duplicated and pairs
// swapped every 333; loss, duplicates and reordering come out exactly.
TEST(BenchPayload, SinkCountersFromSyntheticStream) {
  udp::SequenceTracker t(1 << 16);
  std::vector<uint32_t> order;
  for (uint32_t s = 0; s < 10'000; ++s) {
    if (s % 100 == 50) continue;  // lost: 100 of them
    order.push_back(s);
    if (s % 250 == 1) order.push_back(s);  // duplicated: 40
  }
  uint64_t swaps = 0;
  for (size_t i = 333; i + 1 < order.size(); i += 333) {
    if (order[i] == order[i + 1]) continue;
    std::swap(order[i], order[i + 1]);
    ++swaps;
  }
  uint64_t now = 1'000'000;
  for (uint32_t s : order) {
    now += 10'000;
    t.record(s, now - 15'000, now);
  }
  EXPECT_EQ(t.lost(), 100u);
  EXPECT_EQ(t.duplicates() + t.stale(), 40u);
  EXPECT_EQ(t.reordered(), swaps);
  EXPECT_EQ(t.received(), 9'900u);
}

// RFC 3550: constant transit gives zero jitter; transit alternating by D converges towards D.
TEST(BenchPayload, JitterFollowsRfc3550) {
  udp::SequenceTracker steady(1 << 16);
  uint64_t now = 0;
  for (uint32_t s = 0; s < 1000; ++s) steady.record(s, now, now + 20'000), now += 1'000'000;
  EXPECT_EQ(steady.jitter_ns(), 0u);
  udp::SequenceTracker wobbly(1 << 16);
  now = 0;
  for (uint32_t s = 0; s < 5000; ++s)
    wobbly.record(s, now, now + (s % 2 ? 30'000 : 10'000)), now += 1'000'000;
  EXPECT_NEAR(static_cast<double>(wobbly.jitter_ns()), 20'000.0, 200.0);
}

}  // namespace
}  // namespace chat::bench
