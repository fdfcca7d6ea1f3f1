#include "bench/fanout.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <memory>

#include "bench/bench_client.h"
#include "bench/proc_stats.h"
#include "bench/text_link.h"
#include "src/util/clock.h"

namespace chat::bench {
namespace {

constexpr size_t kConnectBatch = 16;  // joins in flight at once: a listen backlog is 128

// One client of the hub: a framed link through the Transport seam, or a plain-text line link.
struct Member {
  std::unique_ptr<BenchClient> framed;
  std::unique_ptr<TextLink> text;
  bool started = false;

  bool up() const { return framed ? framed->up() : text->up(); }
  bool down() const { return framed ? framed->down() : text->down(); }
  std::string error() const { return framed ? framed->down_reason() : text->error(); }
  void send(const std::string& payload) {
    if (framed)
      (void)framed->send(Message::chat(payload));
    else
      text->send_line(payload);
  }
};

struct FanoutPoint {
  uint64_t expected = 0;
  uint64_t seen = 0;
  uint64_t duplicates = 0;
  uint64_t out_of_order = 0;
  uint64_t foreign = 0;  // relayed lines that were not ours (notices, announcements)
  uint64_t rounds_timed_out = 0;
  double elapsed_s = 0;
  double connect_s = 0;
  Histogram latency;
  Histogram reach_all;  // per round: first send to the round's last delivery
  uint64_t hub_rss_idle_kib = 0;
  uint64_t hub_rss_joined_kib = 0;
  uint64_t hub_rss_end_kib = 0;
  double hub_cpu_s = -1;        // during the rounds
  double generator_cpu_s = -1;  // this process, during the rounds
  double rounds_wall_s = 0;
  // What the generator's links took in during the rounds: messages over datagrams says how many
  // messages one lost datagram would take with it (UDP bundles; 0 datagrams on other wires).
  uint64_t link_messages = 0;
  uint64_t link_datagrams = 0;
  std::string error;
};

FanoutPoint fanout_once(const FanoutOptions& o, const std::string& transport, const HostPort& hub,
                        size_t n, size_t m, pid_t hub_pid, Progress& progress) {
  FanoutPoint out;
  if (hub_pid > 0) out.hub_rss_idle_kib = resident_kib(hub_pid);
  net::EventLoop loop;
  const size_t size = std::max(o.size, kTextHeader);
  std::vector<Member> members(n);
  net::SocketAddress hub_address;
  if (o.text) {
    auto addrs = net::resolve(hub.host, hub.port, SOCK_STREAM, false);
    if (!addrs || addrs->empty()) {
      out.error = addrs ? "no address for the hub" : addrs.error().message;
      return out;
    }
    hub_address = addrs->front();
  }
  for (size_t i = 0; i < n; ++i) {
    if (o.text) {
      members[i].text = std::make_unique<TextLink>(loop);
    } else {
      LinkOptions link;
      link.transport = transport;
      link.host = hub.host;
      link.port = hub.port;
      link.name = fmt::format("b{}", i);
      members[i].framed = std::make_unique<BenchClient>(loop, link);
    }
  }

  // Accounting state, all indexed by receiver * senders + sender. In broadcast mode only member 0
  // sends, so the state grows with n, not n²: 10,000 members stay a few megabytes.
  const size_t senders = o.broadcast ? 1 : n;
  std::vector<uint64_t> seen_bits((n * senders * m + 63) / 64, 0);
  // One message per sender cannot arrive out of order: no need for n² sequence slots.
  std::vector<int64_t> last_seq(m > 1 ? n * senders : 0, -1);
  std::vector<uint64_t> round_seen(m, 0);
  std::vector<uint64_t> round_sent_at(m, 0);
  std::vector<bool> round_closed(m, false);
  const uint64_t per_round = static_cast<uint64_t>(senders) * (n - 1);
  out.expected = per_round * m;
  // A broadcast is timed alone: the next leaves once the last one reached everybody.
  const size_t window =
      o.broadcast
          ? 1
          : std::clamp<size_t>(o.max_inflight_deliveries / std::max<uint64_t>(per_round, 1), 1, 8);
  size_t next_round = 0;
  size_t oldest_open = 0;
  uint64_t first_send = 0;
  uint64_t last_delivery = 0;
  uint64_t last_activity = now_ns();
  bool measuring = false;
  bool finished = false;

  auto stop = [&] {
    finished = true;
    loop.stop();
  };
  auto send_round = [&] {
    const size_t r = next_round++;
    const uint64_t t = now_ns();
    if (first_send == 0) first_send = t;
    round_sent_at[r] = t;
    for (size_t i = 0; i < senders; ++i)
      members[i].send(
          make_text_payload(static_cast<uint32_t>(i), static_cast<uint32_t>(r), now_ns(), size));
  };
  // Closes finished (or given-up) rounds in order and starts new ones up to the window.
  auto advance = [&] {
    while (oldest_open < next_round && round_closed[oldest_open]) ++oldest_open;
    while (next_round < m && next_round - oldest_open < window) send_round();
    if (oldest_open == m) stop();
  };
  auto on_delivery = [&](size_t receiver, std::string_view line) {
    // One clock read per delivery: at a few million a second the generator's own clock reads
    // were a sixth of its time, and it is the generator that must not be the bottleneck.
    const uint64_t now = now_ns();
    last_activity = now;
    auto p = parse_text_payload(line);
    if (!measuring || !p || p->sender >= senders || p->seq >= m || p->sender == receiver) {
      ++out.foreign;
      return;
    }
    const size_t link = receiver * senders + p->sender;
    const uint64_t bit = static_cast<uint64_t>(link) * m + p->seq;
    if (seen_bits[bit >> 6] >> (bit & 63) & 1) {
      ++out.duplicates;
      return;
    }
    seen_bits[bit >> 6] |= uint64_t{1} << (bit & 63);
    ++out.seen;
    last_delivery = now;
    out.latency.record(now > p->ns ? now - p->ns : 0);
    if (!last_seq.empty()) {
      if (static_cast<int64_t>(p->seq) != last_seq[link] + 1) ++out.out_of_order;
      last_seq[link] = std::max<int64_t>(last_seq[link], p->seq);
    }
    if (++round_seen[p->seq] == per_round && !round_closed[p->seq]) {
      round_closed[p->seq] = true;
      out.reach_all.record(now - round_sent_at[p->seq]);
      advance();
    }
  };
  for (size_t i = 0; i < n; ++i) {
    if (members[i].framed)
      members[i].framed->on_message = [&, i](Message&& msg) { on_delivery(i, msg.text); };
    else
      members[i].text->on_line = [&, i](std::string&& line) { on_delivery(i, line); };
  }

  // Phase 1: join in batches so the hub's accept backlog never overflows.
  const uint64_t t0 = now_ns();
  size_t started = 0;
  auto start_more = [&] {
    size_t pending = 0;
    for (size_t i = 0; i < started; ++i)
      if (!members[i].up() && !members[i].down()) ++pending;
    while (started < n && pending < kConnectBatch) {
      Member& mb = members[started++];
      Result<void> r = mb.framed ? mb.framed->start() : mb.text->start(hub_address);
      if (!r) {
        out.error = fmt::format("client {}: {}", started - 1, r.error().message);
        stop();
        return;
      }
      ++pending;
    }
  };
  const auto join_timer = loop.run_every(std::chrono::milliseconds(2), [&] {
    size_t up = 0;
    for (size_t i = 0; i < started; ++i) {
      if (members[i].down()) {
        out.error = fmt::format("client {} could not join: {}", i, members[i].error());
        stop();
        return;
      }
      up += members[i].up();
    }
    progress.show(fmt::format("fanout {} {} clients: {} joined", transport, n, up));
    if (up == n) {
      loop.stop();
      return;
    }
    if (now_ns() - t0 > 60'000'000'000ull) {
      out.error = fmt::format("only {} of {} clients joined within 60 s", up, n);
      stop();
      return;
    }
    start_more();
  });
  start_more();
  if (!finished) loop.run();
  loop.cancel(join_timer);
  out.connect_s = static_cast<double>(now_ns() - t0) / 1e9;
  if (finished) return out;

  // Phase 2: let the join notices (n² of them) drain before measuring.
  const auto settle = loop.run_every(std::chrono::milliseconds(20), [&] {
    if (now_ns() - last_activity > 300'000'000ull) loop.stop();
  });
  const auto settle_cap = loop.run_after(std::chrono::seconds(20), [&] { loop.stop(); });
  loop.run();
  loop.cancel(settle);
  loop.cancel(settle_cap);
  out.foreign = 0;
  if (hub_pid > 0) out.hub_rss_joined_kib = resident_kib(hub_pid);

  // Phase 3: the rounds.
  auto link_totals = [&](uint64_t& messages, uint64_t& datagrams) {
    messages = datagrams = 0;
    for (const auto& mb : members) {
      if (!mb.framed) continue;
      const PeerStats s = mb.framed->stats();
      messages += s.messages_received;
      datagrams += s.datagrams_received;
    }
  };
  uint64_t messages0 = 0;
  uint64_t datagrams0 = 0;
  link_totals(messages0, datagrams0);
  measuring = true;
  const double hub_cpu0 = hub_pid > 0 ? cpu_seconds(hub_pid) : -1;
  const double gen_cpu0 = cpu_seconds(::getpid());
  const uint64_t rounds_t0 = now_ns();
  const uint64_t round_timeout = static_cast<uint64_t>(o.round_timeout_s * 1e9);
  const uint64_t cap = static_cast<uint64_t>(o.max_seconds * 1e9);
  const auto watchdog = loop.run_every(std::chrono::milliseconds(20), [&] {
    const uint64_t now = now_ns();
    if (progress.enabled())
      progress.show(fmt::format("fanout {} {} clients: round {}/{}, {} of {} delivered", transport,
                                n, next_round, m, out.seen, out.expected));
    if (now - first_send > cap) {
      out.error = fmt::format("stopped after {} s", o.max_seconds);
      stop();
      return;
    }
    // A round whose last deliveries are overdue (UDP loss, a dropped queue) is given up on.
    if (oldest_open < next_round && now - round_sent_at[oldest_open] > round_timeout &&
        now - last_activity > round_timeout / 4) {
      round_closed[oldest_open] = true;
      ++out.rounds_timed_out;
      advance();
    }
  });
  advance();
  if (!finished) loop.run();
  loop.cancel(watchdog);
  out.rounds_wall_s = static_cast<double>(now_ns() - rounds_t0) / 1e9;
  link_totals(out.link_messages, out.link_datagrams);
  out.link_messages -= std::min(out.link_messages, messages0);
  out.link_datagrams -= std::min(out.link_datagrams, datagrams0);
  if (hub_cpu0 >= 0) out.hub_cpu_s = cpu_seconds(hub_pid) - hub_cpu0;
  out.generator_cpu_s = cpu_seconds(::getpid()) - gen_cpu0;
  if (hub_pid > 0) out.hub_rss_end_kib = resident_kib(hub_pid);
  out.elapsed_s =
      last_delivery > first_send ? static_cast<double>(last_delivery - first_send) / 1e9 : 0.0;
  // Deliveries a reliable wire did not make are explained by the members it lost on the way.
  size_t gone = 0;
  std::string first_gone;
  for (size_t i = 0; i < n; ++i)
    if (members[i].down() && gone++ == 0)
      first_gone = fmt::format("client {} went down: {}", i, members[i].error());
  if (gone > 0)
    out.error += fmt::format("{}{} of {} members went down (first: {})",
                             out.error.empty() ? "" : "; ", gone, n, first_gone);
  // A round given up on ends its count: say so, or the shortfall reads as the wire's alone (on a
  // reliable wire what is missing was late, not lost).
  if (out.rounds_timed_out > 0 && out.seen < out.expected)
    out.error += fmt::format(
        "{}{} round(s) given up after --round-timeout {} s; {} deliveries not seen by then",
        out.error.empty() ? "" : "; ", out.rounds_timed_out, o.round_timeout_s,
        out.expected - out.seen);
  for (auto& mb : members) {
    if (mb.framed) {
      mb.framed->on_message = nullptr;
      mb.framed->on_down = nullptr;
    }
  }
  // Leave without waiting for each goodbye: the hub process is stopped next anyway.
  for (auto& mb : members)
    if (mb.text) mb.text->close();
  return out;
}

// What the hub and the load generator spent: memory per member says what a room costs; CPU over
// wall time says which side was saturated (a generator near 100 % measures itself, not the hub).
void add_cost_metrics(Json& m, const FanoutPoint& p, size_t n) {
  if (p.reach_all.count() > 0) {
    m["reach_all_p50_us"] = static_cast<double>(p.reach_all.percentile(50)) / 1e3;
    m["reach_all_p99_us"] = static_cast<double>(p.reach_all.percentile(99)) / 1e3;
  }
  if (p.hub_rss_joined_kib > 0) {
    m["hub_rss_kib"] = p.hub_rss_end_kib;
    const double grown =
        static_cast<double>(p.hub_rss_joined_kib) - static_cast<double>(p.hub_rss_idle_kib);
    m["hub_rss_per_member_b"] = grown * 1024.0 / static_cast<double>(n);
  }
  if (p.link_datagrams > 0)
    m["messages_per_datagram"] =
        static_cast<double>(p.link_messages) / static_cast<double>(p.link_datagrams);
  if (p.rounds_wall_s > 0) {
    if (p.hub_cpu_s >= 0) m["hub_cpu_pct"] = 100.0 * p.hub_cpu_s / p.rounds_wall_s;
    if (p.generator_cpu_s >= 0)
      m["generator_cpu_pct"] = 100.0 * p.generator_cpu_s / p.rounds_wall_s;
  }
}

}  // namespace

size_t messages_per_client(const FanoutOptions& o, size_t clients) {
  if (o.messages > 0) return o.messages;
  constexpr uint64_t kDeliveries = 3'000'000;
  constexpr uint64_t kMost = 1000;
  const uint64_t senders = o.broadcast ? 1 : clients;
  const uint64_t per_round = senders * (clients > 1 ? clients - 1 : 1);
  return static_cast<size_t>(std::clamp<uint64_t>(kDeliveries / per_round, 1, kMost));
}

Result<std::vector<RunRecord>> run_fanout(const FanoutOptions& o, Progress& progress) {
  std::vector<RunRecord> runs;
  ScratchDir scratch;
  const uint64_t fd_limit = raise_fd_limit();
  std::vector<std::string> transports =
      o.text ? std::vector<std::string>{text_stream_wire()} : o.transports;
  for (const auto& transport : transports) {
    for (size_t n : o.clients) {
      const size_t m = messages_per_client(o, n);
      RunRecord r;
      r.scenario = "fanout";
      r.tool = o.tool;
      r.transport = transport;
      r.params = Json{{"clients", n},
                      {"messages", m},
                      {"size", std::max(o.size, kTextHeader)},
                      {"text", o.text},
                      {"broadcast", o.broadcast},
                      {"hub", o.target.empty() ? "chat server --mode hub" : o.target}};
      if (transport == "udp")
        r.params["udp_bundle_bytes"] =
            o.udp_bundle_bytes.value_or(TransportConfig{}.udp_bundle_bytes);
      if (n < 2) continue;
      // A wire's own ceiling (one ENet host: 4,095 peers) is said up front, not found by timeouts.
      if (auto caps = transport_caps(transport, TransportConfig{});
          caps && caps->max_members > 0 && n > caps->max_members) {
        r.note = fmt::format("{} holds at most {} members per server; {} asked for", transport,
                             caps->max_members, n);
        r.metrics = Json{{"skipped", true}};
        runs.push_back(std::move(r));
        continue;
      }
      if (n + 64 > fd_limit) {
        r.note = fmt::format("needs {} file descriptors, the limit is {}", n + 64, fd_limit);
        r.metrics = Json{{"skipped", true}};
        runs.push_back(std::move(r));
        continue;
      }
      HostPort hub{o.path ? o.path->server_host() : "127.0.0.1", 0};
      ListeningChild server;
      if (!o.target.empty()) {
        auto hp = parse_host_port(o.target);
        if (!hp) return hp.error();
        hub = *hp;
      } else {
        std::vector<std::string> extra;
        if (o.udp_bundle_bytes && transport == "udp")
          extra = {"--udp-bundle-bytes", std::to_string(*o.udp_bundle_bytes)};
        auto started = start_chat_server(scratch, "hub", transport, extra, -1, o.path.get());
        if (!started) return started.error();
        server = std::move(*started);
        hub.port = server.port;
      }
      progress.show(fmt::format("fanout {} {} clients ...", transport, n));
      const PathProbe probe(o.path.get());
      auto p = fanout_once(o, transport, hub, n, m, server.process.pid(), progress);
      if (server.process.pid() > 0) server.process.stop();
      r.metrics = Json{{"expected", p.expected},
                       {"seen", p.seen},
                       {"lost", p.expected - std::min(p.expected, p.seen)},
                       {"duplicates", p.duplicates},
                       {"out_of_order", p.out_of_order},
                       {"rounds_timed_out", p.rounds_timed_out},
                       {"elapsed_s", p.elapsed_s},
                       {"connect_s", p.connect_s},
                       {"deliveries_per_s", p.elapsed_s > 0 ? p.seen / p.elapsed_s : 0.0}};
      const Json latency = latency_json(p.latency);  // named: items() of a temporary dangles
      for (const auto& [k, v] : latency.items()) r.metrics[k] = v;
      add_cost_metrics(r.metrics, p, n);
      r.note = p.error;
      probe.stamp(r);
      runs.push_back(std::move(r));
    }
  }
  progress.clear();
  return runs;
}

}  // namespace chat::bench
