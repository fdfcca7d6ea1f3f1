// The bench's child processes: waits end when the child does, are bounded, and sleep meanwhile —
// a parent that woke every few milliseconds would keep a CPU busy under the anchor being timed.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "bench/subprocess.h"

namespace chat::bench {
namespace {

using namespace std::chrono_literals;

long voluntary_switches() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw;
}

TEST(Subprocess, WaitReturnsTheExitCodeWhenTheChildExits) {
  auto child = Subprocess::spawn({"sh", "-c", "exit 3"});
  ASSERT_TRUE(child);
  EXPECT_EQ(child->wait(10s), 3);
  EXPECT_FALSE(child->running());
}

TEST(Subprocess, WaitIsBoundedAndStopEndsTheChild) {
  auto child = Subprocess::spawn({"sleep", "30"});
  ASSERT_TRUE(child);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(child->wait(200ms).has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_EQ(child->stop(), 128 + SIGTERM);
}

TEST(Subprocess, WaitSleepsInsteadOfPollingTheChild) {
  auto child = Subprocess::spawn({"sleep", "0.5"});
  ASSERT_TRUE(child);
  const long before = voluntary_switches();
  EXPECT_EQ(child->wait(10s), 0);
  // Polling every 2 ms made ~250 wake-ups in half a second; sleeping on the child's exit, a few.
  EXPECT_LT(voluntary_switches() - before, 20);
}

}  // namespace
}  // namespace chat::bench
