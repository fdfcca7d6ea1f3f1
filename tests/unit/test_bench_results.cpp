// The results document: JSON round trip, envelope validation, CSV and the summary table.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "bench/results.h"

namespace chat::bench {
namespace {

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
  const auto dir = std::filesystem::temp_directory_path() / "chat_bench_results_test";
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
}

TEST(BenchResults, SummaryTableHasHeadlines) {
  const std::string table = summary_table(sample_document());
  EXPECT_NE(table.find("p99_us="), std::string::npos) << table;
  EXPECT_NE(table.find("iperf3"), std::string::npos);
}

}  // namespace
}  // namespace chat::bench
