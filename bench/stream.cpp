#include "bench/stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bench/bench_client.h"
#include "src/util/clock.h"

namespace chat::bench {
namespace {

constexpr size_t kStreamMaxPayload = 256 * 1024;  // what stream asks of every wire
constexpr size_t kBurst = 64;  // messages per loop turn; the UDP transport's sendmmsg batch

}  // namespace

// Sends for `duration_s` at `rate_mps` (0: unlimited) and asks the sink for its counters.
StreamPoint stream_once(const StreamTarget& target, size_t size, double rate_mps,
                        double duration_s) {
  const std::string& transport = target.transport;
  StreamPoint out;
  net::EventLoop loop;
  LinkOptions link;
  link.transport = transport;
  link.host = target.sink.host;
  link.port = target.sink.port;
  link.name = "bench-stream";
  link.socket_buffer = target.socket_buffer;
  link.max_payload = kStreamMaxPayload;
  link.high_water_bytes = 8 * 1024 * 1024;
  BenchClient client(loop, link);
  if (auto r = client.connect(std::chrono::seconds(5)); !r) {
    out.error = r.error().message;
    return out;
  }
  Message m = Message::chat(std::string(std::max(size, kBinaryHeader), '.'));
  m.text[0] = 'D';
  // A wire that queues is paced by its queue; one that does not is paced by the rate alone.
  const bool tcp = client.caps().queues;
  const size_t queue_limit = link.high_water_bytes / 2;
  const uint64_t start = now_ns();
  const uint64_t end = start + static_cast<uint64_t>(duration_s * 1e9);
  bool sending = true;
  bool blocked = false;
  bool finished = false;
  int report_tries = 0;

  auto stop_all = [&] {
    finished = true;
    loop.stop();
  };
  std::function<void()> ask_report = [&] {
    if (finished) return;
    const int attempts = std::max<int>(8, static_cast<int>(target.report_wait.count() / 250));
    if (report_tries++ >= attempts) {
      out.error =
          fmt::format("the sink did not report ({} requests, {} s)", attempts, attempts / 4);
      stop_all();
      return;
    }
    (void)client.send(Message::chat("R"));
    loop.run_after(std::chrono::milliseconds(250), ask_report);
  };
  std::function<void()> drain = [&] {
    // TCP: everything queued must reach the sink before we ask; UDP: a moment for the last burst.
    const uint64_t now = now_ns();
    if (tcp && client.stats().queued_bytes > 0 && now - end < 10'000'000'000ull) {
      loop.run_after(std::chrono::milliseconds(1), drain);
      return;
    }
    ask_report();
  };
  std::function<void()> pump = [&] {
    if (!sending || finished) return;
    const uint64_t now = now_ns();
    if (now >= end) {
      sending = false;
      out.send_s = static_cast<double>(now - start) / 1e9;
      const PeerStats s = client.stats();
      out.send_drops += s.dropped;
      out.retransmits = s.retransmits;
      loop.run_after(tcp ? std::chrono::milliseconds(0) : target.settle, drain);
      return;
    }
    uint64_t allowed = kBurst;
    if (rate_mps > 0) {
      const auto due = static_cast<uint64_t>(static_cast<double>(now - start) / 1e9 * rate_mps);
      allowed = due > out.sent ? std::min<uint64_t>(due - out.sent, kBurst) : 0;
    }
    if (tcp && client.stats().queued_bytes > queue_limit) {
      // Back-pressure: nothing more until the wire says its queue has drained below low water.
      blocked = true;
      return;
    }
    for (uint64_t i = 0; i < allowed; ++i) {
      put_u64(m.text, 1, out.sent);
      put_u64(m.text, 9, now_ns());
      if (!client.send(m)) {
        ++out.send_drops;
        break;
      }
      ++out.sent;
      out.sent_bytes += m.text.size();
    }
    // Far ahead of a slow target rate: sleep a millisecond instead of spinning.
    if (rate_mps > 0 && allowed == 0 && rate_mps < 2000)
      loop.run_after(std::chrono::milliseconds(1), pump);
    else
      loop.run_after(net::Duration::zero(), pump);
  };
  client.on_writable = [&] {
    if (!blocked) return;
    blocked = false;
    pump();
  };
  client.on_message = [&](Message&& reply) {
    if (reply.text.empty() || reply.text[0] != 'S') return;
    try {
      out.sink = Json::parse(reply.text.substr(1));
    } catch (const std::exception& e) {
      out.error = std::string("unreadable sink report: ") + e.what();
    }
    stop_all();
  };
  client.on_down = [&](const std::string& why) {
    out.error = "the sink link went down: " + why;
    stop_all();
  };
  const auto cap = loop.run_after(
      std::chrono::duration_cast<net::Duration>(std::chrono::duration<double>(duration_s + 15)),
      [&] {
        out.error = "stream point did not finish in time";
        stop_all();
      });
  pump();
  if (!finished) loop.run();
  loop.cancel(cap);
  client.on_message = nullptr;
  client.on_down = nullptr;
  client.on_writable = nullptr;
  client.close();
  return out;
}

Json stream_metrics(const StreamPoint& p, const std::string& transport) {
  Json m{{"sent_msgs", p.sent},
         {"sent_bytes", p.sent_bytes},
         {"send_s", p.send_s},
         {"send_mbps", p.send_s > 0 ? p.sent_bytes * 8 / p.send_s / 1e6 : 0.0},
         {"send_mps", p.send_s > 0 ? p.sent / p.send_s : 0.0},
         {"send_drops", p.send_drops}};
  if (!p.sink.is_object()) return m;
  const uint64_t msgs = p.sink.value("messages", uint64_t{0});
  const uint64_t unique = p.sink.value("unique", uint64_t{0});
  const uint64_t bytes = p.sink.value("bytes", uint64_t{0});
  const uint64_t first = p.sink.value("first_ns", uint64_t{0});
  const uint64_t last = p.sink.value("last_ns", uint64_t{0});
  const double recv_s = last > first ? static_cast<double>(last - first) / 1e9 : 0;
  m["recv_msgs"] = msgs;
  m["recv_bytes"] = bytes;
  m["recv_s"] = recv_s;
  m["recv_mbps"] = recv_s > 0 ? bytes * 8 / recv_s / 1e6 : 0.0;
  m["recv_mps"] = recv_s > 0 ? msgs / recv_s : 0.0;
  // Loss against what the application handed over, so sender-side drops count too.
  const uint64_t lost = p.sent > unique ? p.sent - unique : 0;
  m["lost"] = lost;
  m["loss_pct"] = p.sent ? 100.0 * static_cast<double>(lost) / static_cast<double>(p.sent) : 0.0;
  // Copies the network made: the UDP transport's sequence window drops them before the sink sees
  // them (counting them as it does), so both counts are added.
  m["duplicates"] =
      p.sink.value("duplicates", uint64_t{0}) + p.sink.value("transport_duplicates", uint64_t{0});
  m["delivered_pct"] =
      p.sent ? 100.0 * static_cast<double>(std::min(unique, p.sent)) / static_cast<double>(p.sent)
             : 0.0;
  if (p.sink.contains("one_way")) {
    m["one_way"] = p.sink["one_way"];
    m["one_way_cdf_us"] = p.sink.value("one_way_cdf_us", Json::array());
  }
  m["reordered"] = p.sink.value("reordered", uint64_t{0});
  // Jitter and gaps describe a wire that may lose; a reliable one pays in retransmissions instead.
  const auto caps = transport_caps(transport, TransportConfig{});
  if (caps && !caps->reliable) {
    m["jitter_us"] = static_cast<double>(p.sink.value("jitter_ns", uint64_t{0})) / 1000.0;
    m["gaps_in_window"] = p.sink.value("lost", uint64_t{0});
  } else {
    m["retransmits"] = p.retransmits;
  }
  return m;
}

Result<ListeningChild> start_sink(const ScratchDir& dir, const std::string& transport,
                                  int socket_buffer, const BenchPath* path) {
  std::vector<std::string> argv = {self_executable(),
                                   "bench",
                                   "sink",
                                   "--transport",
                                   transport,
                                   "--bind",
                                   path ? path->server_host() : "127.0.0.1",
                                   "--socket-buffer",
                                   std::to_string(socket_buffer)};
  if (path) argv = path->server_argv(std::move(argv));
  return start_listening(std::move(argv), dir / fmt::format("sink-{}.log", transport));
}

Result<std::vector<RunRecord>> run_stream(const StreamOptions& o, Progress& progress) {
  std::vector<RunRecord> runs;
  ScratchDir scratch;
  // 16 MiB buffers keep a loopback sender busy; on a slower path they would hold seconds of its
  // traffic, measuring the buffer rather than the wire, so such a path gets the kernel's default.
  const bool slow_path = o.path && o.path->kind() != "loopback";
  const int socket_buffer =
      slow_path && o.socket_buffer == StreamOptions{}.socket_buffer ? 0 : o.socket_buffer;
  for (const auto& transport : o.transports) {
    StreamTarget target{
        transport, {o.path ? o.path->server_host() : "127.0.0.1", 0}, socket_buffer};
    ListeningChild sink;
    if (!o.target.empty()) {
      auto hp = parse_host_port(o.target);
      if (!hp) return hp.error();
      target.sink = *hp;
    } else {
      auto started = start_sink(scratch, transport, socket_buffer, o.path.get());
      if (!started) return started.error();
      sink = std::move(*started);
      target.sink.port = sink.port;
    }
    // A queued tail crossing a slow link must arrive before the sink's report can.
    if (slow_path) target.report_wait = std::chrono::seconds(30);
    for (size_t size : o.sizes) {
      RunRecord r;
      r.scenario = "stream";
      r.transport = transport;
      r.params = Json{{"size", size},
                      {"rate_mps", o.rate_mps},
                      {"duration_s", o.duration_s},
                      {"socket_buffer", socket_buffer}};
      if (size > wire_max_message(transport, kStreamMaxPayload)) {
        r.note = fmt::format("larger than the largest {} message", transport);
        r.metrics = Json{{"skipped", true}};
        runs.push_back(std::move(r));
        continue;
      }
      progress.show(fmt::format("stream {} {} B for {} s ...", transport, size, o.duration_s));
      const PathProbe probe(o.path.get());
      auto p = stream_once(target, size, o.rate_mps, o.duration_s);
      r.metrics = stream_metrics(p, transport);
      if (o.path && o.path->kind() == "remote") {
        // Two machines' monotonic clocks share no origin: a one-way delay would be noise.
        r.metrics.erase("one_way");
        r.metrics.erase("one_way_cdf_us");
      }
      r.note = p.error;
      probe.stamp(r);
      runs.push_back(std::move(r));
    }
    if (sink.process.pid() > 0) sink.process.stop();
  }
  progress.clear();
  return runs;
}

Result<std::vector<RunRecord>> run_rate(const RateOptions& o, Progress& progress) {
  std::vector<RunRecord> runs;
  ScratchDir scratch;
  // The rate search looks for where loss starts: a wire that promises no delivery.
  const std::string wire = unreliable_wire();
  auto sink = start_sink(scratch, wire, o.socket_buffer, o.path.get());
  if (!sink) return sink.error();
  const StreamTarget target{
      wire, {o.path ? o.path->server_host() : "127.0.0.1", sink->port}, o.socket_buffer};
  for (size_t size : o.sizes) {
    if (size > wire_max_message(wire, kStreamMaxPayload)) continue;
    int trials = 0;
    auto trial = [&](double rate) {
      progress.show(fmt::format("rate {} B: trial {} at {:.0f} msg/s ...", size, trials + 1, rate));
      const PathProbe probe(o.path.get());
      auto p = stream_once(target, size, rate, o.trial_s);
      ++trials;
      Json m = stream_metrics(p, wire);
      const double offered = rate > 0 ? rate : m.value("send_mps", 0.0);
      m["offered_mps"] = offered;
      m["offered_mbps"] = offered * static_cast<double>(size) * 8 / 1e6;
      RunRecord r;
      r.scenario = "rate_trial";
      r.transport = wire;
      r.params = Json{{"size", size}, {"offered_mps", offered}, {"trial_s", o.trial_s}};
      r.metrics = m;
      r.note = p.error;
      probe.stamp(r);
      runs.push_back(r);
      return r;
    };
    // The unlimited sender bounds the search from above.
    RunRecord top = trial(0);
    const auto loss_of = [](const RunRecord& r) { return r.metrics.value("loss_pct", 100.0); };
    const auto ok = [&](const RunRecord& r) {
      return r.note.empty() && r.metrics.contains("recv_msgs") && loss_of(r) <= o.threshold_pct;
    };
    std::optional<RunRecord> best;
    double lo = 0, hi = top.metrics.value("offered_mps", 0.0);
    if (ok(top)) {
      best = top;
    } else {
      while (trials < o.max_trials && hi > 0 && (hi - lo) / hi > o.precision) {
        const double mid = lo > 0 ? (lo + hi) / 2 : hi / 2;
        RunRecord t = trial(mid);
        if (ok(t)) {
          lo = mid;
          best = t;
        } else {
          hi = mid;
        }
      }
    }
    RunRecord r;
    r.scenario = "rate";
    r.transport = wire;
    r.params = Json{{"size", size},
                    {"threshold_pct", o.threshold_pct},
                    {"trial_s", o.trial_s},
                    {"max_trials", o.max_trials}};
    r.metrics = Json{{"trials", trials}};
    if (best) {
      r.metrics["best_rate_mps"] = best->metrics.value("offered_mps", 0.0);
      r.metrics["best_offered_mbps"] = best->metrics.value("offered_mbps", 0.0);
      r.metrics["goodput_mbps"] = best->metrics.value("recv_mbps", 0.0);
      r.metrics["loss_pct"] = best->metrics.value("loss_pct", 0.0);
    } else {
      r.note = fmt::format("no trial stayed under {} % loss", o.threshold_pct);
    }
    runs.push_back(std::move(r));
  }
  sink->process.stop();
  progress.clear();
  return runs;
}

}  // namespace chat::bench
