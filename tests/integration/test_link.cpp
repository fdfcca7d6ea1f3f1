// The emulated link, checked by tools this project did not write (ping, iperf3, nc) and by the
// kernel's own counters, through the real `chat link` commands. Needs root (or an unprivileged user
// namespace with /dev/net/tun open to all) and TUN; each test skips with the reason otherwise.
// Every link has its own name and its own namespaces, so tests run in parallel and fixed ports
// inside a link collide with nothing.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/link/link.h"
#include "tests/support/child_process.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

// Why the link cannot be made here, or empty when it can.
std::string unavailable() {
  if (::access("/dev/net/tun", F_OK) != 0) return "no /dev/net/tun on this machine";
  if (::geteuid() != 0 && ::access("/dev/net/tun", R_OK | W_OK) != 0)
    return "not root, and /dev/net/tun is not open to this user";
  const pid_t child = ::fork();
  if (child == 0) ::_exit(::unshare(CLONE_NEWNET) == 0 ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (::geteuid() == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
    return "network namespaces are not available";
  return {};
}

#define SKIP_WITHOUT_LINK()                                          \
  do {                                                               \
    if (auto why = unavailable(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

bool have(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

struct Output {
  std::optional<int> code;
  std::string out, err;
};

// Runs a command to completion (bounded) and collects what it printed.
Output run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 20000ms) {
  // ChildProcess takes a path; env searches PATH for the tools.
  if (argv[0].find('/') == std::string::npos) argv.insert(argv.begin(), "/usr/bin/env");
  ChildProcess p(std::move(argv));
  Output o;
  for (auto& l : p.drain_lines(timeout)) o.out += l + "\n";
  while (auto l = p.read_err_line(200ms)) o.err += *l + "\n";
  o.code = p.wait_exit(5000ms);
  return o;
}

std::string unique_name(const char* what) {
  return std::string(what) + "-" + std::to_string(::getpid());
}

// A link brought up for one test and taken down by it (or by the destructor, if the test fails).
class UpLink {
 public:
  explicit UpLink(std::string name, std::vector<std::string> extra = {}) : name_(std::move(name)) {
    std::vector<std::string> argv{kChat, "link", "up", "--name", name_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    result_ = run(argv);
  }
  ~UpLink() { (void)run({kChat, "link", "down", "--name", name_}); }
  bool ok() const { return result_.code == 0; }
  const Output& result() const { return result_; }
  Output exec(const std::string& side, std::vector<std::string> argv,
              std::chrono::milliseconds timeout = 20000ms) const {
    std::vector<std::string> full{kChat, "link", "exec", "--name", name_, side, "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return run(full, timeout);
  }
  pid_t forwarder() const {
    std::ifstream in(link::state_root() / name_ / "state");
    std::string key;
    pid_t pid = -1;
    while (in >> key)
      if (key == "pid") in >> pid;
    return pid;
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Output result_;
};

// A listener is up when the server side's socket table shows it (iperf3 and nc print nothing
// useful to a pipe until they exit). Bounded: 4 s.
bool wait_listening(const UpLink& l, int port) {
  const std::string filter = "sport = :" + std::to_string(port);
  for (int i = 0; i < 200; ++i) {
    if (l.exec("server", {"ss", "-Hltn", filter}).out.find(std::to_string(port)) !=
        std::string::npos)
      return true;
    ::usleep(20'000);
  }
  return false;
}

// Gone, or a zombie waiting for init to reap it (a detached forwarder's parent is init).
bool gone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto close = text.rfind(')');
  return close == std::string::npos || text.compare(close + 2, 1, "Z") == 0;
}

double number_after(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return -1;
  return std::stod(m[1].str());
}

// iperf3 -u through a link whose up direction has `impairment` (plus a seed). iperf3 never resends
// the first datagram of a UDP test (its "connect"): when the draw drops or corrupts that one it
// waits forever. 4 MB socket buffers keep a busy machine's receive-buffer drops out of the count.
// So each attempt is bounded, and the next one uses another seed. Returns the client's JSON and
// leaves the link up (in `link`) for the caller's checks.
Output iperf3_udp(const std::string& what, const std::string& impairment, const std::string& rate,
                  std::unique_ptr<UpLink>& link) {
  Output r;
  for (const char* seed : {"3", "4", "1"}) {
    link.reset();
    link = std::make_unique<UpLink>(
        unique_name(what.c_str()) + "-" + seed,
        std::vector<std::string>{"--impair-up", impairment + ",seed=" + seed, "--impair-down",
                                 "none"});
    if (!link->ok()) return link->result();
    ChildProcess server({kChat, "link", "exec", "--name", link->name(), "server", "--", "iperf3",
                         "-s", "-1", "-B", link::kServerV4});
    if (!wait_listening(*link, 5201)) continue;
    r = link->exec("client",
                   {"iperf3", "-c", link::kServerV4, "-u", "-b", rate, "-l", "1200", "-t", "2",
                    "-w", "4M", "--json"},
                   10000ms);
    if (r.code == 0) break;
  }
  return r;
}

TEST(Link, UpStatusDownLeavesNothingBehind) {
  SKIP_WITHOUT_LINK();
  const auto name = unique_name("updown");
  pid_t pid = -1;
  {
    UpLink l(name, {"--impair", "loss=1%,delay=1ms"});
    ASSERT_TRUE(l.ok()) << l.result().err;
    pid = l.forwarder();
    ASSERT_GT(pid, 0);
    auto status = run({kChat, "link", "status", "--name", name});
    EXPECT_EQ(status.code, 0);
    EXPECT_NE(status.out.find("loss=1%,delay=1ms"), std::string::npos) << status.out;
    auto down = run({kChat, "link", "down", "--name", name});
    EXPECT_EQ(down.code, 0) << down.err;
  }
  EXPECT_FALSE(std::filesystem::exists(link::state_root() / name));
  EXPECT_TRUE(gone(pid)) << "the forwarder outlived `down`";
  auto again = run({kChat, "link", "status", "--name", name});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("no link"), std::string::npos) << again.err;
}

TEST(Link, ABadSpecNamesTheFieldAndStartsNothing) {
  const auto name = unique_name("badspec");
  auto r = run({kChat, "link", "up", "--name", name, "--impair", "lose=2%"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("unknown field 'lose'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("loss"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(link::state_root() / name));
}

TEST(Link, AKilledForwarderTakesItsNamespacesAndTheNextUpCleansItsState) {
  SKIP_WITHOUT_LINK();
  const auto name = unique_name("killed");
  UpLink first(name);
  ASSERT_TRUE(first.ok()) << first.result().err;
  const pid_t pid = first.forwarder();
  ASSERT_GT(pid, 0);
  const auto client_ns =
      std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + [&] {
        std::ifstream in(link::state_root() / name / "state");
        std::string key, fd;
        while (in >> key)
          if (key == "client_fd") in >> fd;
        return fd;
      }());
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 200 && !gone(pid); ++i) ::usleep(10'000);
  // No process holds the namespace any more: no /proc/*/ns/net points at it.
  bool held = false;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path() / "ns" / "net", ec) == client_ns) held = true;
  }
  EXPECT_FALSE(held) << "the client namespace outlived its forwarder";
  // The stale state goes with the next `up` — this one's, or any other link's started meanwhile
  // (each cleans every stale link), so the "removed" line may have been another's to print.
  UpLink second(name);
  ASSERT_TRUE(second.ok()) << second.result().err;
  EXPECT_NE(second.forwarder(), pid);
}

TEST(Link, PingThroughTwentyMillisecondsEachWayTakesForty) {
  SKIP_WITHOUT_LINK();
  if (!have("ping")) GTEST_SKIP() << "ping is not installed";
  UpLink l(unique_name("ping"), {"--impair", "delay=20ms"});
  ASSERT_TRUE(l.ok()) << l.result().err;
  for (const char* addr : {link::kServerV4, link::kServerV6}) {
    auto r = l.exec("client", {"ping", "-c", "5", "-i", "0.2", "-W", "2", addr});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const double avg = number_after(r.out, R"(= [\d.]+/([\d.]+)/)");
    EXPECT_GE(avg, 40.0) << r.out;
    EXPECT_LT(avg, 48.0) << r.out;
  }
}

TEST(Link, Iperf3UdpThroughFivePercentLossReportsAboutFivePercent) {
  SKIP_WITHOUT_LINK();
  if (!have("iperf3")) GTEST_SKIP() << "iperf3 is not installed";
  std::unique_ptr<UpLink> l;
  // 20 Mbit/s for 2 s of 1,200 B datagrams: about 4,200 datagrams, so 5 % ± 1.5 is > 4 sigma.
  auto r = iperf3_udp("iperf", "loss=5%", "20M", l);
  ASSERT_EQ(r.code, 0) << r.err;
  const double lost = number_after(r.out, R"("lost_percent":\s*([\d.]+))");
  EXPECT_GT(lost, 3.5) << r.out.substr(0, 2000);
  EXPECT_LT(lost, 6.5);
}

TEST(Link, CorruptedPacketsAreDiscardedByTheReceivingKernelsChecksum) {
  SKIP_WITHOUT_LINK();
  if (!have("iperf3")) GTEST_SKIP() << "iperf3 is not installed";
  std::unique_ptr<UpLink> l;
  auto r = iperf3_udp("corrupt", "corrupt=10%", "10M", l);
  const std::string name = l->name();
  ASSERT_EQ(r.code, 0) << r.err;
  // iperf3 sees the corrupted datagrams as lost, and the server side's kernel counted each as a
  // checksum error: the bit flip never reached the application.
  const double lost = number_after(r.out, R"("lost_percent":\s*([\d.]+))");
  EXPECT_GT(lost, 7.0) << r.out.substr(0, 2000);
  EXPECT_LT(lost, 13.0);
  auto snmp = l->exec("server", {"cat", "/proc/net/snmp"});
  // Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors
  const double csum = number_after(snmp.out, R"(Udp: \d+ \d+ \d+ \d+ \d+ \d+ (\d+))");
  // InErrors counts every datagram the kernel refused: a bad checksum, a flipped length field, and
  // one dropped for a full receive buffer before its checksum was looked at.
  const double refused = number_after(snmp.out, R"(Udp: \d+ \d+ (\d+))");
  // A flip may land on iperf3's TCP control connection instead (its own checksum counter, the
  // last field of the Tcp line): a few segments of 10 % corrupted are.
  const double tcp_csum = number_after(snmp.out, R"(Tcp: (?:-?\d+ ){14}(\d+))");
  auto status = run({kChat, "link", "status", "--name", name, "--json"});
  const double corrupted = number_after(status.out, R"("up":\{[^}]*"corrupted":(\d+))");
  EXPECT_GT(corrupted, 100);
  EXPECT_GE(refused + tcp_csum, corrupted - 2) << snmp.out;
  EXPECT_LE(csum, corrupted);
}

TEST(Link, SigtermToTheForwarderLeavesNothingBehind) {
  SKIP_WITHOUT_LINK();
  const auto name = unique_name("sigterm");
  UpLink l(name);
  ASSERT_TRUE(l.ok()) << l.result().err;
  const pid_t pid = l.forwarder();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  for (int i = 0; i < 300 && !gone(pid); ++i) ::usleep(10'000);
  EXPECT_TRUE(gone(pid)) << "the forwarder ignored SIGTERM";
  EXPECT_FALSE(std::filesystem::exists(link::state_root() / name));
}

TEST(Link, TenMegabytesOfTcpCrossFivePercentLossByteExactWithRetransmissions) {
  SKIP_WITHOUT_LINK();
  if (!have("nc") || !have("sha256sum")) GTEST_SKIP() << "nc or sha256sum is not installed";
  UpLink l(unique_name("tcp"), {"--impair", "loss=5%,seed=11"});
  ASSERT_TRUE(l.ok()) << l.result().err;
  const auto dir = std::filesystem::temp_directory_path() / unique_name("chat-link-tcp");
  std::filesystem::create_directories(dir);
  const auto in = dir / "in", out = dir / "out";
  ASSERT_EQ(std::system(("head -c 10000000 /dev/urandom > " + in.string()).c_str()), 0);
  ChildProcess server({kChat, "link", "exec", "--name", l.name(), "server", "--", "sh", "-c",
                       "nc -l " + std::string(link::kServerV4) + " 5001 > " + out.string()});
  // The listener is up when the server side shows it; ss needs no guessing about timing.
  bool listening = false;
  for (int i = 0; i < 200 && !listening; ++i) {
    listening =
        l.exec("server", {"ss", "-ltn", "sport = :5001"}).out.find("5001") != std::string::npos;
    if (!listening) ::usleep(20'000);
  }
  ASSERT_TRUE(listening);
  auto send = l.exec("client",
                     {"sh", "-c",
                      "nc -N " + std::string(link::kServerV4) + " 5001 < " + in.string() +
                          " && cat /proc/net/snmp"},
                     60000ms);
  ASSERT_EQ(send.code, 0) << send.err;
  ASSERT_TRUE(server.wait_exit(30000ms).has_value());
  auto sums = run({"sha256sum", in.string(), out.string()});
  const auto first = sums.out.substr(0, 64);
  EXPECT_NE(sums.out.find(first, 64), std::string::npos) << sums.out << sums.err;
  EXPECT_EQ(std::filesystem::file_size(out), 10000000u);
  // /proc/net/snmp's Tcp lines: the names line, then the values; RetransSegs is the 12th value.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      send.out, m, std::regex(R"(Tcp: \d+ \d+ \d+ -?\d+ \d+ \d+ \d+ \d+ \d+ \d+ \d+ (\d+))")))
      << send.out;
  EXPECT_GT(std::stoull(m[1].str()), 100u) << "TCP did not retransmit through 5 % loss";
  auto status = run({kChat, "link", "status", "--name", l.name(), "--json"});
  EXPECT_GT(number_after(status.out, R"("up":\{[^}]*"lost":(\d+))"), 100) << status.out;
  std::filesystem::remove_all(dir);
}

TEST(Link, BenchOverAnEmulatedLinkSeesItsDelayAndRecordsThePath) {
  SKIP_WITHOUT_LINK();
  const auto dir = std::filesystem::temp_directory_path() / unique_name("chat-link-bench");
  auto r = run({kChat, "bench", "rtt", "-t", "tcp,udp", "-s", "64", "-n", "50", "--warmup", "5",
                "--impair", "delay=5ms", "-o", dir.string()},
               60000ms);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir / "results.json");
  const std::string json((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(json.find("\"kind\": \"emulated\""), std::string::npos);
  EXPECT_NE(json.find("\"impair_up\": \"delay=5ms\""), std::string::npos);
  // Round trips cross the 5 ms link twice. The upper bound only rules out the delay applied twice
  // per crossing (20 ms): a loaded machine adds milliseconds of its own to the 10.
  std::smatch m;
  std::string rest = json;
  int seen = 0;
  while (std::regex_search(rest, m, std::regex(R"("p50_us": ([\d.]+))"))) {
    EXPECT_GT(std::stod(m[1].str()), 10000.0);
    EXPECT_LT(std::stod(m[1].str()), 19000.0);
    rest = m.suffix();
    ++seen;
  }
  EXPECT_EQ(seen, 2);
  std::filesystem::remove_all(dir);
}

TEST(Link, SweepShowsUdpLosingWhatTheLinkDropsWhileTcpDeliversAll) {
  SKIP_WITHOUT_LINK();
  const auto dir = std::filesystem::temp_directory_path() / unique_name("chat-link-sweep");
  auto r = run({kChat, "bench", "sweep", "-t", "tcp,udp", "--loss", "0,10", "--delay", "0",
                "--probe-s", "1", "--bulk-s", "0.5", "-o", dir.string()},
               120000ms);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir / "results.json");
  const auto doc = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& run : doc["runs"]) {
    const double loss = run["params"]["loss_pct"];
    const double delivered = run["metrics"]["delivered_pct"];
    if (run["transport"] == "tcp") {
      EXPECT_EQ(delivered, 100.0) << run.dump();
    } else if (loss == 0) {
      EXPECT_EQ(delivered, 100.0) << run.dump();
    } else {
      // 1,000 probes through 10 % loss: 90 % ± 4 is beyond 4 sigma.
      EXPECT_GT(delivered, 86.0) << run.dump();
      EXPECT_LT(delivered, 94.0) << run.dump();
    }
    ++checked;
  }
  EXPECT_EQ(checked, 4);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chat::testing
