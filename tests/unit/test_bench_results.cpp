// The results document: JSON round trip, envelope validation, CSV and the summary table.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench/results.h"

namespace chat::bench {
namespace {

// Per process: other checkouts on this machine run the same tests at the same time.
std::filesystem::path unique_temp(const std::string& name) {
  return std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_" + name);
}

ResultsDocument sample_document() {
  ResultsDocument doc = new_document("chat bench rtt --count 10", "quick");
  RunRecord rtt;
  rtt.scenario = "rtt";
  rtt.transport = "udp";
  rtt.params = Json{{"size", 64}, {"count", 10}};
  Histogram h;
  for (uint64_t v = 10'000; v < 20'000; v += 1000) h.record(v);
  rtt.metrics = latency_json(h);
  rtt.metrics["lost"] = 0;
  doc.runs.push_back(rtt);
  RunRecord anchor;
  anchor.scenario = "stream";
  anchor.tool = "iperf3";
  anchor.transport = "tcp";
  anchor.params = Json{{"size", 131072}, {"rate_mps", 0}};
  anchor.note = "iperf3 not installed, \"skipped\"";
  anchor.phase = kPhaseCompare;
  doc.runs.push_back(anchor);
  return doc;
}

TEST(BenchResults, JsonRoundTripKeepsEverything) {
  const ResultsDocument doc = sample_document();
  const Json j = to_json(doc);
  EXPECT_EQ(j["schema"], kSchemaName);
  EXPECT_EQ(j["schema_version"], kSchemaVersion);
  auto back = document_from_json(Json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, doc);
  // Key order survives, so files diff cleanly.
  EXPECT_EQ(back->runs[0].metrics.begin().key(), "samples");
  // The phase is written only for compare's records, and read back as written.
  EXPECT_FALSE(j["runs"][0].contains("phase"));
  EXPECT_EQ(j["runs"][1]["phase"], "compare");
  EXPECT_EQ(back->runs[1].phase, kPhaseCompare);
}

TEST(BenchResults, VersionOneDocumentsGetTheirComparePhaseInferred) {
  // A v1 `bench all` file: a sweep, then compare's chat run followed by its anchor, then a ratio.
  ResultsDocument doc = new_document("chat bench all", "quick");
  auto rec = [](const char* scenario, const char* tool, int size) {
    RunRecord r;
    r.scenario = scenario;
    r.tool = tool;
    r.transport = "tcp";
    r.params = Json{{"size", size}};
    return r;
  };
  doc.runs = {rec("rtt", "chat", 16), rec("rtt", "chat", 64),     rec("stream", "chat", 64),
              rec("rtt", "chat", 64), rec("rtt", "sockperf", 64), rec("ratio", "sockperf", 0)};
  Json j = to_json(doc);
  j["schema_version"] = 1;
  auto back = document_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->schema_version, 1);
  const std::vector<std::string> want = {"", "", "", "compare", "compare", "compare"};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(back->runs[i].phase, want[i]) << i;
  // A v1 sweep with no anchors at all keeps every record in the scenario phase.
  doc.runs.resize(3);
  j = to_json(doc);
  j["schema_version"] = 1;
  back = document_from_json(j);
  ASSERT_TRUE(back.ok());
  for (const auto& r : back->runs) EXPECT_TRUE(r.phase.empty());
}

TEST(BenchResults, MachineFactsArePresent) {
  const MachineFacts m = collect_machine_facts();
  EXPECT_FALSE(m.kernel.empty());
  EXPECT_GT(m.cores, 0);
  EXPECT_FALSE(m.cpu_model.empty());
}

TEST(BenchResults, RejectsForeignOrNewerDocuments) {
  Json j = to_json(sample_document());
  j["schema"] = "something-else";
  EXPECT_FALSE(document_from_json(j).ok());
  j = to_json(sample_document());
  j["schema_version"] = kSchemaVersion + 1;
  auto r = document_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("schema version"), std::string::npos);
  j = to_json(sample_document());
  j["runs"][0].erase("transport");
  r = document_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("runs[0]"), std::string::npos);
}

TEST(BenchResults, SaveAndLoadFiles) {
  const auto dir = unique_temp("chat_bench_results_test");
  std::filesystem::remove_all(dir);
  const ResultsDocument doc = sample_document();
  ASSERT_TRUE(save_document(doc, dir).ok());
  auto back = load_document(dir / "results.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, doc);
  std::ifstream csv(dir / "results.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("scenario,tool,transport,param.size", 0), 0u) << header;
  EXPECT_NE(header.find("p99_us"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(BenchResults, CsvQuotesNotes) {
  const std::string csv = to_csv(sample_document());
  EXPECT_NE(csv.find("\"iperf3 not installed, \"\"skipped\"\"\""), std::string::npos) << csv;
  EXPECT_NE(csv.find(",phase,note\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",compare,\"iperf3"), std::string::npos) << csv;
}

TEST(BenchResults, SummaryTableHasHeadlines) {
  const std::string table = summary_table(sample_document());
  EXPECT_NE(table.find("p99_us="), std::string::npos) << table;
  EXPECT_NE(table.find("iperf3"), std::string::npos);
  EXPECT_NE(table.find("compare:stream"), std::string::npos) << table;
}

}  // namespace
}  // namespace chat::bench
