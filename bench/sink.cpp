#include "bench/sink.h"

#include <fmt/format.h>

#include <unordered_map>

#include "bench/common.h"
#include "bench/results.h"
#include "src/net/event_loop.h"
#include "src/util/clock.h"
#include "transports/transport.h"
#include "transports/udp/sequence_tracker.h"

namespace chat::bench {
namespace {

struct LinkCounters {
  // A wide window: a fast sender can be thousands of datagrams ahead of a late one.
  udp::SequenceTracker tracker{1 << 16};
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  // One-way delay (arrival − the sender's CLOCK_MONOTONIC stamp): meaningful where both ends read
  // one clock — loopback, or the two sides of an emulated link on this machine.
  Histogram one_way;
};

}  // namespace

int run_sink(const SinkOptions& o) {
  net::EventLoop loop;
  TransportConfig config;
  config.side = Side::kServer;
  config.bind = o.bind;
  config.port = o.port;
  config.socket_buffer = o.socket_buffer;
  config.max_payload = o.max_payload;
  config.overflow = OverflowPolicy::kDrop;
  auto made = make_transport(o.transport, loop, config);
  if (!made) {
    fmt::print(stderr, "chat bench sink: {}\n", made.error().message);
    return 2;
  }
  Transport& transport = **made;
  std::unordered_map<PeerId, LinkCounters> links;
  TransportCallbacks cb;
  cb.on_peer_up = [&](const PeerInfo& p) { links[p.id]; };
  cb.on_peer_down = [&](PeerId id, DownReason, const std::string&) { links.erase(id); };
  cb.on_message = [&](PeerId peer, Message&& m) {
    if (m.text.empty()) return;
    auto& c = links[peer];
    if (m.text[0] == 'D' && m.text.size() >= kBinaryHeader) {
      const uint64_t now = m.received_ns ? m.received_ns : now_ns();
      if (c.messages == 0) c.first_ns = now;
      c.last_ns = now;
      ++c.messages;
      c.bytes += m.text.size();
      const uint64_t sent = get_u64(m.text, 9);
      c.tracker.record(static_cast<uint32_t>(get_u64(m.text, 1)), sent, now);
      if (now > sent) c.one_way.record(now - sent);
    } else if (m.text[0] == 'R') {
      const PeerStats s = transport.stats(peer);
      Json j{{"messages", c.messages},
             {"bytes", c.bytes},
             {"first_ns", c.first_ns},
             {"last_ns", c.last_ns},
             {"unique", c.tracker.received()},
             {"lost", c.tracker.lost()},
             {"duplicates", c.tracker.duplicates() + c.tracker.stale()},
             {"reordered", c.tracker.reordered()},
             {"jitter_ns", c.tracker.jitter_ns()},
             {"transport_lost", s.lost},
             {"transport_duplicates", s.duplicates},
             {"transport_reordered", s.reordered},
             {"one_way", latency_json(c.one_way)},
             {"one_way_cdf_us", cdf_json(c.one_way)}};
      (void)transport.send(peer, Message::chat("S" + j.dump()));
    }
  };
  if (auto r = transport.start(std::move(cb)); !r) {
    fmt::print(stderr, "chat bench sink: {}\n", r.error().message);
    return 1;
  }
  loop.on_signals([&](int) { loop.stop(); });
  fmt::print(stderr, "chat: bench sink listening on {} {}\n", o.transport,
             transport.local_address().to_string());
  loop.run();
  return 0;
}

}  // namespace chat::bench
