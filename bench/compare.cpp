#include "bench/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
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

}  // namespace

uint64_t read_sockperf_full_log(const std::string& text, Histogram& into) {
  uint64_t n = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    double packet = 0, tx = 0, rx = 0;
    if (std::sscanf(line.c_str(), "%lf, %lf, %lf", &packet, &tx, &rx) != 3 || rx < tx) continue;
    into.record(static_cast<uint64_t>(std::llround((rx - tx) * 1e9)));
    ++n;
  }
  return n;
}

namespace {

// sockperf prints one-way latency (round trip / 2); we report round trips. `spin`: the client's
// socket is non-blocking and its receive loop retries at once — sockperf's own busy-poll (this
// sockperf has no --busy-poll flag; --nonblocked is what spins).
// `samples`, when given, also receives every measured round trip (from sockperf's full log).
RunRecord sockperf_rtt(const ScratchDir& dir, const std::string& transport, size_t size,
                       double duration_s, const Placement& placement, bool spin = false,
                       Histogram* samples = nullptr) {
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
  const auto full_log = dir / fmt::format("sockperf-samples-{}-{}.csv", transport, port);
  if (samples) client.insert(client.end(), {"--full-log", full_log.string()});
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
  if (samples && read_sockperf_full_log(read_file(full_log), *samples) == 0)
    r.note = "sockperf wrote no per-message log";
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

// One record for all of a tool's rounds: every round trip of every round in one histogram, so a
// round that noise hit weighs by its share of the samples instead of deciding a median.
RunRecord pooled(const std::vector<RunRecord>& rounds, const std::vector<Histogram>& samples) {
  Histogram all;
  for (const auto& h : samples) all.merge(h);
  RunRecord out = rounds.front();
  if (all.count() == 0) return out;
  out.metrics = latency_json(all);
  out.note.clear();
  return out;
}

}  // namespace

RunRecord udp_goodput_verdict(const RunRecord& ours, const RunRecord& at_their_rate,
                              const RunRecord& anchor) {
  RunRecord q =
      ratio("UDP delivered goodput at 1,400 B", "udp", ours, anchor, "recv_mbps", 1.5, false);
  const double unpaced_loss = ours.metrics.value("loss_pct", 100.0);
  const double their_loss = anchor.metrics.value("loss_pct", 100.0);
  const bool matched = at_their_rate.metrics.contains("loss_pct");
  const double our_loss = matched ? at_their_rate.metrics.value("loss_pct", 100.0) : unpaced_loss;
  q.metrics["chat_loss_pct"] = our_loss;
  q.metrics["chat_unpaced_loss_pct"] = unpaced_loss;
  q.metrics["anchor_loss_pct"] = their_loss;
  if (q.metrics.contains("met"))
    q.metrics["met"] = q.metrics["met"].get<bool>() && loss_target_met(our_loss, their_loss);
  if (matched)
    q.note = fmt::format(
        "loss at iperf3's rate ({:.0f} Mbit/s sent): chat {:.3f} %, iperf3 {:.3f} %; chat "
        "unpaced (the goodput above): {:.3f} %",
        anchor.metrics.value("send_mbps", 0.0), our_loss, their_loss, unpaced_loss);
  else
    q.note = fmt::format("loss, each unpaced (no paced chat run): chat {:.3f} %, iperf3 {:.3f} %",
                         our_loss, their_loss);
  return q;
}

double halves_ratio(const std::vector<Histogram>& rounds, double percentile) {
  Histogram even, odd;
  for (size_t i = 0; i < rounds.size(); ++i) (i % 2 ? odd : even).merge(rounds[i]);
  if (even.count() == 0 || odd.count() == 0) return 0.0;
  return static_cast<double>(even.percentile(percentile)) /
         static_cast<double>(odd.percentile(percentile));
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
    std::vector<Histogram> ours_samples, anchor_samples;  // a round's round trips, per round
    // The order alternates (ours first, then theirs first, ...): on a VM whichever runs second
    // in a pair can find the host warmed up or drained, and that must not count for either tool.
    for (int round = 0; round < std::max(1, o.rtt_rounds); ++round) {
      const bool ours_first = round % 2 == 0;
      for (const bool ours_turn : {ours_first, !ours_first}) {
        if (ours_turn) {
          auto ours = run_rtt(ro, progress, &ours_samples);
          if (!ours) return ours.error();
          add(*ours);
          ours_rounds.push_back(ours->front());
        } else {
          progress.show(fmt::format("compare: sockperf {} (round {}) ...", transport, round + 1));
          anchor_samples.emplace_back();
          anchor_rounds.push_back(sockperf_rtt(scratch, transport, 64, o.duration_s, ro.placement,
                                               false, &anchor_samples.back()));
          runs.push_back(anchor_rounds.back());
        }
      }
    }
    const RunRecord ours = pooled(ours_rounds, ours_samples);
    const RunRecord anchor = pooled(anchor_rounds, anchor_samples);
    for (const int percentile : {50, 99}) {
      RunRecord q = ratio(fmt::format("rtt p{} at 64 B (lower is better)", percentile), transport,
                          ours, anchor, fmt::format("p{}_us", percentile), 1.05, true);
      if (q.note.empty()) {
        // sockperf's own rounds, split into two halves (alternate rounds) and compared the same
        // way, give the ratio's resolution: a difference between the tools smaller than the one
        // between sockperf and itself is the machine, not the programs.
        const double halves = halves_ratio(anchor_samples, percentile);
        if (halves > 0) q.metrics["anchor_halves_ratio"] = halves;
        q.note = fmt::format(
            "every round trip of {} alternating rounds per tool, pooled; both tools {}{}",
            ours_rounds.size(), ro.placement.describe(),
            halves > 0
                ? fmt::format("; sockperf against itself (its alternate rounds): {:.3f}", halves)
                : "");
      }
      ratios.push_back(std::move(q));
    }
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
    // The same chat stream once more, paced at the rate iperf3 sent, for the loss comparison.
    RunRecord at_their_rate;
    const double their_send_mbps = anchor.metrics.value("send_mbps", 0.0);
    if (their_send_mbps > 0) {
      StreamOptions paced = so;
      paced.rate_mps = their_send_mbps * 1e6 / (1400.0 * 8);
      progress.show("compare: chat udp paced at iperf3's rate ...");
      auto matched = run_stream(paced, progress);
      if (!matched) return matched.error();
      if (!matched->empty()) {
        at_their_rate = matched->front();
        if (at_their_rate.note.empty())
          at_their_rate.note = "paced at the rate iperf3 sent: the loss comparison's chat side";
        runs.push_back(at_their_rate);
      }
    }
    RunRecord q = udp_goodput_verdict(ours->front(), at_their_rate, anchor);
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
