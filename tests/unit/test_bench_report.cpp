// `chat report` on the committed fixture: the Markdown and every plot appear.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/report.h"

namespace chat::bench {
namespace {

// Per process: other checkouts on this machine run the same tests at the same time.
std::filesystem::path unique_temp(const std::string& name) {
  return std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_" + name);
}

const std::filesystem::path kFixture =
    std::filesystem::path(CHAT_SOURCE_DIR) / "tests" / "fixtures" / "bench_results.json";

const char* const kPlots[] = {"rtt_percentiles.png", "throughput.png", "udp_loss_vs_rate.png",
                              "fanout.png", "compare.png"};

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(BenchReport, FixtureRendersMarkdownAndEveryPlot) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  const auto out = unique_temp("chat_bench_report_test");
  std::filesystem::remove_all(out);
  auto md = render_report({kFixture}, out);
  ASSERT_TRUE(md.ok()) << md.error().message;
  const std::string text = read_all(*md);
  for (const char* png : kPlots) {
    const auto path = out / png;
    ASSERT_TRUE(std::filesystem::exists(path)) << png;
    EXPECT_GT(std::filesystem::file_size(path), 5000u) << png;
    std::ifstream f(path, std::ios::binary);
    char magic[4] = {};
    f.read(magic, 4);
    EXPECT_EQ(std::string(magic + 1, 3), "PNG") << png;
    EXPECT_NE(text.find(std::string("](") + png + ")"), std::string::npos) << png;
  }
  EXPECT_NE(text.find("fixture-host"), std::string::npos);
  EXPECT_NE(text.find("## Compared with standard tools"), std::string::npos);
  EXPECT_NE(text.find("sockperf"), std::string::npos);
  // The summary comes first and is computed from the data.
  const auto summary = text.find("## What this run says");
  ASSERT_NE(summary, std::string::npos);
  EXPECT_LT(summary, text.find("## Round-trip latency"));
  // The sweep's TCP medians (18.0-34.2 µs), not compare's own chat point (19.4 µs) at 64 B.
  EXPECT_NE(text.find("TCP 18.0–34.2 µs, UDP 16.0–32.2 µs"), std::string::npos) << text;
  EXPECT_NE(text.find("chat 19.4 µs vs sockperf 17.5 µs"), std::string::npos) << text;
  EXPECT_NE(text.find("**not met**"), std::string::npos);
  EXPECT_NE(text.find("**met**"), std::string::npos);
  std::filesystem::remove_all(out);
}

TEST(BenchReport, MergesFilesAndReadsVersionOne) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  // The same fixture as a version 1 file: no phase fields, the compare block found by position.
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(read_all(kFixture));
  j["schema_version"] = 1;
  for (auto& run : j["runs"]) run.erase("phase");
  const auto v1 = unique_temp("chat_bench_report_v1.json");
  std::ofstream(v1) << j.dump(2);
  const auto out = unique_temp("chat_bench_report_merge");
  std::filesystem::remove_all(out);
  auto md = render_report({kFixture, v1}, out);
  ASSERT_TRUE(md.ok()) << md.error().message;
  const std::string text = read_all(*md);
  for (const char* png : kPlots) EXPECT_TRUE(std::filesystem::exists(out / png)) << png;
  // Two sweep points per size; a third would mean compare's 64 B run leaked into the sweep.
  EXPECT_NE(text.find("TCP 18.0–34.2 µs, UDP 16.0–32.2 µs"), std::string::npos) << text;
  EXPECT_NE(text.find("UDP was quicker at 16 B, 64 B, 256 B, 1,024 B, 4,096 B, 16,384 B and "
                      "65,000 B (by 2.0 µs)"),
            std::string::npos)
      << text;
  std::filesystem::remove_all(out);
  std::filesystem::remove(v1);
}

// A results document with just the given runs, on the fixture's machine.
std::filesystem::path write_runs(const std::string& name, const nlohmann::ordered_json& runs) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(read_all(kFixture));
  j["runs"] = runs;
  const auto path = unique_temp(name + ".json");
  std::ofstream(path) << j.dump(2);
  return path;
}

