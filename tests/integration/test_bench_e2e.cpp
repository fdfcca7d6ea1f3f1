// End to end: the real `chat bench rtt --count 200` per transport (it starts its own echo server
// process) writes a valid results document; `chat report` renders it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/results.h"
#include "src/net/poller.h"
#include "tests/support/child_process.h"
#include "transports/transport.h"

namespace chat::bench {
namespace {

// Per process: other checkouts on this machine run the same tests at the same time.
std::filesystem::path unique_temp(const std::string& name) {
  return std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_" + name);
}

using chat::testing::ChildProcess;
using namespace std::chrono_literals;

class BenchE2e : public ::testing::TestWithParam<std::string> {};

// Runs `chat bench ARGS -o DIR` (a fresh DIR) to its end, at most 60 s, and loads what it wrote.
Result<ResultsDocument> run_bench(std::vector<std::string> args, const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);
  args.insert(args.begin(), {CHAT_BINARY, "bench"});
  args.insert(args.end(), {"-o", dir.string()});
  const std::string what = args[2];
  ChildProcess bench(args);
  const auto code = bench.wait_exit(60s);
  if (!code) return make_error("bench " + what + " did not finish within 60 s");
  if (*code != 0) return make_error("bench " + what + " exited with " + std::to_string(*code));
  return load_document(dir / "results.json");
}

TEST_P(BenchE2e, RttCount200WritesAValidDocument) {
  const std::string transport = GetParam();
  const auto dir = unique_temp("chat_bench_e2e_" + transport);
  auto doc =
      run_bench({"rtt", "--count", "200", "--warmup", "20", "-t", transport, "-s", "64,1024"}, dir);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->schema_version, kSchemaVersion);
  EXPECT_FALSE(doc->machine.kernel.empty());
  ASSERT_EQ(doc->runs.size(), 2u);
  for (const auto& run : doc->runs) {
    EXPECT_EQ(run.scenario, "rtt");
    EXPECT_EQ(run.transport, transport);
    EXPECT_TRUE(run.note.empty()) << run.note;
    const uint64_t samples = run.metrics.value("samples", uint64_t{0});
    const uint64_t lost = run.metrics.value("lost", uint64_t{0});
    EXPECT_EQ(samples + lost, 200u);
    EXPECT_GT(run.metrics.value("p50_us", 0.0), 0.0);
    EXPECT_LE(run.metrics.value("p50_us", 0.0), run.metrics.value("p99_us", 0.0));
    // Unless told, a latency run sleeps in the busy socket's own recvmsg, and records what it
    // really used.
    if (std::getenv("CHAT_IO_BACKEND") == nullptr) {
      EXPECT_EQ(run.params.value("io_backend", std::string()), "blocking");
    }
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "results.csv"));

  ChildProcess report(
      {CHAT_BINARY, "report", (dir / "results.json").string(), "-o", (dir / "report").string()});
  const auto rc = report.wait_exit(120s);
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "report" / "report.md"));
  EXPECT_TRUE(std::filesystem::exists(dir / "report" / "rtt_percentiles.png"));
  std::filesystem::remove_all(dir);
}

// The spinning client (no sleep between polls) must measure as the sleeping one does: every round
// trip accounted for, and the run says it spun.
TEST_P(BenchE2e, RttBusyPollCountsEveryRoundTrip) {
  const std::string transport = GetParam();
  const auto dir = unique_temp("chat_bench_spin_" + transport);
  auto doc = run_bench(
      {"rtt", "--busy-poll", "--count", "200", "--warmup", "20", "-t", transport, "-s", "64"}, dir);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  ASSERT_EQ(doc->runs.size(), 1u);
  const auto& run = doc->runs[0];
  EXPECT_TRUE(run.params.value("busy_poll", false));
  EXPECT_EQ(run.metrics.value("samples", uint64_t{0}) + run.metrics.value("lost", uint64_t{0}),
            200u);
  std::filesystem::remove_all(dir);
}

std::vector<std::string> wires() {
  std::vector<std::string> out;
  for (auto name : transport_names()) out.emplace_back(name);
  return out;
}

TEST_P(BenchE2e, FanoutBroadcastAccountsForEveryDelivery) {
  const std::string transport = GetParam();
  const auto dir = unique_temp("chat_bench_fanout_" + transport);
  auto doc = run_bench({"fanout", "--broadcast", "-c", "200", "-m", "3", "-t", transport}, dir);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  ASSERT_EQ(doc->runs.size(), 1u);
  const auto& m = doc->runs[0].metrics;
  EXPECT_TRUE(doc->runs[0].note.empty()) << doc->runs[0].note;
  EXPECT_EQ(m.value("expected", uint64_t{0}), 199u * 3u);
  EXPECT_EQ(m.value("seen", uint64_t{0}), 199u * 3u);
  EXPECT_EQ(m.value("duplicates", uint64_t{1}), 0u);
  EXPECT_GT(m.value("reach_all_p50_us", 0.0), 0.0);
  EXPECT_LE(m.value("reach_all_p50_us", 0.0), m.value("reach_all_p99_us", 0.0));
  EXPECT_GT(m.value("hub_rss_kib", uint64_t{0}), 0u);
  EXPECT_TRUE(m.contains("generator_cpu_pct"));
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Wires, BenchE2e, ::testing::ValuesIn(wires()),
                         [](const auto& info) { return info.param; });

TEST(BenchStreamE2e, OneRunReportsEveryWireSideBySide) {
  const auto dir = unique_temp("chat_bench_stream_e2e");
  std::filesystem::remove_all(dir);
  // No -t: every wire the factory knows, one short point each.
  ChildProcess bench({CHAT_BINARY, "bench", "stream", "-s", "1400", "-d", "0.2", "-r", "2000", "-o",
                      dir.string()});
  const auto code = bench.wait_exit(60s);
  ASSERT_TRUE(code.has_value()) << "bench stream did not finish within 60 s";
  EXPECT_EQ(*code, 0);
  auto doc = load_document(dir / "results.json");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  std::vector<std::string> seen;
  for (const auto& run : doc->runs) {
    seen.push_back(run.transport);
    EXPECT_TRUE(run.note.empty()) << run.transport << ": " << run.note;
    EXPECT_GT(run.metrics.value("recv_msgs", uint64_t{0}), 0u) << run.transport;
  }
  EXPECT_EQ(seen, wires());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chat::bench
