// The TCP hub under more than its members can read: healthy readers are waited for (the hub stops
// reading its senders) instead of being cut, a member that never reads is cut after the grace,
// the drop policy tells a slow member what it missed, and members that stopped reading still get
// the goodbye when the server is stopped.
//
// The burst's scale comes from CHAT_BURST_READERS, CHAT_BURST_SENDERS and CHAT_BURST_BYTES (per
// sender), and CHAT_HUB_BINARY runs it against another build: scripts/hub_burst.sh uses both.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "src/net/fd.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_peer.h"

namespace chat::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string chat_binary() {
  const char* other = std::getenv("CHAT_HUB_BINARY");
  return other && *other ? other : CHAT_BINARY;
}

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

// Each burst line is this long, as the measurement that found the problem sent them.
constexpr size_t kLineBytes = 2330;
constexpr const char* kMarker = "burst ";

// A plain-text member. It joins by asking /who (answered to it alone, so nobody else's count
// moves), and a thread reads for it when asked to, counting burst lines.
class Member {
 public:
  explicit Member(uint16_t port, int receive_buffer = 0)
      : fd_(connect_loopback(port, SOCK_STREAM, receive_buffer)) {
    if (fd_.valid()) send_all("/who\n", Clock::now() + std::chrono::seconds(5));
  }
  ~Member() { stop(); }

  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }

  // Reads on a thread until stop(), the peer's EOF or a reset.
  void start_reading() {
    stopping_ = false;
    if (!reader_.joinable()) reader_ = std::thread([this] { read_loop(); });
  }
  void stop() {
    stopping_ = true;
    if (reader_.joinable()) reader_.join();
  }
  // Reads on this thread, at most until the deadline: what the stopped reader never took.
  void read_rest(Clock::time_point deadline) {
    stopping_ = false;
    while (!ended_ && Clock::now() < deadline) read_once(100);
  }

  bool joined() const { return joined_; }
  uint64_t lines() const { return lines_; }
  bool ended() const { return ended_; }  // the hub closed or reset the connection
  bool reset() const { return reset_; }
  std::string find(const std::string& needle) const {
    std::lock_guard lock(mu_);
    for (const auto& l : notices_)
      if (l.find(needle) != std::string::npos) return l;
    return {};
  }
  // The sum of N over every "you missed N messages" notice so far.
  uint64_t missed() const {
    static const std::regex missed_re(R"(you missed (\d+) messages?: you were reading too slowly)");
    std::lock_guard lock(mu_);
    uint64_t sum = 0;
    std::smatch m;
    for (const auto& l : notices_)
      if (std::regex_search(l, m, missed_re)) sum += std::stoull(m[1]);
    return sum;
  }

  // Blocking send of everything, bounded by the deadline.
  bool send_all(std::string_view bytes, Clock::time_point deadline) {
    while (!bytes.empty() && Clock::now() < deadline) {
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) bytes.remove_prefix(static_cast<size_t>(n));
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    }
    return bytes.empty();
  }

 private:
  void read_loop() {
    while (!stopping_ && !ended_) read_once(50);
  }

  void read_once(int timeout_ms) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return;
    char chunk[64 * 1024];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      reset_ = n < 0 && errno == ECONNRESET;
      ended_ = true;
      return;
    }
    if (n < 0) return;
    partial_.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string_view line(partial_.data() + start, nl - start);
      if (line.find(kMarker) != std::string_view::npos) {
        ++lines_;
      } else {
        if (line.find("here:") != std::string_view::npos) joined_ = true;
        std::lock_guard lock(mu_);
        if (notices_.size() < 1000) notices_.emplace_back(line);
      }
    }
    partial_.erase(0, start);
  }

  net::Fd fd_;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> joined_{false};
  std::atomic<bool> ended_{false};
  std::atomic<bool> reset_{false};
  std::atomic<uint64_t> lines_{0};
  std::string partial_;
  mutable std::mutex mu_;
  std::vector<std::string> notices_;
};