nlohmann::ordered_json run(const std::string& scenario, const std::string& transport,
                           nlohmann::ordered_json params, nlohmann::ordered_json metrics,
                           bool compare = false) {
  nlohmann::ordered_json r = {{"scenario", scenario},
                              {"tool", "chat"},
                              {"transport", transport},
                              {"params", params},
                              {"metrics", metrics}};
  if (compare) r["phase"] = "compare";
  return r;
}

// The bullets of "What this run says".
std::vector<std::string> summary_lines(const std::string& text) {
  std::vector<std::string> out;
  const auto start = text.find("## What this run says");
  const auto end = text.find("\n## ", start + 1);
  std::stringstream ss(text.substr(start, end - start));
  for (std::string line; std::getline(ss, line);)
    if (line.rfind("- ", 0) == 0) out.push_back(line);
  return out;
}

TEST(BenchReport, AnRttOnlyRunGetsOnlyWhatItMeasured) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  nlohmann::ordered_json all = nlohmann::ordered_json::parse(read_all(kFixture));
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (const auto& r : all["runs"])
    if (r["scenario"] == "rtt" && !r.contains("phase")) runs.push_back(r);
  const auto input = write_runs("chat_report_rtt_only", runs);
  const auto out = unique_temp("chat_report_rtt_only");
  std::filesystem::remove_all(out);
  auto md = render_report({input}, out);
  ASSERT_TRUE(md.ok()) << md.error().message;
  const std::string text = read_all(*md);
  EXPECT_NE(text.find("## Round-trip latency"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out / "rtt_percentiles.png"));
  for (const char* gone : {"## One-way throughput", "## Highest loss-free", "## Hub fan-out",
                           "## Compared with standard tools", "no stream results", "loss", "repair",
                           "kept apart from the scenario sweeps"})
    EXPECT_EQ(text.find(gone), std::string::npos) << gone << "\n" << text;
  for (const char* png : {"throughput.png", "udp_loss_vs_rate.png", "fanout.png", "compare.png"})
    EXPECT_FALSE(std::filesystem::exists(out / png)) << png;
  // Every sentence cites something this run measured (the fixture's medians: 16.0-34.2 µs).
  const auto lines = summary_lines(text);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) EXPECT_NE(line.find(" µs"), std::string::npos) << line;
  EXPECT_NE(text.find("TCP 18.0–34.2 µs, UDP 16.0–32.2 µs"), std::string::npos) << text;
  std::filesystem::remove_all(out);
  std::filesystem::remove(input);
}

