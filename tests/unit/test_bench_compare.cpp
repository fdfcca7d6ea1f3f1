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

}  // namespace
}  // namespace chat::bench
