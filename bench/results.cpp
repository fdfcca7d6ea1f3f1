#include "bench/results.h"

#include <fmt/format.h>

#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace chat::bench {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json machine_json(const MachineFacts& m) {
  return Json{{"hostname", m.hostname},         {"kernel", m.kernel},
              {"cpu_model", m.cpu_model},       {"cores", m.cores},
              {"rmem_max", m.rmem_max},         {"wmem_max", m.wmem_max},
              {"rmem_default", m.rmem_default}, {"wmem_default", m.wmem_default}};
}

template <class T>
Result<T> field(const Json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key))
    return make_error(fmt::format("{}: missing field '{}'", where, key));
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    return make_error(fmt::format("{}: field '{}' has the wrong type ({})", where, key, e.what()));
  }
}

std::string csv_cell(const Json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string short_value(const Json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d != 0 && (d >= 1e6 || d < 0.01)) return fmt::format("{:.3g}", d);
    return fmt::format("{:.2f}", d);
  }
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Version 1 had no phase field. Compare always writes its records last and starts with a chat run
// directly followed by its anchor (or the ratio records, when every anchor is skipped), and no
// scenario writes anchor or ratio records. So the compare block is the tail that begins at the
// first anchor/ratio record, or at the chat record just before it when that one measured the same
// scenario. reports/render.py applies the same rule to version 1 files.
void mark_v1_compare_phase(std::vector<RunRecord>& runs) {
  size_t first = runs.size();
  for (size_t i = 0; i < runs.size(); ++i)
    if (runs[i].tool != "chat" || runs[i].scenario == "ratio") {
      first = i;
      break;
    }
  if (first == runs.size()) return;
  if (first > 0 && runs[first - 1].tool == "chat" &&
      runs[first - 1].scenario == runs[first].scenario)
    --first;
  for (size_t i = first; i < runs.size(); ++i) runs[i].phase = kPhaseCompare;
}

}  // namespace

ResultsDocument new_document(std::string command, std::string profile) {
  ResultsDocument doc;
  doc.created = utc_now();
  doc.command = std::move(command);
  doc.profile = std::move(profile);
  doc.machine = collect_machine_facts();
  return doc;
}

Json to_json(const ResultsDocument& doc) {
  Json runs = Json::array();
  for (const auto& r : doc.runs) {
    Json run{{"scenario", r.scenario},
             {"tool", r.tool},
             {"transport", r.transport},
             {"params", r.params},
             {"metrics", r.metrics}};
    if (!r.note.empty()) run["note"] = r.note;
    if (!r.phase.empty()) run["phase"] = r.phase;
    runs.push_back(std::move(run));
  }
  return Json{{"schema", kSchemaName},  {"schema_version", doc.schema_version},
              {"created", doc.created}, {"command", doc.command},
              {"profile", doc.profile}, {"machine", machine_json(doc.machine)},
              {"runs", std::move(runs)}};
}

Result<ResultsDocument> document_from_json(const Json& j) {
  auto schema = field<std::string>(j, "schema", "document");
  if (!schema) return schema.error();
  if (*schema != kSchemaName)
    return make_error(fmt::format("not a chat bench document (schema '{}')", *schema));
  auto version = field<int>(j, "schema_version", "document");
  if (!version) return version.error();
  if (*version < 1 || *version > kSchemaVersion)
    return make_error(fmt::format("schema version {} is not one this build reads (1..{})", *version,
                                  kSchemaVersion));
  ResultsDocument doc;
  doc.schema_version = *version;
  doc.created = j.value("created", "");
  doc.command = j.value("command", "");
  doc.profile = j.value("profile", "");
  auto machine = field<Json>(j, "machine", "document");
  if (!machine) return machine.error();
  const auto& m = *machine;
  doc.machine.hostname = m.value("hostname", "");
  doc.machine.kernel = m.value("kernel", "");
  doc.machine.cpu_model = m.value("cpu_model", "");
  doc.machine.cores = m.value("cores", 0);
  doc.machine.rmem_max = m.value("rmem_max", int64_t{-1});
  doc.machine.wmem_max = m.value("wmem_max", int64_t{-1});
  doc.machine.rmem_default = m.value("rmem_default", int64_t{-1});
  doc.machine.wmem_default = m.value("wmem_default", int64_t{-1});
  auto runs = field<Json>(j, "runs", "document");
  if (!runs) return runs.error();
  if (!runs->is_array()) return make_error("document: 'runs' is not an array");
  size_t i = 0;
  for (const auto& rj : *runs) {
    const std::string where = fmt::format("runs[{}]", i++);
    RunRecord r;
    auto scenario = field<std::string>(rj, "scenario", where);
    if (!scenario) return scenario.error();
    auto transport = field<std::string>(rj, "transport", where);
    if (!transport) return transport.error();
    auto params = field<Json>(rj, "params", where);
    if (!params) return params.error();
    auto metrics = field<Json>(rj, "metrics", where);
    if (!metrics) return metrics.error();
    if (!params->is_object() || !metrics->is_object())
      return make_error(where + ": params and metrics must be objects");
    r.scenario = *scenario;
    r.transport = *transport;
    r.tool = rj.value("tool", "chat");
    r.params = *params;
    r.metrics = *metrics;
    r.note = rj.value("note", "");
    r.phase = rj.value("phase", "");
    doc.runs.push_back(std::move(r));
  }
  if (doc.schema_version == 1) mark_v1_compare_phase(doc.runs);
  return doc;
}

