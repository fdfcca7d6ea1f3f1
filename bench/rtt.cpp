#include "bench/rtt.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "bench/bench_client.h"
#include "src/util/clock.h"

namespace chat::bench {
namespace {

struct PointResult {
  Histogram histogram;
  uint64_t timeouts = 0;
  uint64_t late = 0;
  double elapsed_s = 0;
  std::string error;
  net::IoBackend backend = net::IoBackend::kEpoll;  // what the client's loop really waited with
};

std::string placement_as_run(const RttOptions& o) {
  Placement p = o.placement;
  if (o.busy_poll) p.realtime = 0;  // see measure_point
  return p.describe();
}

PointResult measure_point(const RttOptions& o, const std::string& transport, const HostPort& server,
                          size_t size, Progress& progress) {
  PointResult out;
  // A spinning client never sleeps: at a real-time priority it would starve its own core.
  const ScopedAffinity pin(o.placement.client_cpu, o.busy_poll ? 0 : o.placement.realtime);
  net::EventLoop loop(o.io_backend);
  out.backend = loop.backend();  // io_uring falls back to epoll where the kernel refuses it
  LinkOptions link;
  link.transport = transport;
  link.host = server.host;
  link.port = server.port;
  link.name = "bench-rtt";
  BenchClient client(loop, link);
  if (auto r = client.connect(std::chrono::seconds(5)); !r) {
    out.error = r.error().message;
    return out;
  }

  Message request = Message::chat(std::string(std::max(size, kBinaryHeader), '.'));
  request.text[0] = 'D';
  uint64_t seq = 0;
  uint64_t sent_at = 0;
  uint64_t done = 0;  // completed or timed out, warm-up included
  // Over a delayed link an answer takes the link's round trip too; only what comes later is lost.
  const uint64_t timeout_ns =
      static_cast<uint64_t>(o.timeout_ms) * 1'000'000 +
      static_cast<uint64_t>(o.path ? 2 * o.path->round_trip_delay().count() : 0);
  uint64_t measure_start = 0;
  const uint64_t start = now_ns();
  const uint64_t cap_ns = static_cast<uint64_t>(o.max_seconds * 1e9);
  const uint64_t duration_ns = static_cast<uint64_t>(o.duration_s * 1e9);
  bool finished = false;

  auto finished_now = [&](uint64_t now) {
    if (now - start > cap_ns) return true;
    if (done < o.warmup) return false;
    if (o.count > 0) return done - o.warmup >= o.count;
    return now - measure_start >= duration_ns;
  };
  auto send_next = [&] {
    const uint64_t now = now_ns();
    if (done == o.warmup && measure_start == 0) measure_start = now;
    if (finished_now(now)) {
      finished = true;
      loop.stop();
      return;
    }
    ++seq;
    put_u64(request.text, 1, seq);
    sent_at = now_ns();
    put_u64(request.text, 9, sent_at);
    if (auto r = client.send(request); !r) {
      out.error = r.error().message;
      finished = true;
      loop.stop();
    }
  };
  client.on_message = [&](Message&& m) {
    const uint64_t now = now_ns();
    if (m.text.size() < kBinaryHeader || m.text[0] != 'D') return;
    if (get_u64(m.text, 1) != seq) {
      ++out.late;  // the answer to a request we already gave up on
      return;
    }
    if (done >= o.warmup) out.histogram.record(now - sent_at);
    ++done;
    if (progress.enabled() && (done & 1023) == 0)
      progress.show(fmt::format("rtt {} {} B: {} round trips", transport, size, done));
    send_next();
  };
  client.on_down = [&](const std::string& why) {
    out.error = "the echo server link went down: " + why;
    loop.stop();
  };
  // The watchdog gives up on a lost request (UDP) so the run never waits forever. One timer for
  // the request in flight when it was set: on firing it either gives that request up or moves on
  // to the one now in flight. So it fires about once per timeout, not per round trip, and the
  // loop is rarely near a timer (a blocking wait sleeps in the socket only while none is close).
  net::TimerId watchdog = 0;
  std::function<void()> watch = [&] {
    if (finished) return;
    if (now_ns() - sent_at >= timeout_ns) {
      if (done >= o.warmup) ++out.timeouts;
      ++done;
      send_next();
      if (finished) return;
    }
    const uint64_t now = now_ns();
    const uint64_t due = sent_at + timeout_ns;
    watchdog = loop.run_after(std::chrono::nanoseconds(due > now ? due - now : 0), watch);
  };
  watchdog = loop.run_after(std::chrono::nanoseconds(timeout_ns), watch);
  // Busy-poll: the loop polls without sleeping, so the reply is picked up without a wake-up
  // (sockperf's --busy-poll does the same). The loop's own mode, not a zero-delay timer re-added
  // each pass: that cost a std::function and two map nodes per pass, and a slow spin reads late.
  loop.set_spinning(o.busy_poll);

  send_next();
  if (!finished) loop.run();
  loop.set_spinning(false);  // closing waits as usual
  finished = true;
  loop.cancel(watchdog);
  out.elapsed_s = static_cast<double>(now_ns() - (measure_start ? measure_start : start)) / 1e9;
  client.on_message = nullptr;
  client.on_down = nullptr;
  client.close();
  return out;
}

}  // namespace

Result<std::vector<RunRecord>> run_rtt(const RttOptions& o, Progress& progress,
                                       std::vector<Histogram>* histograms) {
  std::vector<RunRecord> runs;
  ScratchDir scratch;
  for (const auto& transport : o.transports) {
    HostPort server{o.path ? o.path->server_host() : "127.0.0.1", 0};
    ListeningChild echo;
    if (!o.target.empty()) {
      auto hp = parse_host_port(o.target);
      if (!hp) return hp.error();
      server = *hp;
    } else {
      auto started = start_chat_server(
          scratch, "echo", transport,
          {"--io-backend", std::string(net::io_backend_name(o.io_backend))}, o.placement.server_cpu,
          o.path.get(), o.busy_poll ? 0 : o.placement.realtime);
      if (!started) return started.error();
      echo = std::move(*started);
      server.port = echo.port;
    }
    for (size_t size : o.sizes) {
      const size_t limit = wire_max_message(transport, wire::kDefaultTcpMaxPayload);
      RunRecord r;
      r.scenario = "rtt";
      r.transport = transport;
      r.params = Json{{"size", size},
                      {"count", o.count},
                      {"duration_s", o.count ? 0.0 : o.duration_s},
                      {"warmup", o.warmup},
                      {"timeout_ms", o.timeout_ms},
                      {"busy_poll", o.busy_poll},
                      {"io_backend", net::io_backend_name(o.io_backend)},
                      {"placement", placement_as_run(o)},
                      {"server", o.target.empty() ? "chat server --mode echo" : o.target}};
      if (size > limit) {
        r.note = fmt::format("size above the {} message limit", transport);
        r.metrics = Json{{"skipped", true}};
        runs.push_back(std::move(r));
        if (histograms) histograms->emplace_back();
        continue;
      }
      progress.show(fmt::format("rtt {} {} B ...", transport, size));
      const PathProbe probe(o.path.get());
      auto point = measure_point(o, transport, server, size, progress);
      // The client's, as run rather than as asked; an echo server started here falls back the
      // same way on the same kernel.
      r.params["io_backend"] = net::io_backend_name(point.backend);
      r.metrics = latency_json(point.histogram);
      r.metrics["lost"] = point.timeouts;
      r.metrics["late_replies"] = point.late;
      r.metrics["elapsed_s"] = point.elapsed_s;
      r.metrics["round_trips_per_s"] =
          point.elapsed_s > 0 ? static_cast<double>(point.histogram.count()) / point.elapsed_s
                              : 0.0;
      r.note = point.error;
      probe.stamp(r);
      runs.push_back(std::move(r));
      if (histograms) histograms->push_back(std::move(point.histogram));
    }
    if (echo.process.pid() > 0) echo.process.stop();
  }
  progress.clear();
  return runs;
}

}  // namespace chat::bench
