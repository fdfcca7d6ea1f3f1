// The event loop's contract, run against every backend: what a handler sees must not depend on
// whether the loop waits with epoll, io_uring, or sleeps in a busy socket's own recvmsg.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "src/net/event_loop.h"
#include "src/net/socket.h"

namespace chat::net {
namespace {

using namespace std::chrono_literals;

class EventLoopTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override {
    if (GetParam() == IoBackend::kUring && !io_uring_available())
      GTEST_SKIP() << "io_uring is not available here (kernel, sysctl or seccomp)";
  }
  // The loop under test, on the backend under test.
  EventLoop make() { return EventLoop(GetParam()); }
};

std::pair<Fd, Fd> stream_pair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  return {Fd(sv[0]), Fd(sv[1])};
}

// Two UDP sockets on loopback, each connected to the other.
std::pair<Fd, Fd> udp_pair() {
  auto a = bind_udp("127.0.0.1", 0);
  auto b = bind_udp("127.0.0.1", 0);
  EXPECT_TRUE(a.ok() && b.ok());
  const SocketAddress at_a = local_address(a->get());
  const SocketAddress at_b = local_address(b->get());
  EXPECT_EQ(::connect(a->get(), at_b.get(), at_b.length), 0);
  EXPECT_EQ(::connect(b->get(), at_a.get(), at_a.length), 0);
  return {std::move(*a), std::move(*b)};
}

ssize_t receive_into(EventLoop& loop, int fd, char* buf, size_t len, int& err) {
  iovec iov{buf, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return loop.receive(fd, msg, err);
}

TEST_P(EventLoopTest, UsesTheBackendAskedFor) {
  EventLoop loop = make();
  EXPECT_EQ(loop.backend(), GetParam());
}

TEST_P(EventLoopTest, TimersFireInOrderAndCancelledOnesNever) {
  EventLoop loop = make();
  std::vector<int> order;
  loop.run_after(20ms, [&] { order.push_back(2); });
  loop.run_after(5ms, [&] { order.push_back(1); });
  const TimerId never = loop.run_after(10ms, [&] { order.push_back(99); });
  loop.cancel(never);
  loop.run_after(30ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST_P(EventLoopTest, RepeatingTimerCanCancelItself) {
  EventLoop loop = make();
  int n = 0;
  TimerId id = 0;
  id = loop.run_every(1ms, [&] {
    if (++n == 3) loop.cancel(id);
  });
  loop.run_after(50ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(n, 3);
}

TEST_P(EventLoopTest, AnEarlierTimerAddedWhileWaitingIsHonouredAndNoneFiresEarly) {
  EventLoop loop = make();
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

TEST_P(EventLoopTest, DeferredWorkRunsInOrderAlsoWhenItRunsANestedLoop) {
  EventLoop loop = make();
  std::vector<int> order;
  loop.defer([&] {
    order.push_back(1);
    EXPECT_EQ(loop.depth(), 1);
    // A nested loop inside deferred work: what it defers runs inside it, the outer batch's rest
    // after it, and what the rest defers in the next pass.
    loop.defer([&] {
      order.push_back(2);
      EXPECT_EQ(loop.depth(), 2);
      loop.stop();
    });
    loop.run();
    order.push_back(3);
  });
  loop.defer([&] {
    order.push_back(4);
    loop.defer([&] {
      order.push_back(5);
      loop.stop();
    });
  });
  loop.run();
  EXPECT_EQ(loop.depth(), 0);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  // The loop is still sound for another run: deferred work left over from nothing, none lost.
  loop.defer([&] {
    order.push_back(6);
    loop.stop();
  });
  loop.run();
  EXPECT_EQ(order.back(), 6);
}

TEST_P(EventLoopTest, DeferredWorkOfAForgottenOwnerNeverRuns) {
  EventLoop loop = make();
  int a = 0, b = 0, c = 0;  // stand-ins for three owners; only their addresses matter
  std::vector<int> ran;
  loop.defer_for(&a, [&] { ran.push_back(1); });
  loop.defer_for(&b, [&] {
    ran.push_back(2);
    loop.forget(&a);  // too late for 1, in time for 3 (later in this same batch)...
    loop.defer_for(&a, [&] { ran.push_back(5); });  // ...and what is deferred after it still runs
  });
  loop.defer_for(&a, [&] { ran.push_back(3); });
  loop.defer([&] {
    ran.push_back(4);
    loop.defer([&] { loop.stop(); });
  });
  loop.defer_for(&c, [&] { ran.push_back(6); });
  loop.forget(&c);  // before the loop ran at all
  loop.run();
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 4, 5}));
}

TEST_P(EventLoopTest, ASpinningLoopStillDeliversReadinessAndTimersInOrder) {
  EventLoop loop = make();
  loop.set_spinning(true);
  auto [a, b] = stream_pair();
  std::vector<std::string> seen;
  loop.add(a.get(), EPOLLIN, [&, fd = a.get()](uint32_t) {
    char c = 0;
    while (::read(fd, &c, 1) == 1) seen.push_back(std::string("read ") + c);
  });
  loop.run_after(2ms, [&, fd = b.get()] {
    seen.push_back("timer");
    ASSERT_EQ(::write(fd, "x", 1), 1);
  });
  loop.run_after(20ms, [&] {
    seen.push_back("stop");
    loop.stop();
  });
  loop.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"timer", "read x", "stop"}));
  loop.remove(a.get());
  // Spinning off: the loop sleeps until its next timer again.
  loop.set_spinning(false);
  loop.run_after(1ms, [&] { loop.stop(); });
  loop.run();
}

