// `chat demo q1|q2|q3 --quick` as a student would run them: each finishes, writes its JSON, and
// the JSON carries the qualitative answer the demo exists to show.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"

namespace chat::testing {
namespace {

using Json = nlohmann::json;

// Runs `chat demo NAME --quick [extra]` into a fresh directory and returns NAME.json.
Json run_demo(const std::string& name, std::vector<std::string> extra = {}) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("chat_demo_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::vector<std::string> argv{CHAT_BINARY, "demo", name, "--quick", "-o", dir.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  ChildProcess demo(argv);
  demo.drain_lines(90s);
  const auto code = demo.wait_exit(30s);
  EXPECT_EQ(code, 0) << "chat demo " << name;
  std::ifstream in(dir / (name + ".json"));
  if (!in) {
    ADD_FAILURE() << "no " << name << ".json";
    return Json::object();
  }
  Json doc = Json::parse(in, nullptr, false);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc.value("schema", ""), "chat-demo-results");
  EXPECT_FALSE(doc["transcript"].empty());
  return doc;
}

TEST(DemoQuick, Q1LockstepDelayIsAboveTheNormalClients) {
  const Json d = run_demo("q1");
  ASSERT_TRUE(d.contains("lockstep"));
  const Json& normal = d["normal"];
  const Json& lockstep = d["lockstep"];
  EXPECT_EQ(normal["received"], normal["sent"]) << "the normal client shows every message";
  EXPECT_GT(lockstep["p50_ms"].get<double>(), normal["p50_ms"].get<double>());
  EXPECT_GT(lockstep["p50_ms"].get<double>(), 100.0) << "it waits for the keyboard between reads";
  // Some quiet line waited behind a blocked recv.
  double worst = 0;
  for (const Json& q : d["quiet"]["lines"])
    worst = std::max(worst, q["shown_after_ms"].get<double>());
  EXPECT_GT(worst, 100.0);
}

TEST(DemoQuick, Q2EveryModelDeliversEverythingAndSelectRefusesPastItsLimit) {
  const Json d = run_demo("q2");
  ASSERT_TRUE(d.contains("models"));
  std::set<std::string> seen_models;
  for (const Json& r : d["models"]) {
    EXPECT_FALSE(r.contains("error")) << r.dump();
    EXPECT_GT(r.value("expected", 0), 0) << r.dump();
    EXPECT_EQ(r.value("seen", -1), r.value("expected", -2)) << r.dump();
    seen_models.insert(r["io"].get<std::string>());
    if (r["io"] == "threads")
      EXPECT_GT(r["server_threads"].get<int>(), r["clients"].get<int>()) << "a thread per client";
    else
      EXPECT_EQ(r["server_threads"].get<int>(), 1) << r.dump();
  }
  EXPECT_EQ(seen_models, (std::set<std::string>{"threads", "select", "poll", "epoll"}));
  EXPECT_TRUE(d["all_delivered"].get<bool>());
  const Json& probe = d["select_probe"];
  EXPECT_GT(probe["refused"].get<int>(), 0);
  EXPECT_GT(probe["admitted"].get<int>(), 1000);
  EXPECT_LT(probe["admitted"].get<int>(), 1024);
  EXPECT_NE(probe["reason"].get<std::string>().find("FD_SETSIZE"), std::string::npos);
}

TEST(DemoQuick, Q3MeasuresEachDifference) {
  const Json d = run_demo("q3");
  EXPECT_TRUE(d["chat_over_udp"]["ok"].get<bool>());
  EXPECT_GT(d["calls"]["tcp"]["calls"].get<int>(), d["calls"]["udp"]["calls"].get<int>());
  const Json& b = d["boundaries"];
  EXPECT_EQ(b["tcp"]["first_read"], "helloworld");
  EXPECT_GE(b["tcp"]["big_reads"].size(), 2u);
  EXPECT_EQ(b["udp"]["reads"], Json::array({"hello", "world"}));
  const Json& lim = d["datagram_limit"];
  EXPECT_TRUE(lim["max_ok_sent"].get<bool>());
  EXPECT_EQ(lim["max_ok_received_in_one_read"], 65507);
  EXPECT_TRUE(lim["over_refused"].get<bool>());
  EXPECT_EQ(lim["over_errno"], "EMSGSIZE");
  const Json& busy = d["busy_receiver"];
  EXPECT_GT(busy["udp"]["lost"].get<int>(), 0);
  EXPECT_EQ(busy["tcp"]["lost"].get<int>(), 0);
  EXPECT_EQ(busy["tcp"]["received"], busy["tcp"]["sent"]);
  const Json& imp = d["impaired"];
  if (imp["available"].get<bool>()) {
    EXPECT_GT(imp["udp"]["lost"].get<int>(), 0);
    EXPECT_EQ(imp["tcp"]["lost"].get<int>(), 0);
  } else {
    EXPECT_FALSE(imp["why"].get<std::string>().empty());
  }
}

TEST(DemoQuick, AnswersInChinese) {
  const Json d = run_demo("q3", {"--lang", "zh"});
  EXPECT_EQ(d["lang"], "zh");
  bool answered = false;
  for (const Json& line : d["transcript"])
    if (line.get<std::string>().find("回答") != std::string::npos) answered = true;
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace chat::testing

namespace chat::testing {
namespace {

TEST(DemoQuick, ReportTurnsTheJsonIntoTheChapter) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("chat_demo_report_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ChildProcess demo({CHAT_BINARY, "demo", "q3", "--quick", "-o", dir.string()});
  demo.drain_lines(60s);
  ASSERT_EQ(demo.wait_exit(30s), 0);
  ChildProcess report(
      {CHAT_BINARY, "report", (dir / "q3.json").string(), "-o", (dir / "report").string()});
  ASSERT_EQ(report.wait_exit(120s), 0);
  std::ifstream in(dir / "report" / "report.md");
  const std::string md((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(md.find("## The thinking questions, measured"), std::string::npos) << md;
  EXPECT_NE(md.find("### Q3. Can the chat work over UDP"), std::string::npos) << md;
  EXPECT_NE(md.find("65,508"), std::string::npos) << "the measured answer is in the chapter";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chat::testing