TEST(BenchReport, ConclusionsStateTheirRangeAndTheirNoise) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  using J = nlohmann::ordered_json;
  J runs = J::array();
  // TCP quicker at 16 B, UDP at 64 B by 5.6 µs: and chat's own 64 B median moves 9.5 µs between
  // compare rounds, so neither is a finding.
  runs.push_back(run("rtt", "tcp", {{"size", 16}}, {{"p50_us", 58.2}, {"samples", 20000}}));
  runs.push_back(run("rtt", "udp", {{"size", 16}}, {{"p50_us", 59.3}, {"samples", 20000}}));
  runs.push_back(run("rtt", "tcp", {{"size", 64}}, {{"p50_us", 64.9}, {"samples", 20000}}));
  runs.push_back(run("rtt", "udp", {{"size", 64}}, {{"p50_us", 59.3}, {"samples", 20000}}));
  for (double p50 : {53.6, 63.1, 54.4})
    runs.push_back(run("rtt", "udp", {{"size", 64}}, {{"p50_us", p50}}, true));
  // The same stream point twice, 2.4x apart.
  const J stream = {{"size", 131072}, {"rate_mps", 0}, {"duration_s", 3}};
  runs.push_back(run("stream", "tcp", stream, {{"recv_mbps", 13336.3}, {"retransmits", 64}}));
  runs.push_back(run("stream", "tcp", stream, {{"recv_mbps", 31831.1}}, true));
  // 1,000 clients sent 3 messages each, the others 50; the median latency reached 1.5 s.
  runs.push_back(run("fanout", "udp", {{"clients", 10}, {"messages", 50}},
                     {{"deliveries_per_s", 175393.4}, {"p50_us", 3612.7}}));
  runs.push_back(run("fanout", "udp", {{"clients", 1000}, {"messages", 3}},
                     {{"deliveries_per_s", 325664.1}, {"p50_us", 1514143.7}}));
  const auto input = write_runs("chat_report_claims", runs);
  const auto out = unique_temp("chat_report_claims");
  std::filesystem::remove_all(out);
  auto md = render_report({input}, out);
  ASSERT_TRUE(md.ok()) << md.error().message;
  const std::string text = read_all(*md);
  // No "UDP was 5.6 µs quicker" resting on one row.
  EXPECT_EQ(text.find("UDP was 5.6"), std::string::npos) << text;
  EXPECT_NE(text.find("moved 53.6–63.1 µs over 3 compare rounds, so gaps under 9.5 µs are noise"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("2 sizes from 16 B to 64 B"), std::string::npos) << text;
  EXPECT_NE(text.find("13.3 Gbit/s in its scenario run and 31.8 Gbit/s in compare"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1,000 clients sent 3 messages each"), std::string::npos) << text;
  EXPECT_NE(text.find("median delivery latency reached 1.51 s at 1,000 clients"), std::string::npos)
      << text;
  // The stream table says what a target of 0 msg/s means.
  EXPECT_NE(text.find("| 131,072 | unlimited |"), std::string::npos) << text;
  EXPECT_EQ(text.find("| 0.0 |"), std::string::npos) << text;
  std::filesystem::remove_all(out);
  std::filesystem::remove(input);
}

TEST(BenchReport, RejectsNonResultsInput) {
  const auto bad = unique_temp("chat_bench_not_results.json");
  std::ofstream(bad) << R"({"hello": 1})";
  auto md = render_report({bad}, unique_temp("chat_bench_bad_out"));
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.error().message.find("schema"), std::string::npos) << md.error().message;
  std::filesystem::remove(bad);
}

// A real `chat bench sweep` (loss 0, 1, 5 % × delay 0, 20 ms over the emulated link) renders its
// chapter: five plots, the table, and summary sentences citing the file's own numbers.
TEST(BenchReport, ALossSweepGetsItsChapterAndSentencesFromItsNumbers) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  const auto fixture =
      std::filesystem::path(CHAT_SOURCE_DIR) / "tests" / "fixtures" / "sweep_results.json";
  const auto out = unique_temp("chat_bench_report_sweep_test");
  std::filesystem::remove_all(out);
  auto md = render_report({fixture}, out);
  ASSERT_TRUE(md.ok()) << md.error().message;
  const std::string text = read_all(*md);
  for (const char* png : {"sweep_delivered.png", "sweep_p99_delay.png", "sweep_goodput.png",
                          "sweep_delay_cdf.png", "sweep_throughput_delay.png"}) {
    EXPECT_TRUE(std::filesystem::exists(out / png)) << png;
    EXPECT_NE(text.find(std::string("](") + png + ")"), std::string::npos) << png;
  }
  EXPECT_NE(text.find("## Loss and delay, dialed (sweep)"), std::string::npos);
  // At 5 % loss and 20 ms: UDP delivered 95.0 %, TCP all, with TCP's p99 from 39.5 to 69.5 ms.
  EXPECT_NE(text.find("udp delivered 95.0 % of its probe messages"), std::string::npos) << text;
  EXPECT_NE(text.find("tcp delivered 100 % of its probe messages (p99 one-way delay 39.5 → 69.5"),
            std::string::npos)
      << text;
  // Nothing was measured on loopback, so no loopback section or sentence appears.
  EXPECT_EQ(text.find("## Round-trip latency"), std::string::npos);
  EXPECT_EQ(text.find("Round trip"), std::string::npos);
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace chat::bench