TEST_P(EventLoopTest, DeliversReadinessAndAHandlerMayRemoveItself) {
  EventLoop loop = make();
  auto [a, b] = stream_pair();
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

TEST_P(EventLoopTest, UnreadInputIsReportedAgainUntilRead) {
  EventLoop loop = make();
  auto [a, b] = stream_pair();
  int calls = 0;
  loop.add(a.get(), EPOLLIN, [&](uint32_t) {
    if (++calls < 3) return;  // level-triggered: ignored input must be reported again
    char c;
    EXPECT_EQ(::read(a.get(), &c, 1), 1);
    loop.defer([&] { loop.stop(); });
  });
  ASSERT_EQ(::write(b.get(), "x", 1), 1);
  loop.run_after(2s, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(calls, 3);
}

TEST_P(EventLoopTest, WritableThenModifiedToReadable) {
  EventLoop loop = make();
  auto [a, b] = stream_pair();
  int writable = 0;
  int readable = 0;
  loop.add(a.get(), EPOLLOUT, [&](uint32_t events) {
    if (events & EPOLLOUT) {
      ++writable;
      loop.modify(a.get(), EPOLLIN);  // no more writable reports from here on
      ASSERT_EQ(::write(b.get(), "y", 1), 1);
    }
    if (events & EPOLLIN) {
      ++readable;
      char c;
      EXPECT_EQ(::read(a.get(), &c, 1), 1);
      loop.stop();
    }
  });
  loop.run_after(2s, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(writable, 1);
  EXPECT_EQ(readable, 1);
}

TEST_P(EventLoopTest, AHandlerThatClosesAnotherReadyFdStopsItsEvents) {
  EventLoop loop = make();
  auto [a, a_peer] = stream_pair();
  auto [b, b_peer] = stream_pair();
  const int b_number = b.get();
  int a_calls = 0;
  int b_calls = 0;
  auto on_a = [&](uint32_t) {
    ++a_calls;
    char c;
    (void)!::read(a.get(), &c, 1);
    if (b.valid()) {
      loop.remove(b.get());
      b.reset();  // the number may now be reused; its old events must not reach anyone
    }
    loop.defer([&] { loop.stop(); });
  };
  auto on_b = [&](uint32_t) {
    ++b_calls;
    char c;
    (void)!::read(b_number, &c, 1);
    if (b.valid()) {
      loop.remove(b.get());
      b.reset();
    }
    loop.defer([&] { loop.stop(); });
  };
  loop.add(a.get(), EPOLLIN, on_a);
  loop.add(b.get(), EPOLLIN, on_b);
  ASSERT_EQ(::write(a_peer.get(), "x", 1), 1);
  ASSERT_EQ(::write(b_peer.get(), "x", 1), 1);
  loop.run_after(2s, [&] { loop.stop(); });
  loop.run();
  // Whichever ran first closed the other: exactly one handler ran.
  EXPECT_EQ(a_calls + b_calls, 1);
}

TEST_P(EventLoopTest, SignalsArriveThroughTheLoop) {
  EventLoop loop = make();
  int got = 0;
  loop.on_signals([&](int signo) {
    got = signo;
    loop.stop();
  });
  loop.run_after(1ms, [] { ::kill(::getpid(), SIGTERM); });
  loop.run_after(2s, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(got, SIGTERM);
}

TEST_P(EventLoopTest, AStreamReadAheadArrivesWholeAndInOrder) {
  EventLoop loop = make();
  auto [a, b] = stream_pair();
  std::string sent;
  for (int i = 0; i < 20000; ++i) sent.push_back(static_cast<char>('a' + i % 26));
  std::string got;
  bool ended = false;
  loop.add(a.get(), EPOLLIN, [&](uint32_t) {
    // Small reads, and only a few per wake-up: what is left must be reported again.
    for (int i = 0; i < 4; ++i) {
      char buf[700];
      int err = 0;
      const ssize_t n = receive_into(loop, a.get(), buf, sizeof buf, err);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        ended = true;
        loop.stop();
      } else {
        EXPECT_EQ(err, EAGAIN);
      }
      return;
    }
  });
  loop.read_ahead(a.get(), 2048);
  EXPECT_EQ(loop.reads_ahead(a.get()), GetParam() != IoBackend::kEpoll);
  // Written in pieces while the loop runs, then closed: the end of the stream is reported too.
  size_t at = 0;
  loop.run_every(1ms, [&] {
    if (at < sent.size()) {
      const size_t n = std::min<size_t>(3000, sent.size() - at);
      ASSERT_EQ(::write(b.get(), sent.data() + at, n), static_cast<ssize_t>(n));
      at += n;
      if (at == sent.size()) ::shutdown(b.get(), SHUT_WR);
    }
  });
  loop.run_after(5s, [&] { loop.stop(); });
  loop.run();
  EXPECT_TRUE(ended);
  EXPECT_EQ(got, sent);
}

TEST_P(EventLoopTest, ADatagramReadAheadKeepsItsSourceAndBoundaries) {
  EventLoop loop = make();
  auto [a, b] = udp_pair();
  const SocketAddress from_b = local_address(b.get());
  std::vector<std::string> got;
  std::vector<std::string> sources;
  std::vector<bool> truncated;
  loop.add(a.get(), EPOLLIN, [&](uint32_t) {
    for (;;) {
      char buf[8];
      iovec iov{buf, sizeof buf};
      sockaddr_storage name{};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_name = &name;
      msg.msg_namelen = sizeof name;
      int err = 0;
      const ssize_t n = loop.receive(a.get(), msg, err);
      if (n < 0) {
        EXPECT_EQ(err, EAGAIN);
        break;
      }
      got.emplace_back(buf, static_cast<size_t>(n));
      SocketAddress source;
      std::memcpy(&source.storage, &name, sizeof name);
      source.length = msg.msg_namelen;
      sources.push_back(source.to_string());
      truncated.push_back((msg.msg_flags & MSG_TRUNC) != 0);
    }
    if (got.size() == 3) loop.stop();
  });
  loop.read_ahead(a.get(), 1024);
  ASSERT_EQ(::send(b.get(), "one", 3, 0), 3);
  ASSERT_EQ(::send(b.get(), "", 0, 0), 0);
  ASSERT_EQ(::send(b.get(), "longer than eight", 17, 0), 17);
  loop.run_after(2s, [&] { loop.stop(); });
  loop.run();
  ASSERT_EQ(got, (std::vector<std::string>{"one", "", "longer t"}));
  EXPECT_EQ(sources, std::vector<std::string>(3, from_b.to_string()));
  EXPECT_EQ(truncated, (std::vector<bool>{false, false, true}));
}

TEST_P(EventLoopTest, RemovingAReadAheadSocketLetsItCloseAtOnce) {
  EventLoop loop = make();
  auto listener = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  const SocketAddress at = local_address(listener->get());
  Fd client(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_EQ(::connect(client.get(), at.get(), at.length), 0);
  Fd served(::accept4(listener->get(), nullptr, nullptr, SOCK_NONBLOCK));
  ASSERT_TRUE(served.valid());
  loop.add(served.get(), EPOLLIN, [](uint32_t) {});
  loop.read_ahead(served.get(), 512);
  // One turn of the loop puts the receive in flight.
  loop.run_after(1ms, [&] { loop.stop(); });
  loop.run();
  loop.remove(served.get());
  served.reset();
  // The client must see the end of the stream without the loop running again: nothing the loop
  // had in flight may keep the socket open.
  pollfd p{client.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char c;
  EXPECT_EQ(::read(client.get(), &c, 1), 0);
}

// Sends back whatever arrives on `fd` until its peer shuts the stream down or sends an empty
// datagram, or nothing arrives for 10 s.
std::thread echo_until_done(int fd) {
  return std::thread([fd] {
    char buf[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) != 1) return;
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) continue;
      if (n <= 0 || ::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return;
    }
  });
}

// Request `round` of a ping-pong: its length and bytes differ from round to round.
std::string request(int round) {
  std::string r(1 + static_cast<size_t>(round % 300), '\0');
  for (size_t i = 0; i < r.size(); ++i) r[i] = static_cast<char>('a' + (round + i) % 26);
  return r;
}

bool nonblocking(int fd) {
  return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

// Drives `rounds` request-and-answer rounds from `fd` through `loop`, the way `chat bench rtt`
// drives its socket: each answer read in pieces, at most three reads per wake-up, through `read`
// (which appends to `got` and returns what EventLoop::receive returned), before the next request
// goes out. Then removes `fd`, and returns whether it was ever seen in blocking mode: the blocking
// backend reads the answers in the socket's own wait, clearing O_NONBLOCK for that and restoring it
// on removal, and what the reads return must not notice.
bool ping_pong(EventLoop& loop, int fd, size_t read_ahead_bytes, int rounds,
               const std::function<ssize_t(std::string& got, int& err)>& read) {
  int round = 0;
  std::string want, got;
  bool lent = false;
  auto send_next = [&] {
    want = request(round);
    ASSERT_EQ(::send(fd, want.data(), want.size(), MSG_DONTWAIT),
              static_cast<ssize_t>(want.size()));
  };
  loop.add(fd, EPOLLIN, [&](uint32_t) {
    for (int i = 0; i < 3; ++i) {
      int err = 0;
      const ssize_t n = read(got, err);
      if (n < 0) {
        EXPECT_EQ(err, EAGAIN);
        return;
      }
      if (n == 0) {
        ADD_FAILURE() << "the stream ended early";
        return loop.stop();
      }
      if (got.size() < want.size()) continue;
      ASSERT_EQ(got, want) << "round " << round;
      got.clear();
      lent = lent || !nonblocking(fd);
      if (++round == rounds) return loop.stop();
      send_next();
    }
  });
  loop.read_ahead(fd, read_ahead_bytes);
  bool gave_up = false;
  loop.run_after(20s, [&] {
    gave_up = true;
    loop.stop();
  });
  send_next();
  loop.run();
  EXPECT_FALSE(gave_up);
  EXPECT_EQ(round, rounds);
  loop.remove(fd);
  EXPECT_TRUE(nonblocking(fd));
  return lent;
}

// ping_pong's reader for a stream: 37 bytes at most per read, so an answer takes several.
std::function<ssize_t(std::string&, int&)> stream_reader(EventLoop& loop, int fd) {
  return [&loop, fd](std::string& got, int& err) {
    char buf[37];
    const ssize_t n = receive_into(loop, fd, buf, sizeof buf, err);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    return n;
  };
}

TEST_P(EventLoopTest, APingPongThroughAReadAheadStreamKeepsEveryByteInOrder) {
  auto [a, b] = stream_pair();
  std::thread echo = echo_until_done(b.get());
  EventLoop loop = make();
  const bool lent = ping_pong(loop, a.get(), 4096, 2000, stream_reader(loop, a.get()));
  EXPECT_EQ(lent, GetParam() == IoBackend::kBlocking);
  ::shutdown(a.get(), SHUT_RDWR);
  echo.join();
}

// Spinning, every wait is a zero wait; the blocking backend then looks at the busy socket with a
// nonblocking read instead of epoll_wait, and never needs to lend it blocking mode.
TEST_P(EventLoopTest, ASpinningPingPongThroughAReadAheadStreamKeepsEveryByteInOrder) {
  auto [a, b] = stream_pair();
  std::thread echo = echo_until_done(b.get());
  EventLoop loop = make();
  loop.set_spinning(true);
  const bool lent = ping_pong(loop, a.get(), 4096, 2000, stream_reader(loop, a.get()));
  EXPECT_FALSE(lent);
  ::shutdown(a.get(), SHUT_RDWR);
  echo.join();
}

TEST_P(EventLoopTest, APingPongThroughAReadAheadDatagramSocketKeepsSourcesAndBoundaries) {
  auto [a, b] = udp_pair();
  const SocketAddress echo_at = local_address(b.get());
  std::thread echo = echo_until_done(b.get());
  EventLoop loop = make();
  const bool lent = ping_pong(loop, a.get(), 2048, 2000, [&](std::string& got, int& err) {
    char buf[2048];
    sockaddr_storage from{};
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = loop.receive(a.get(), msg, err);
    if (n <= 0) return n;
    // One datagram is one whole answer, from the echo's address.
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(msg.msg_namelen, echo_at.length);
    EXPECT_EQ(std::memcmp(&from, echo_at.get(), echo_at.length), 0);
    got.append(buf, static_cast<size_t>(n));
    return n;
  });
  EXPECT_EQ(lent, GetParam() == IoBackend::kBlocking);
  ::send(a.get(), "", 0, 0);  // the echo's cue to end
  echo.join();
}

// While one socket never goes quiet, another fd must still be served: the blocking backend
// returns to epoll_wait after a bounded number of waits in the busy socket.
TEST_P(EventLoopTest, AnotherFdIsServedWhileOneSocketNeverGoesQuiet) {
  auto [a, b] = udp_pair();
  std::thread echo = echo_until_done(b.get());
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);
  Fd pipe_out(pipe_fds[0]), pipe_in(pipe_fds[1]);
  EventLoop loop = make();
  int rounds = 0;
  int rounds_when_served = -1;
  const char ping = 'p';
  loop.add(a.get(), EPOLLIN, [&](uint32_t) {
    char buf[64];
    int err = 0;
    while (receive_into(loop, a.get(), buf, sizeof buf, err) > 0) {
      if (++rounds == 100) {
        ASSERT_EQ(::write(pipe_in.get(), "x", 1), 1);
      }
      ASSERT_EQ(::send(a.get(), &ping, 1, MSG_DONTWAIT), 1);  // the ping-pong never pauses
    }
  });
  loop.read_ahead(a.get(), 64);
  loop.add(pipe_out.get(), EPOLLIN, [&](uint32_t) {
    rounds_when_served = rounds;
    loop.stop();
  });
  bool gave_up = false;
  loop.run_after(20s, [&] {
    gave_up = true;
    loop.stop();
  });
  // Eight in flight: the socket is hardly ever empty, so a wait in it hardly ever times out, and
  // only the bound on waits in a row gets the pipe served.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(::send(a.get(), &ping, 1, MSG_DONTWAIT), 1);
  loop.run();
  EXPECT_FALSE(gave_up);
  EXPECT_GE(rounds_when_served, 100);
  // Served within a bounded number of waits, each of which reads at most the eight in flight.
  EXPECT_LE(rounds_when_served, 100 + 1000);
  loop.remove(a.get());
  ::send(a.get(), "", 0, 0);
  echo.join();
}

INSTANTIATE_TEST_SUITE_P(Backends, EventLoopTest,
                         ::testing::Values(IoBackend::kEpoll, IoBackend::kUring,
                                           IoBackend::kBlocking),
                         [](const ::testing::TestParamInfo<IoBackend>& info) {
                           return std::string(io_backend_name(info.param));
                         });

TEST(IoBackendName, ParsesWhatItPrints) {
  for (IoBackend b : {IoBackend::kEpoll, IoBackend::kUring, IoBackend::kBlocking}) {
    IoBackend parsed{};
    ASSERT_TRUE(parse_io_backend(io_backend_name(b), parsed));
    EXPECT_EQ(parsed, b);
  }
  IoBackend unused{};
  EXPECT_FALSE(parse_io_backend("kqueue", unused));
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

TEST(Socket, AddressHashCoversEveryMeaningfulByte) {
  // The hash reads eight bytes at a time: a difference in the last, partial word (an IPv6
  // address's scope id, the tail of a sockaddr_in) must still change it.
  auto v4 = resolve("127.0.0.1", 10000, SOCK_DGRAM, false);
  auto v6 = resolve("::1", 10000, SOCK_DGRAM, false);
  ASSERT_TRUE(v4.ok() && v6.ok());
  const SocketAddressHash hash;
  for (const SocketAddress& base : {v4->front(), v6->front()}) {
    SocketAddress same = base;
    EXPECT_EQ(hash(same), hash(base));
    for (socklen_t i = 2; i < base.length; ++i) {  // past the family
      SocketAddress other = base;
      reinterpret_cast<unsigned char*>(&other.storage)[i] ^= 0x01;
      EXPECT_NE(hash(other), hash(base)) << "byte " << i << " of " << base.length;
    }
    // Bytes past the length are not part of the address.
    SocketAddress padded = base;
    reinterpret_cast<unsigned char*>(&padded.storage)[base.length] ^= 0xFF;
    EXPECT_EQ(hash(padded), hash(base));
  }
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
