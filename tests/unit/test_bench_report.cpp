// `chat report` on the committed fixture: the Markdown and every plot appear.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/report.h"

namespace chat::bench {
namespace {

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
  const auto out = std::filesystem::temp_directory_path() / "chat_bench_report_test";
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
  // The sweep's 64 B TCP median (18.0 µs), not compare's own chat point (19.4 µs) at that size.
  EXPECT_NE(text.find("the median was 18.0 µs over TCP and"), std::string::npos) << text;
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
  const auto v1 = std::filesystem::temp_directory_path() / "chat_bench_report_v1.json";
  std::ofstream(v1) << j.dump(2);
  const auto out = std::filesystem::temp_directory_path() / "chat_bench_report_merge";
  std::filesystem::remove_all(out);
  auto md = render_report({kFixture, v1}, out);
  ASSERT_TRUE(md.ok()) << md.error().message;
  const std::string text = read_all(*md);
  for (const char* png : kPlots) EXPECT_TRUE(std::filesystem::exists(out / png)) << png;
  // Two sweep points per size; a third would mean compare's 64 B run leaked into the sweep.
  EXPECT_NE(text.find("18.0 µs over TCP (median of 2 runs)"), std::string::npos) << text;
  std::filesystem::remove_all(out);
  std::filesystem::remove(v1);
}

TEST(BenchReport, RejectsNonResultsInput) {
  const auto bad = std::filesystem::temp_directory_path() / "chat_bench_not_results.json";
  std::ofstream(bad) << R"({"hello": 1})";
  auto md = render_report({bad}, std::filesystem::temp_directory_path() / "chat_bench_bad_out");
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.error().message.find("schema"), std::string::npos) << md.error().message;
  std::filesystem::remove(bad);
}

}  // namespace
}  // namespace chat::bench
