// `chat report` on the committed fixture: the Markdown and every plot appear.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/report.h"

namespace chat::bench {
namespace {

const std::filesystem::path kFixture =
    std::filesystem::path(CHAT_SOURCE_DIR) / "tests" / "fixtures" / "bench_results.json";

TEST(BenchReport, FixtureRendersMarkdownAndEveryPlot) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  const auto out = std::filesystem::temp_directory_path() / "chat_bench_report_test";
  std::filesystem::remove_all(out);
  auto md = render_report({kFixture}, out);
  ASSERT_TRUE(md.ok()) << md.error().message;
  std::ifstream in(*md);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  for (const char* png :
       {"rtt_percentiles.png", "throughput.png", "udp_loss_vs_rate.png", "fanout.png"}) {
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
  EXPECT_NE(text.find("## Anchor ratios"), std::string::npos);
  EXPECT_NE(text.find("sockperf"), std::string::npos);
  std::filesystem::remove_all(out);
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
