#pragma once
// The results model: one JSON document per `chat bench` run (plus a CSV of the same rows), read
// back by `chat report`. Parameters and metrics are open JSON objects per run so a new scenario
// adds fields without a schema change; the envelope (schema, version, machine, runs) is checked on
// load.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/histogram.h"
#include "src/util/result.h"

namespace chat::bench {

using Json = nlohmann::ordered_json;

inline constexpr const char* kSchemaName = "chat-bench-results";
// 2 added RunRecord::phase. Version 1 files still load: their compare records are recognised by
// where compare puts them (see document_from_json).
inline constexpr int kSchemaVersion = 2;
// The phase `chat bench compare` stamps on every record it writes, so its single points (one size,
// interleaved with an anchor) are never drawn into the scenario sweeps' lines.
inline constexpr const char* kPhaseCompare = "compare";

struct MachineFacts {
  std::string hostname;
  std::string kernel;  // uname -srm
  std::string cpu_model;
  int cores = 0;
  // Socket buffer limits from /proc/sys/net/core (bytes); -1 when unreadable.
  int64_t rmem_max = -1;
  int64_t wmem_max = -1;
  int64_t rmem_default = -1;
  int64_t wmem_default = -1;

  bool operator==(const MachineFacts&) const = default;
};

MachineFacts collect_machine_facts();

// One measured point: a scenario on one transport with one parameter set, by one tool ("chat" for
// ours, or the anchor's name: "sockperf", "iperf3", "ncat").
struct RunRecord {
  std::string scenario;  // rtt, stream, rate, fanout
  std::string tool = "chat";
  std::string transport;  // tcp, udp
  Json params = Json::object();
  Json metrics = Json::object();
  std::string note;  // why a point is missing or odd (tool absent, timed out)
  // Empty for a scenario sweep (rtt, stream, rate, fanout); kPhaseCompare for every record the
  // compare phase writes, its own chat runs included. Written to JSON only when set.
  std::string phase;

  bool operator==(const RunRecord&) const = default;
};

struct ResultsDocument {
  int schema_version = kSchemaVersion;
  std::string created;  // UTC, ISO 8601
  std::string command;  // the command line that produced it
  std::string profile;  // quick, full, or empty for a single scenario
  MachineFacts machine;
  std::vector<RunRecord> runs;

  bool operator==(const ResultsDocument&) const = default;
};

ResultsDocument new_document(std::string command, std::string profile = {});

Json to_json(const ResultsDocument& doc);
// Validates the envelope: schema name, a version this build reads, every run's required fields.
Result<ResultsDocument> document_from_json(const Json& j);
Result<ResultsDocument> load_document(const std::filesystem::path& path);
// Writes <dir>/<stem>.json and <dir>/<stem>.csv.
Result<void> save_document(const ResultsDocument& doc, const std::filesystem::path& dir,
                           const std::string& stem = "results");

// One CSV row per run: scenario, tool, transport, then every param and metric column seen in any
// run (params prefixed "param."), then phase and note, so a spreadsheet can pivot on them.
std::string to_csv(const ResultsDocument& doc);
// A fixed-width table for the terminal, one line per run with its headline numbers.
std::string summary_table(const ResultsDocument& doc);

// Latency fields from a histogram, in microseconds with the stated error bound.
Json latency_json(const Histogram& h);
// [[percentile, µs], …] at 0.1, 1, 5, 10, 20 … 90, 95, 99, 99.5, 99.9, 100: enough for a CDF plot.
Json cdf_json(const Histogram& h);

}  // namespace chat::bench
