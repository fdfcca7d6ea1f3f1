#include "bench/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <thread>

#include "bench/fanout.h"
#include "bench/placement.h"
#include "bench/rtt.h"
#include "bench/stream.h"

namespace chat::bench {
namespace {

RunRecord missing(const std::string& scenario, const std::string& tool,
                  const std::string& transport, const std::string& why) {
  fmt::print(stderr, "chat bench compare: {} — skipping that anchor\n", why);
  RunRecord r;
  r.scenario = scenario;
  r.tool = tool;
  r.transport = transport;
  r.note = why;
  return r;
}

// sockperf prints one-way latency (round trip / 2); we report round trips. `spin`: the client's
// socket is non-blocking and its receive loop retries at once — sockperf's own busy-poll (this
// sockperf has no --busy-poll flag; --nonblocked is what spins).
RunRecord sockperf_rtt(const ScratchDir& dir, const std::string& transport, size_t size,
                       double duration_s, const Placement& placement, bool spin = false) {
  if (!program_in_path("sockperf"))
    return missing("rtt", "sockperf", transport, "sockperf is not installed");
  const uint16_t port = free_loopback_port(transport == "udp");
  std::vector<std::string> server = {"sockperf",  "server", "-i",
                                     "127.0.0.1", "-p",     std::to_string(port)};
  std::vector<std::string> client = {
      "sockperf", "ping-pong",
      "-i",       "127.0.0.1",
      "-p",       std::to_string(port),
      "-m",       std::to_string(size),
      "-t",       fmt::format("{}", std::max(1, static_cast<int>(duration_s)))};
  if (transport == "tcp") {
    server.push_back("--tcp");
    client.push_back("--tcp");
  }
  if (spin) client.push_back("--nonblocked");
  // Logs named per run (the port is new each time): a round must never read the last one's output.
  const auto slog = dir / fmt::format("sockperf-server-{}-{}.log", transport, port);
  RunRecord r;
  r.scenario = "rtt";
  r.tool = "sockperf";
  r.transport = transport;
  r.params = Json{{"size", size},
                  {"duration_s", duration_s},
                  {"busy_poll", spin},
                  {"placement", placement.describe()}};
  // Real-time priority only for a client that sleeps, as for ours (placement.h).
  const int realtime = spin ? 0 : placement.realtime;
  if (spin) {
    Placement as_run = placement;
    as_run.realtime = 0;
    r.params["placement"] = as_run.describe();
  }
  auto srv = Subprocess::spawn(pinned(server, placement.server_cpu, realtime), slog, slog);
  if (!srv) return missing("rtt", "sockperf", transport, srv.error().message);
  // sockperf says it is ready when its receive loop starts ("... to block on socket(s)").
  if (!wait_for_line_in_file(slog, "block on", std::chrono::seconds(5), &*srv)) {
    r.note = "sockperf server did not start: " + read_file(slog).substr(0, 300);
    return r;
  }
  const auto clog = dir / fmt::format("sockperf-client-{}-{}.log", transport, port);
  auto c = Subprocess::spawn(pinned(client, placement.client_cpu, realtime), clog, clog);
  if (!c) return missing("rtt", "sockperf", transport, c.error().message);
  c->wait(std::chrono::seconds(static_cast<int>(duration_s) + 20));
  srv->stop();
  const std::string text = read_file(clog);
  auto grab = [&](const std::string& pattern) -> std::optional<double> {
    std::smatch m;
    if (std::regex_search(text, m, std::regex(pattern))) return std::stod(m[1]);
    return std::nullopt;
  };
  const auto p50 = grab(R"(percentile 50\.000 =\s+([0-9.]+))");
  if (!p50) {
    r.note = "could not read sockperf's output";
    return r;
  }
  auto rt = [&](const std::string& pattern) {
    auto v = grab(pattern);
    return v ? Json(*v * 2) : Json();
  };
  r.metrics = Json{{"p50_us", *p50 * 2},
                   {"p90_us", rt(R"(percentile 90\.000 =\s+([0-9.]+))")},
                   {"p99_us", rt(R"(percentile 99\.000 =\s+([0-9.]+))")},
                   {"p999_us", rt(R"(percentile 99\.900 =\s+([0-9.]+))")},
                   {"max_us", rt(R"(<MAX> observation =\s+([0-9.]+))")},
                   {"mean_us", rt(R"(avg-latency=([0-9.]+))")},
                   {"samples", grab(R"(ReceivedMessages=([0-9]+))").value_or(0)}};
  return r;
}

RunRecord iperf3_stream(const ScratchDir& dir, const std::string& transport, size_t size,
                        double duration_s) {
  if (!program_in_path("iperf3"))
    return missing("stream", "iperf3", transport, "iperf3 is not installed");
  const uint16_t port = free_loopback_port(false);
  const auto slog = dir / fmt::format("iperf3-server-{}-{}.log", transport, port);
  auto srv = Subprocess::spawn({"iperf3", "-s", "-B", "127.0.0.1", "-p", std::to_string(port)},
                               slog, slog);
  if (!srv) return missing("stream", "iperf3", transport, srv.error().message);
  // iperf3 block-buffers its banner when writing to a file, so wait for the port instead.
  if (!wait_for_tcp_port(port, std::chrono::seconds(5), &*srv))
    return missing("stream", "iperf3", transport, "iperf3 -s did not start: " + read_file(slog));
  std::vector<std::string> client = {"iperf3",
                                     "-c",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "-J",
                                     "-t",
                                     fmt::format("{}", std::max(1, static_cast<int>(duration_s))),
                                     "-l",
                                     std::to_string(size)};
  if (transport == "udp") {
    client.insert(client.end(), {"-u", "-b", "0"});
  }
  const auto out = dir / fmt::format("iperf3-{}.json", transport);
  auto c = Subprocess::spawn(client, out, dir / "iperf3-client.err");
  if (!c) return missing("stream", "iperf3", transport, c.error().message);
  c->wait(std::chrono::seconds(static_cast<int>(duration_s) + 20));
  srv->stop();
  RunRecord r;
  r.scenario = "stream";
  r.tool = "iperf3";
  r.transport = transport;
  r.params = Json{{"size", size}, {"rate_mps", 0}, {"duration_s", duration_s}};
  try {
    const auto j = Json::parse(read_file(out));
    const auto& end = j.at("end");
    const auto& rx = end.at("sum_received");
    const auto& tx = end.at("sum_sent");
    r.metrics = Json{{"send_mbps", tx.at("bits_per_second").get<double>() / 1e6},
                     {"recv_mbps", rx.at("bits_per_second").get<double>() / 1e6}};
    if (transport == "udp") {
      r.metrics["loss_pct"] = rx.value("lost_percent", 0.0);
      r.metrics["jitter_us"] = rx.value("jitter_ms", 0.0) * 1000;
      r.metrics["recv_msgs"] = rx.value("packets", 0) - rx.value("lost_packets", 0);
    } else {
      r.metrics["retransmits"] = tx.value("retransmits", 0);
    }
  } catch (const std::exception& e) {
    r.note = std::string("could not read iperf3's JSON: ") + e.what();
  }
  return r;
}

}  // namespace

bool loss_target_met(double our_loss_pct, double their_loss_pct) {
  // Losing no more than the anchor is the target: two runs that both lose nothing meet it.
  return our_loss_pct <= their_loss_pct;
}

namespace {

RunRecord ratio(const std::string& what, const std::string& transport, const RunRecord& ours,
                const RunRecord& anchor, const std::string& key, double target,
                bool lower_is_better) {
  RunRecord r;
  r.scenario = "ratio";
  r.tool = anchor.tool;
  r.transport = transport;
  r.params = Json{{"what", what},
                  {"metric", key},
                  {"target", fmt::format("{} {}", lower_is_better ? "≤" : "≥", target)}};
  const double a = anchor.metrics.value(key, 0.0);
  const double c = ours.metrics.value(key, 0.0);
  if (a <= 0 || c <= 0) {
    r.note = anchor.note.empty() ? (ours.note.empty() ? "no measurement" : ours.note) : anchor.note;
    r.metrics = Json{{"chat", c}, {"anchor", a}};
    return r;
  }
  const double q = c / a;
  r.metrics = Json{{"chat", c},
                   {"anchor", a},
                   {"ratio", q},
                   {"met", lower_is_better ? q <= target : q >= target}};
  return r;
}

// A record whose `keys` are the medians over `rounds` (rounds without the key are skipped), so a
// ratio compares typical rounds rather than whichever single round noise hit.
RunRecord median_of(const std::vector<RunRecord>& rounds, const std::vector<std::string>& keys) {
  RunRecord out = rounds.front();
  for (const auto& key : keys) {
    std::vector<double> values;
    for (const auto& r : rounds)
      if (r.metrics.contains(key) && r.metrics[key].is_number())
        values.push_back(r.metrics[key].get<double>());
    if (values.empty()) continue;
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    out.metrics[key] = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }
  if (rounds.size() > 1) out.note = fmt::format("median of {} rounds", rounds.size());
  return out;
}

}  // namespace

double rounds_max_over_min(const std::vector<RunRecord>& rounds, const std::string& key) {
  double lo = 0, hi = 0;
  int n = 0;
  for (const auto& r : rounds) {
    const double v = r.metrics.value(key, 0.0);
    if (v <= 0) continue;
    lo = n == 0 ? v : std::min(lo, v);
    hi = n == 0 ? v : std::max(hi, v);
    ++n;
  }
  return n >= 2 ? hi / lo : 0.0;
}

Result<std::vector<RunRecord>> run_compare(const CompareOptions& o, Progress& progress) {
  std::vector<RunRecord> runs, ratios;
  ScratchDir scratch;
  auto add = [&](std::vector<RunRecord> rs) {
    runs.insert(runs.end(), rs.begin(), rs.end());
    return rs;
  };

  for (const std::string transport : {"tcp", "udp"}) {
    RttOptions ro;
    ro.transports = {transport};
    ro.sizes = {64};
    ro.duration_s = o.duration_s;
    // Both tools get the same placement, so the comparison is of the programs, not of where the
    // scheduler happened to put them.
    ro.placement = separate_cores();
    std::vector<RunRecord> ours_rounds, anchor_rounds;
    // The order alternates (ours first, then theirs first, ...): on a VM whichever runs second
    // in a pair can find the host warmed up or drained, and that must not count for either tool.
    for (int round = 0; round < std::max(1, o.rtt_rounds); ++round) {
      const bool ours_first = round % 2 == 0;
      for (const bool ours_turn : {ours_first, !ours_first}) {
        if (ours_turn) {
          auto ours = run_rtt(ro, progress);
          if (!ours) return ours.error();
          add(*ours);
          ours_rounds.push_back(ours->front());
        } else {
          progress.show(fmt::format("compare: sockperf {} (round {}) ...", transport, round + 1));
          anchor_rounds.push_back(sockperf_rtt(scratch, transport, 64, o.duration_s, ro.placement));
          runs.push_back(anchor_rounds.back());
        }
      }
    }
    const RunRecord ours = median_of(ours_rounds, {"p50_us", "p99_us"});
    const RunRecord anchor = median_of(anchor_rounds, {"p50_us", "p99_us"});
    ratios.push_back(
        ratio("rtt p50 at 64 B (lower is better)", transport, ours, anchor, "p50_us", 1.05, true));
    ratios.push_back(
        ratio("rtt p99 at 64 B (lower is better)", transport, ours, anchor, "p99_us", 1.05, true));
    // For the record, not for a ratio: the same client spinning instead of sleeping, which takes
    // the wake-up (most of a loopback round trip on a VM) out of the picture.
    RttOptions spin = ro;
    spin.busy_poll = true;
    if (auto spun = run_rtt(spin, progress); spun && !spun->empty()) {
      spun->front().note = "chat client busy-polls (spins) instead of sleeping: no ratio, context";
      add(*spun);
    }
    progress.show(fmt::format("compare: sockperf {} spinning ...", transport));
    RunRecord their_spin = sockperf_rtt(scratch, transport, 64, o.duration_s, ro.placement, true);
    if (their_spin.note.empty())
      their_spin.note = "sockperf --nonblocked: its client spins too; no ratio, context";
    runs.push_back(their_spin);
    for (auto it = ratios.end() - 2; it != ratios.end(); ++it) {
      if (!it->note.empty() || ours_rounds.size() < 2) continue;
      // How far the anchor's own rounds sit apart is the resolution of this ratio: a difference
      // between the tools smaller than that is the machine, not the programs.
      const std::string key = it->params.value("metric", "");
      const double spread = rounds_max_over_min(anchor_rounds, key);
      if (spread > 0) it->metrics["anchor_rounds_max_over_min"] = spread;
      it->note = fmt::format("medians of {} alternating rounds each; both tools {}{}",
                             ours_rounds.size(), ro.placement.describe(),
                             spread > 0 ? fmt::format("; sockperf's own rounds differ by up to "
                                                      "{:.0f} %",
                                                      (spread - 1) * 100)
                                        : "");
    }
  }

  {
    StreamOptions so;
    so.transports = {"tcp"};
    so.sizes = {131072};
    so.duration_s = o.duration_s;
    auto ours = run_stream(so, progress);
    if (!ours) return ours.error();
    add(*ours);
    progress.show("compare: iperf3 tcp ...");
    RunRecord anchor = iperf3_stream(scratch, "tcp", 131072, o.duration_s);
    runs.push_back(anchor);
    ratios.push_back(ratio("TCP stream goodput at 128 KiB", "tcp", ours->front(), anchor,
                           "recv_mbps", 0.9, false));
  }
  {
    StreamOptions so;
    so.transports = {"udp"};
    so.sizes = {1400};
    so.duration_s = o.duration_s;
    auto ours = run_stream(so, progress);
    if (!ours) return ours.error();
    add(*ours);
    progress.show("compare: iperf3 udp ...");
    RunRecord anchor = iperf3_stream(scratch, "udp", 1400, o.duration_s);
    runs.push_back(anchor);
    RunRecord q = ratio("UDP delivered goodput at 1,400 B", "udp", ours->front(), anchor,
                        "recv_mbps", 1.5, false);
    const double our_loss = ours->front().metrics.value("loss_pct", 100.0);
    const double their_loss = anchor.metrics.value("loss_pct", 100.0);
    q.metrics["chat_loss_pct"] = our_loss;
    q.metrics["anchor_loss_pct"] = their_loss;
    if (q.metrics.contains("met"))
      q.metrics["met"] = q.metrics["met"].get<bool>() && loss_target_met(our_loss, their_loss);
    q.note = fmt::format("loss: chat {:.3f} %, iperf3 {:.3f} %", our_loss, their_loss);
    ratios.push_back(q);
  }

  {
    FanoutOptions fo;
    fo.clients = {o.fanout_clients};
    fo.messages = o.fanout_messages;
    fo.text = true;
    auto ours = run_fanout(fo, progress);
    if (!ours) return ours.error();
    add(*ours);
    RunRecord anchor;
    if (!program_in_path("ncat")) {
      anchor = missing("fanout", "ncat", "tcp", "ncat is not installed");
    } else {
      const uint16_t port = free_loopback_port(false);
      auto hub = start_listening(
          {"ncat", "-v", "--chat", "-m", "4000", "-l", "127.0.0.1", std::to_string(port)},
          scratch / "ncat.log", "Listening on", std::chrono::seconds(5));
      if (!hub) {
        anchor = missing("fanout", "ncat", "tcp", hub.error().message);
      } else {
        fo.target = fmt::format("127.0.0.1:{}", port);
        fo.tool = "ncat";
        progress.show("compare: ncat --chat ...");
        auto theirs = run_fanout(fo, progress);
        hub->process.stop();
        if (!theirs) return theirs.error();
        anchor = theirs->front();
      }
    }
    runs.push_back(anchor);
    ratios.push_back(ratio(fmt::format("hub deliveries/s at {} text clients", o.fanout_clients),
                           "tcp", ours->front(), anchor, "deliveries_per_s", 2.0, false));
  }
  progress.clear();
  runs.insert(runs.end(), ratios.begin(), ratios.end());
  // Our own runs here are single points at one size; the marker keeps them out of the sweeps.
  for (auto& r : runs) r.phase = kPhaseCompare;
  return runs;
}

}  // namespace chat::bench
