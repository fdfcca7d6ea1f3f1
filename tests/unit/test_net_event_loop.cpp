#include <gtest/gtest.h>
#include <sys/socket.h>

#include "src/net/event_loop.h"
#include "src/net/socket.h"

namespace chat::net {
namespace {

using namespace std::chrono_literals;

TEST(EventLoop, TimersFireInOrderAndCancelledOnesNever) {
  EventLoop loop;
  std::vector<int> order;
  loop.run_after(20ms, [&] { order.push_back(2); });
  loop.run_after(5ms, [&] { order.push_back(1); });
  const TimerId never = loop.run_after(10ms, [&] { order.push_back(99); });
  loop.cancel(never);
  loop.run_after(30ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(EventLoop, RepeatingTimerCanCancelItself) {
  EventLoop loop;
  int n = 0;
  TimerId id = 0;
  id = loop.run_every(1ms, [&] {
    if (++n == 3) loop.cancel(id);
  });
  loop.run_after(50ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(n, 3);
}

TEST(EventLoop, AnEarlierTimerAddedWhileWaitingIsHonouredAndNoneFiresEarly) {
  EventLoop loop;
  std::vector<int> order;
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration fired_after{};
  // The loop sleeps towards the 2 s timer; one added later for sooner must wake it first. A loop
  // that overslept would run both in one batch.
  loop.run_after(2s, [&] { order.push_back(2); });
  loop.run_after(5ms, [&] {
    loop.run_after(3ms, [&] {
      fired_after = std::chrono::steady_clock::now() - start;
      order.push_back(1);
      loop.stop();
    });
  });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1}));
  EXPECT_GE(fired_after, 8ms);
}

TEST(EventLoop, DeliversReadinessAndAHandlerMayRemoveItself) {
  EventLoop loop;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  Fd a(sv[0]), b(sv[1]);
  int calls = 0;
  loop.add(a.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    loop.remove(a.get());
    loop.defer([&] { loop.stop(); });
  });
  ASSERT_EQ(::write(b.get(), "x", 1), 1);
  loop.run_after(2s, [&] { loop.stop(); });  // bound
  loop.run();
  EXPECT_EQ(calls, 1);
}

TEST(Socket, ResolvesLiteralsOfBothFamiliesAndFormatsThem) {
  auto v4 = resolve("127.0.0.1", 10000, SOCK_STREAM, false);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->front().to_string(), "127.0.0.1:10000");
  auto v6 = resolve("::1", 10001, SOCK_DGRAM, false);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->front().to_string(), "[::1]:10001");
  auto bad = resolve("no-such-host.invalid", 1, SOCK_STREAM, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("no-such-host.invalid"), std::string::npos);
}

TEST(Socket, ListeningOnPortZeroReadsTheEphemeralPortBack) {
  auto fd = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  EXPECT_NE(local_address(fd->get()).port(), 0);
  auto udp = bind_udp("", 0);
  ASSERT_TRUE(udp.ok()) << udp.error().message;
  EXPECT_NE(local_address(udp->get()).port(), 0);
}

}  // namespace
}  // namespace chat::net
