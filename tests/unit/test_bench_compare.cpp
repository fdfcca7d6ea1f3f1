// The compare phase's verdicts that do not need the anchor tools to run.
#include <gtest/gtest.h>

#include "bench/compare.h"

namespace chat::bench {
namespace {

TEST(CompareVerdict, LosingNoMoreThanTheAnchorMeetsTheLossTarget) {
  EXPECT_TRUE(loss_target_met(0.0, 0.0));  // both lost nothing: as good as it gets
  EXPECT_TRUE(loss_target_met(0.0, 0.277));
  EXPECT_TRUE(loss_target_met(1.5, 1.5));
  EXPECT_FALSE(loss_target_met(0.3, 0.0));
  EXPECT_FALSE(loss_target_met(2.0, 1.0));
}

TEST(CompareVerdict, UdpLossIsJudgedAtTheRateIperf3SentNotAtChatsOwnHigherRate) {
  // The reference run's figures: chat unpaced delivered 21.8 Gbit/s losing 1.86 %, iperf3 3.26
  // Gbit/s losing 1.27 %. Paced at iperf3's rate, chat lost nothing.
  RunRecord ours, paced, anchor;
  ours.metrics = Json{{"recv_mbps", 21820.0}, {"loss_pct", 1.859}};
  anchor.metrics = Json{{"recv_mbps", 3259.7}, {"send_mbps", 3301.6}, {"loss_pct", 1.268}};
  paced.metrics = Json{{"recv_mbps", 3301.0}, {"loss_pct", 0.0}};
  const RunRecord q = udp_goodput_verdict(ours, paced, anchor);
  EXPECT_TRUE(q.metrics.at("met").get<bool>());
  EXPECT_DOUBLE_EQ(q.metrics.at("chat_loss_pct").get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(q.metrics.at("chat_unpaced_loss_pct").get<double>(), 1.859);
  EXPECT_NE(q.note.find("at iperf3's rate (3302 Mbit/s sent)"), std::string::npos) << q.note;

  // Losing more than iperf3 at iperf3's own rate is not met, however fast chat is unpaced.
  paced.metrics["loss_pct"] = 2.5;
  EXPECT_FALSE(udp_goodput_verdict(ours, paced, anchor).metrics.at("met").get<bool>());

  // No paced run (iperf3 reported no sending rate): the unpaced losses decide, and the note says
  // that is what was compared.
  const RunRecord unmatched = udp_goodput_verdict(ours, RunRecord{}, anchor);
  EXPECT_FALSE(unmatched.metrics.at("met").get<bool>());
  EXPECT_NE(unmatched.note.find("each unpaced"), std::string::npos) << unmatched.note;
}

TEST(CompareVerdict, TheAnchorsResolutionIsItsAlternateRoundsPooledAgainstEachOther) {
  auto round = [](std::initializer_list<uint64_t> ns) {
    Histogram h;
    for (uint64_t v : ns) h.record(v);
    return h;
  };
  // Even rounds (0, 2) hold 40 and 44 µs trips, odd rounds (1, 3) 50 and 56: pooled, the halves'
  // medians are 40 and 50 µs whatever the per-round medians would say.
  const std::vector<Histogram> rounds = {round({40'000, 40'000, 44'000}), round({50'000, 56'000}),
                                         round({40'000}), round({50'000, 50'000})};
  EXPECT_NEAR(halves_ratio(rounds, 50), 40.0 / 50.0,
              40.0 / 50.0 * 2 * Histogram::kMaxRelativeError);
  EXPECT_NEAR(halves_ratio(rounds, 99), 44.0 / 56.0,
              44.0 / 56.0 * 2 * Histogram::kMaxRelativeError);
  EXPECT_DOUBLE_EQ(halves_ratio({round({40'000})}, 50), 0.0) << "one round has no other half";
  EXPECT_DOUBLE_EQ(halves_ratio({round({40'000}), Histogram{}}, 50), 0.0);
}

TEST(CompareVerdict, SockperfsFullLogGivesOneRoundTripPerRow) {
  // The shape sockperf 3.7 writes: its summary, a header, rows, a closing rule.
  const std::string log =
      "sockperf: ---> percentile 50.000 =   39.293\n"
      "------------------------------\n"
      "packet, txTime(sec), rxTime(sec), latency(usec)\n"
      "0, 2.414882243, 2.414964175, 40.966\n"
      "1, 2.414964326, 2.415045516, 40.595\n"
      "2, 2.415045567, 2.415045000, 0.1\n"  // received before sent: not a round trip
      "3, garbage\n"
      "------------------------------\n";
  Histogram h;
  EXPECT_EQ(read_sockperf_full_log(log, h), 2u);
  ASSERT_EQ(h.count(), 2u);
  EXPECT_NEAR(static_cast<double>(h.max()), 81'932, 1);  // 2.414964175 - 2.414882243 s
  EXPECT_NEAR(static_cast<double>(h.min()), 81'190, 1);
  Histogram none;
  EXPECT_EQ(read_sockperf_full_log("no rows at all\n", none), 0u);
}

}  // namespace
}  // namespace chat::bench