using Members = std::vector<std::unique_ptr<Member>>;

void add_members(Members& out, size_t n, uint16_t port, int receive_buffer = 0) {
  for (size_t i = 0; i < n; ++i) {
    out.push_back(std::make_unique<Member>(port, receive_buffer));
    ASSERT_TRUE(out.back()->valid());
  }
}

// Waits until every member's /who was answered, reading for them meanwhile.
bool all_joined(Members& members, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (auto& m : members) {
    m->start_reading();
    while (!m->joined() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    if (!m->joined()) return false;
  }
  return true;
}

std::string burst_payload(size_t sender, size_t lines) {
  std::string out;
  out.reserve(lines * kLineBytes);
  for (size_t j = 0; j < lines; ++j) {
    std::string line =
        std::string(kMarker) + "s" + std::to_string(sender) + " m" + std::to_string(j) + " ";
    line.resize(kLineBytes - 1, 'x');
    out += line;
    out += '\n';
  }
  return out;
}

// Every sender pushes its whole payload at once, each from its own thread; true if all of it
// left within the deadline.
bool send_bursts(Members& senders, size_t lines, Clock::time_point deadline) {
  std::vector<std::thread> threads;
  std::atomic<size_t> done{0};
  for (size_t i = 0; i < senders.size(); ++i) {
    threads.emplace_back([&, i] {
      const std::string payload = burst_payload(i, lines);
      if (senders[i]->send_all(payload, deadline)) ++done;
    });
  }
  for (auto& t : threads) t.join();
  return done == senders.size();
}

uint64_t wait_for_lines(const Members& readers, uint64_t each, Clock::time_point deadline) {
  auto total = [&] {
    uint64_t sum = 0;
    for (const auto& r : readers) sum += std::min<uint64_t>(r->lines(), each);
    return sum;
  };
  while (total() < each * readers.size() && Clock::now() < deadline) {
    bool all_ended = true;
    for (const auto& r : readers) all_ended = all_ended && (r->ended() || r->lines() >= each);
    if (all_ended) break;
    std::this_thread::sleep_for(20ms);
  }
  return total();
}

ServerProcess hub(std::vector<std::string> args) {
  std::vector<std::string> all{"--mode", "hub"};
  all.insert(all.end(), args.begin(), args.end());
  auto s = start_server(chat_binary(), std::move(all));
  if (!s) ADD_FAILURE() << "server did not announce its port";
  return s ? std::move(*s) : ServerProcess{};
}

TEST(HubBackpressure, HealthyReadersAreNeverCutInAnUnpacedBurst) {
  const size_t n_readers = env_size("CHAT_BURST_READERS", 6);
  const size_t n_senders = env_size("CHAT_BURST_SENDERS", 6);
  const size_t lines = std::max<size_t>(1, env_size("CHAT_BURST_BYTES", 2 << 20) / kLineBytes);
  auto s = hub({});
  ASSERT_NE(s.port, 0);
  Members readers;
  Members senders;
  add_members(readers, n_readers, s.port);
  add_members(senders, n_senders, s.port);
  ASSERT_TRUE(all_joined(readers, 10s));
  ASSERT_TRUE(all_joined(senders, 10s));  // senders read too: what the others send reaches them

  const auto start = Clock::now();
  const auto deadline = start + 60s;
  const bool sent = send_bursts(senders, lines, deadline);
  const uint64_t each = n_senders * lines;
  const uint64_t delivered = wait_for_lines(readers, each, deadline);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  size_t cut = 0;
  for (const auto& r : readers) cut += r->ended() ? 1 : 0;
  for (auto& m : readers) m->stop();
  for (auto& m : senders) m->stop();
  std::printf(
      "burst: %zu readers x %zu senders x %zu lines of %zu bytes: %llu of %llu deliveries, "
      "%zu of %zu readers cut, %.2f s\n",
      n_readers, n_senders, lines, kLineBytes, static_cast<unsigned long long>(delivered),
      static_cast<unsigned long long>(each * n_readers), cut, n_readers, seconds);
  EXPECT_TRUE(sent) << "the senders could not push their bursts within the deadline";
  EXPECT_EQ(cut, 0u) << "healthy readers were cut";
  EXPECT_EQ(delivered, each * n_readers);
}

TEST(HubBackpressure, NeverReadingMemberIsCutAfterTheGraceAndTheOthersGetEverything) {
  // Small buffers and mark, so the one that never reads is past the mark after a few hundred KB.
  auto s = hub({"--slow-reader-ms", "500", "--high-water", "262144", "--socket-buffer", "65536"});
  ASSERT_NE(s.port, 0);
  Members readers;
  Members senders;
  Members dead;
  add_members(readers, 3, s.port);
  add_members(senders, 2, s.port);
  add_members(dead, 1, s.port, 16 * 1024);
  ASSERT_TRUE(all_joined(readers, 10s));
  ASSERT_TRUE(all_joined(senders, 10s));
  ASSERT_TRUE(all_joined(dead, 10s));
  dead[0]->stop();  // from here on it reads nothing

  const size_t lines = 400;  // ~1 MB per sender, four times what the dead member can hold
  const auto deadline = Clock::now() + 60s;
  EXPECT_TRUE(send_bursts(senders, lines, deadline));
  const uint64_t each = senders.size() * lines;
  EXPECT_EQ(wait_for_lines(readers, each, deadline), each * readers.size());
  for (const auto& r : readers) EXPECT_FALSE(r->ended());
  EXPECT_TRUE(s.process->wait_for_err_line("still queued after 500 ms", 10s));
  // What it had in its buffers it may still read; then the stream ends.
  dead[0]->read_rest(Clock::now() + 10s);
  EXPECT_TRUE(dead[0]->ended());
  EXPECT_LT(dead[0]->lines(), each);
}

TEST(HubBackpressure, DropPolicyTellsTheSlowMemberHowManyItMissed) {
  auto s = hub({"--overflow", "drop", "--high-water", "65536", "--socket-buffer", "65536"});
  ASSERT_NE(s.port, 0);
  Members sender;
  Members slow;
  add_members(sender, 1, s.port);
  add_members(slow, 1, s.port, 16 * 1024);
  ASSERT_TRUE(all_joined(sender, 10s));
  ASSERT_TRUE(all_joined(slow, 10s));
  slow[0]->stop();

  const size_t lines = 600;  // ~1.4 MB: far more than the slow member's buffers and queue
  ASSERT_TRUE(send_bursts(sender, lines, Clock::now() + 30s));
  // The log says so while it happens, with a count...
  const auto logged = s.process->wait_for_err_line("reads too slowly: dropped", 10s);
  ASSERT_TRUE(logged);
  EXPECT_TRUE(std::regex_search(*logged, std::regex(R"(dropped \d+ message)"))) << *logged;

  // ...and the member learns how many it missed, where it missed them (once its queue drained,
  // which may be more than once): with what it got, that accounts for every line sent.
  slow[0]->start_reading();
  const auto deadline = Clock::now() + 10s;
  while (slow[0]->lines() + slow[0]->missed() < lines && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  slow[0]->stop();
  std::printf("drop: the slow member got %llu lines and was told it missed %llu of %zu\n",
              static_cast<unsigned long long>(slow[0]->lines()),
              static_cast<unsigned long long>(slow[0]->missed()), lines);
  EXPECT_GT(slow[0]->missed(), 0u);
  EXPECT_EQ(slow[0]->lines() + slow[0]->missed(), lines);
  EXPECT_TRUE(s.process->wait_for_err_line("telling it that it missed", 5s));
}

TEST(HubBackpressure, MembersThatStoppedReadingGetTheGoodbyeAtShutdown) {
  // A large send buffer at the hub and small receive buffers at the members: what a member has
  // not read waits in the hub's kernel, where a reset would throw it away, goodbye and all.
  auto s = hub({"--socket-buffer", "262144"});
  ASSERT_NE(s.port, 0);
  Members members;
  Members talker;
  Members witness;
  add_members(members, 20, s.port, 16 * 1024);
  add_members(talker, 1, s.port);
  add_members(witness, 1, s.port);
  ASSERT_TRUE(all_joined(members, 10s));
  ASSERT_TRUE(all_joined(talker, 10s));
  ASSERT_TRUE(all_joined(witness, 10s));
  for (auto& m : members) m->stop();  // from here on they read nothing

  const size_t lines = 28;  // ~64 KB to each: four times what a member's buffer holds
  ASSERT_TRUE(send_bursts(talker, lines, Clock::now() + 10s));
  // Once the witness has them all, the hub has relayed them to everyone.
  ASSERT_EQ(wait_for_lines(witness, lines, Clock::now() + 10s), lines);

  s.process->signal(SIGTERM);
  ASSERT_TRUE(s.process->wait_for_err_line("shutting down", 5s));
  // They still type (their screen is stuck, not their keyboard): input the hub must not leave
  // unread when it closes, or the close becomes a reset.
  for (auto& m : members) EXPECT_TRUE(m->send_all("still typing\n", Clock::now() + 1s));
  const auto code = s.process->wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "the server did not exit";
  EXPECT_EQ(*code, 0);

  size_t goodbyes = 0;
  size_t resets = 0;
  for (auto& m : members) {
    m->read_rest(Clock::now() + 5s);
    goodbyes += m->find("shutting down").empty() ? 0 : 1;
    resets += m->reset() ? 1 : 0;
    EXPECT_EQ(m->lines(), lines);
  }
  std::printf("shutdown: %zu of %zu members that stopped reading got the goodbye, %zu were reset\n",
              goodbyes, members.size(), resets);
  EXPECT_EQ(resets, 0u);
  EXPECT_EQ(goodbyes, members.size());
}

TEST(HubBackpressure, GoodbyeDoesNotWaitBehindAQueueTheMemberWillNeverRead) {
  // The grace is long, so nobody is cut for being slow before the server stops; the hub's send
  // buffers are fixed and small, so most of what a member does not read waits in the hub's queue.
  auto s = hub({"--slow-reader-ms", "60000", "--socket-buffer", "65536"});
  ASSERT_NE(s.port, 0);
  Members members;
  Members talker;
  Members witness;
  add_members(members, 5, s.port, 16 * 1024);
  add_members(talker, 1, s.port);
  add_members(witness, 1, s.port);
  ASSERT_TRUE(all_joined(members, 10s));
  ASSERT_TRUE(all_joined(talker, 10s));
  ASSERT_TRUE(all_joined(witness, 10s));
  for (auto& m : members) m->stop();

  // ~2 MB each: far more than their buffers and the hub's kernel take, below the high-water mark.
  const size_t lines = 900;
  ASSERT_TRUE(send_bursts(talker, lines, Clock::now() + 20s));
  ASSERT_EQ(wait_for_lines(witness, lines, Clock::now() + 20s), lines);

  s.process->signal(SIGTERM);
  const auto code = s.process->wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "the server did not exit";
  EXPECT_EQ(*code, 0);
  size_t goodbyes = 0;
  for (auto& m : members) {
    m->read_rest(Clock::now() + 5s);
    goodbyes += m->find("shutting down").empty() ? 0 : 1;
    EXPECT_FALSE(m->reset());
    EXPECT_TRUE(m->ended());
    EXPECT_LT(m->lines(), lines);  // what was still queued for it was dropped, not waited for
  }
  EXPECT_EQ(goodbyes, members.size());
  EXPECT_TRUE(s.process->wait_for_err_line("dropped so the goodbye gets through", 5s));
}

}  // namespace
}  // namespace chat::testing