Result<ResultsDocument> load_document(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(fmt::format("cannot open {}", path.string()));
  try {
    // ordered_json keeps params/metrics in the order they were written.
    return document_from_json(Json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    return make_error(fmt::format("{}: not valid JSON ({})", path.string(), e.what()));
  }
}

Result<void> save_document(const ResultsDocument& doc, const std::filesystem::path& dir,
                           const std::string& stem) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  {
    std::ofstream out(dir / (stem + ".json"));
    if (!out) return make_error(fmt::format("cannot write {}", (dir / (stem + ".json")).string()));
    out << to_json(doc).dump(2) << '\n';
  }
  std::ofstream csv(dir / (stem + ".csv"));
  if (!csv) return make_error(fmt::format("cannot write {}", (dir / (stem + ".csv")).string()));
  csv << to_csv(doc);
  return {};
}

std::string to_csv(const ResultsDocument& doc) {
  // Columns in first-seen order so related fields stay together.
  std::vector<std::string> params, metrics;
  std::set<std::string> seen_p, seen_m;
  for (const auto& r : doc.runs) {
    for (const auto& [k, v] : r.params.items())
      if (!v.is_structured() && seen_p.insert(k).second) params.push_back(k);
    for (const auto& [k, v] : r.metrics.items())
      if (!v.is_structured() && seen_m.insert(k).second) metrics.push_back(k);
  }
  std::ostringstream out;
  out << "scenario,tool,transport";
  for (const auto& p : params) out << ",param." << p;
  for (const auto& m : metrics) out << ',' << m;
  out << ",phase,note\n";
  for (const auto& r : doc.runs) {
    out << r.scenario << ',' << r.tool << ',' << r.transport;
    for (const auto& p : params) out << ',' << (r.params.contains(p) ? csv_cell(r.params[p]) : "");
    for (const auto& m : metrics)
      out << ',' << (r.metrics.contains(m) ? csv_cell(r.metrics[m]) : "");
    out << ',' << csv_cell(r.phase) << ',' << csv_cell(r.note) << '\n';
  }
  return out.str();
}

std::string summary_table(const ResultsDocument& doc) {
  // The numbers a reader looks for first in each scenario; the JSON has everything.
  static const std::map<std::string, std::vector<std::string>> kHeadline = {
      {"rtt", {"p50_us", "p99_us", "p999_us", "max_us", "lost"}},
      {"stream", {"recv_mbps", "recv_mps", "send_mbps", "loss_pct", "jitter_us", "retransmits"}},
      {"rate", {"best_rate_mps", "goodput_mbps", "loss_pct"}},
      {"rate_trial", {"offered_mps", "recv_mbps", "loss_pct"}},
      {"fanout", {"deliveries_per_s", "p50_us", "p99_us", "seen", "expected"}},
      {"ratio", {"chat", "anchor", "ratio", "met"}},
      {"sweep",
       {"delivered_pct", "one_way_p50_us", "one_way_p99_us", "goodput_mbps", "retransmits"}},
  };
  static const std::vector<std::string> kKeyParams = {"size",   "rate_mps", "clients", "messages",
                                                      "metric", "loss_pct", "delay_ms"};
  std::ostringstream out;
  out << fmt::format("{:<16} {:<8} {:<4} {:<22} {}\n", "scenario", "tool", "wire", "params",
                     "results");
  for (const auto& r : doc.runs) {
    std::string p;
    for (const auto& k : kKeyParams)
      if (r.params.contains(k)) p += fmt::format("{}={} ", k, short_value(r.params[k]));
    std::string m;
    auto it = kHeadline.find(r.scenario);
    if (it != kHeadline.end())
      for (const auto& k : it->second)
        if (r.metrics.contains(k)) m += fmt::format("{}={} ", k, short_value(r.metrics[k]));
    if (!r.note.empty()) m += "(" + r.note + ")";
    // Compare's points are tagged so they are not read as part of the sweep above them.
    const std::string scenario = r.phase.empty() ? r.scenario : r.phase + ":" + r.scenario;
    out << fmt::format("{:<16} {:<8} {:<4} {:<22} {}\n", scenario, r.tool, r.transport, p, m);
  }
  return out.str();
}

Json cdf_json(const Histogram& h) {
  Json out = Json::array();
  if (h.count() == 0) return out;
  for (double q : {0.1, 1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0,
                   99.5, 99.9, 100.0})
    out.push_back(Json::array({q, static_cast<double>(h.percentile(q)) / 1000.0}));
  return out;
}

Json latency_json(const Histogram& h) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return Json{{"samples", h.count()},
              {"min_us", us(h.min())},
              {"mean_us", h.mean() / 1000.0},
              {"p50_us", us(h.percentile(50))},
              {"p90_us", us(h.percentile(90))},
              {"p99_us", us(h.percentile(99))},
              {"p999_us", us(h.percentile(99.9))},
              {"max_us", us(h.max())},
              {"histogram_rel_error", Histogram::kMaxRelativeError}};
}

}  // namespace chat::bench
