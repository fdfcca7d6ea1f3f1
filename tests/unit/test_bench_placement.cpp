// Both tools of a comparison are started the same way: the same cores, the same priority.
#include <gtest/gtest.h>
#include <sched.h>

#include "bench/placement.h"

namespace chat::bench {
namespace {

using Argv = std::vector<std::string>;

TEST(Placement, PinsAndRaisesAChildOnlyWhenAsked) {
  EXPECT_EQ(pinned({"sockperf", "server"}, -1), (Argv{"sockperf", "server"}));
  EXPECT_EQ(pinned({"sockperf", "server"}, 1), (Argv{"taskset", "-c", "1", "sockperf", "server"}));
  EXPECT_EQ(pinned({"chat", "server"}, 0, 10),
            (Argv{"taskset", "-c", "0", "chrt", "-f", "10", "chat", "server"}));
}

TEST(Placement, SaysWhatItDid) {
  Placement p;
  EXPECT_EQ(p.describe(), "unpinned");
  p.client_cpu = 0;
  p.server_cpu = 1;
  EXPECT_EQ(p.describe(), "client on cpu 0, server on cpu 1");
  p.realtime = 10;
  EXPECT_EQ(p.describe(), "client on cpu 0, server on cpu 1, both SCHED_FIFO 10");
}

TEST(Placement, ScopedPriorityIsGivenBack) {
  const int before = ::sched_getscheduler(0);
  {
    const ScopedAffinity raised(-1, 10);
    const int during = ::sched_getscheduler(0);
    // Unprivileged, the request is refused and nothing changes; either way nothing is left over.
    EXPECT_TRUE(during == SCHED_FIFO || during == before);
  }
  EXPECT_EQ(::sched_getscheduler(0), before);
}

}  // namespace
}  // namespace chat::bench
