#include "bench/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "bench/path.h"
#include "bench/stream.h"
#include "transports/transport.h"

namespace chat::bench {
namespace {

Result<impair::Spec> point_spec(const SweepOptions& o, double loss, double delay_ms) {
  auto spec = impair::parse_spec(o.base);
  if (!spec) return make_error("--base: " + spec.error().message);
  if (loss > 0) {
    spec->loss.kind = impair::LossKind::kBernoulli;
    spec->loss.p = loss / 100.0;
  }
  spec->delay = std::chrono::nanoseconds(static_cast<int64_t>(delay_ms * 1e6));
  spec->seed = o.seed;
  return spec;
}

}  // namespace

Result<std::vector<RunRecord>> run_sweep(const SweepOptions& o, Progress& progress) {
  std::vector<std::string> transports = o.transports;
  if (transports.empty())
    for (auto name : transport_names()) transports.emplace_back(name);
  for (double l : o.loss_pct)
    if (l < 0 || l > 100) return make_error(fmt::format("--loss: {} is not a percentage", l));
  for (double l : o.loss_pct)
    for (double d : o.delay_ms)
      if (auto s = point_spec(o, l, d); !s) return s.error();

  auto path = BenchPath::emulated({}, {});
  if (!path) return path.error();
  // This process now sits on the client side, which sends: its namespace's congestion control
  // is the one that reacts to the loss.
  const std::string cc_file = "/proc/sys/net/ipv4/tcp_congestion_control";
  if (!o.tcp_cc.empty()) {
    std::ofstream cc(cc_file);
    cc << o.tcp_cc;
    cc.flush();
    if (!cc)
      return make_error(
          fmt::format("--tcp-cc {}: not available here (see "
                      "/proc/sys/net/ipv4/tcp_available_congestion_control)",
                      o.tcp_cc));
  }
  std::string tcp_cc;
  std::ifstream(cc_file) >> tcp_cc;
  ScratchDir scratch;
  std::vector<RunRecord> runs;
  for (const auto& transport : transports) {
    auto sink = start_sink(scratch, transport, 0, path->get());
    if (!sink) return sink.error();
    for (double delay : o.delay_ms) {
      for (double loss : o.loss_pct) {
        auto spec = point_spec(o, loss, delay);
        if (auto r = (*path)->set(*spec, *spec); !r) return r.error();
        RunRecord r;
        r.scenario = "sweep";
        r.transport = transport;
        r.params = Json{{"loss_pct", loss},
                        {"delay_ms", delay},
                        {"impair", impair::format_spec(*spec)},
                        {"probe_interval_ms", o.probe_interval_ms},
                        {"probe_size", o.probe_size},
                        {"probe_s", o.probe_s},
                        {"bulk_size", o.bulk_size},
                        {"bulk_s", o.bulk_s}};
        if (transport == "tcp") r.params["tcp_cc"] = tcp_cc;
        const PathProbe probe_counters(path->get());
        // Kernel-default socket buffers: 16 MiB ones would hold seconds of a 100 Mbit/s link's
        // traffic in the sender, measuring the buffer rather than the wire.
        StreamTarget target{transport, {(*path)->server_host(), sink->port}, 0};
        // Datagrams still crossing the link when the probe stops must be counted, not lost.
        target.settle = std::chrono::milliseconds(50 + static_cast<int>(4 * delay));
        target.report_wait = std::chrono::seconds(20);
        progress.show(
            fmt::format("sweep {} loss {} % delay {} ms: probe ...", transport, loss, delay));
        auto p = stream_once(target, std::max(o.probe_size, kBinaryHeader),
                             1000.0 / o.probe_interval_ms, o.probe_s);
        const Json pm = stream_metrics(p, transport);
        progress.show(
            fmt::format("sweep {} loss {} % delay {} ms: bulk ...", transport, loss, delay));
        auto b = stream_once(target, o.bulk_size, 0, o.bulk_s);
        const Json bm = stream_metrics(b, transport);
        r.metrics = Json{{"sent", pm.value("sent_msgs", uint64_t{0})},
                         {"delivered", pm.value("sent_msgs", uint64_t{0}) -
                                           std::min(pm.value("sent_msgs", uint64_t{0}),
                                                    pm.value("lost", uint64_t{0}))},
                         {"delivered_pct", pm.value("delivered_pct", 0.0)},
                         {"duplicates", pm.value("duplicates", uint64_t{0})},
                         {"reordered", pm.value("reordered", uint64_t{0})}};
        if (pm.contains("one_way")) {
          for (const auto& [k, v] : pm["one_way"].items()) r.metrics["one_way_" + k] = v;
          r.metrics["one_way_cdf_us"] = pm["one_way_cdf_us"];
        }
        r.metrics["goodput_mbps"] = bm.value("recv_mbps", 0.0);
        // The bulk transfer's own one-way delay: the delay a full link imposes (Pantheon's axis).
        for (const auto& q : bm.value("one_way_cdf_us", Json::array()))
          if (q.size() == 2 && q[0].get<double>() == 95.0) r.metrics["bulk_one_way_p95_us"] = q[1];
        r.metrics["bulk_sent_mbps"] = bm.value("send_mbps", 0.0);
        r.metrics["bulk_loss_pct"] = bm.value("loss_pct", 0.0);
        if (bm.contains("retransmits")) r.metrics["retransmits"] = bm["retransmits"];
        std::string note = p.error;
        if (!b.error.empty()) note += (note.empty() ? "" : "; ") + ("bulk: " + b.error);
        r.note = note;
        probe_counters.stamp(r);
        runs.push_back(std::move(r));
      }
    }
    sink->process.stop();
  }
  progress.clear();
  return runs;
}

}  // namespace chat::bench
