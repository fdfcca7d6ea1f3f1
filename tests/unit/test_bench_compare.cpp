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

TEST(CompareVerdict, TheAnchorsOwnSpreadIsItsLargestRoundOverItsSmallest) {
  auto round = [](double p50) {
    RunRecord r;
    r.metrics = Json{{"p50_us", p50}};
    return r;
  };
  EXPECT_DOUBLE_EQ(rounds_max_over_min({round(50), round(60), round(55)}, "p50_us"), 1.2);
  EXPECT_DOUBLE_EQ(rounds_max_over_min({round(50), RunRecord{}}, "p50_us"), 0.0)
      << "one round that has the metric is no spread";
  EXPECT_DOUBLE_EQ(rounds_max_over_min({round(50), round(50)}, "p99_us"), 0.0);
}

}  // namespace
}  // namespace chat::bench
