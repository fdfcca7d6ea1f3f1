// Google Benchmark micro-benchmarks of the hot paths the bench numbers rest on: the frame codec,
// the latency histogram, UDP sequence tracking, UDP membership lookup in a 10,000-member room and
// the link emulator's impairment pipe.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench/histogram.h"
#include "src/impair/pipe.h"
#include "src/wire/frame_codec.h"
#include "transports/udp/membership.h"
#include "transports/udp/sequence_tracker.h"

namespace {

using namespace chat;

wire::Frame sample_frame(size_t payload) {
  wire::Frame f;
  f.type = wire::FrameType::kData;
  f.sender = 7;
  f.seq = 123456;
  f.timestamp_ns = 987654321;
  f.payload.assign(payload, 'x');
  return f;
}

void BM_FrameEncode(benchmark::State& state) {
  const auto frame = sample_frame(static_cast<size_t>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    wire::encode_frame(frame, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_FrameEncode)->Arg(16)->Arg(64)->Arg(1400)->Arg(65000);

void BM_FrameDecodeStream(benchmark::State& state) {
  const std::string bytes = wire::encode_frame(sample_frame(static_cast<size_t>(state.range(0))));
  wire::Frame frame;
  for (auto _ : state) {
    auto r = wire::decode_stream(wire::as_bytes(bytes), wire::kDefaultTcpMaxPayload, frame);
    benchmark::DoNotOptimize(r.consumed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_FrameDecodeStream)->Arg(16)->Arg(64)->Arg(1400)->Arg(65000);

void BM_FrameDecodeDatagram(benchmark::State& state) {
  const std::string bytes = wire::encode_frame(sample_frame(static_cast<size_t>(state.range(0))));
  wire::Frame frame;
  for (auto _ : state) {
    auto r = wire::decode_datagram(wire::as_bytes(bytes), wire::kMaxUdpFramePayload, frame);
    benchmark::DoNotOptimize(r.consumed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_FrameDecodeDatagram)->Arg(64)->Arg(1400);

void BM_HistogramRecord(benchmark::State& state) {
  bench::Histogram h;
  std::mt19937_64 rng(1);
  std::vector<uint64_t> values(4096);
  for (auto& v : values) v = 5'000 + rng() % 200'000;  // 5-205 us in ns
  size_t i = 0;
  for (auto _ : state) {
    h.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramP99(benchmark::State& state) {
  bench::Histogram h;
  for (uint64_t v = 1000; v < 1'000'000; v += 13) h.record(v);
  for (auto _ : state) benchmark::DoNotOptimize(h.percentile(99));
}
BENCHMARK(BM_HistogramP99);

void BM_SequenceTrackInOrder(benchmark::State& state) {
  udp::SequenceTracker t;
  uint32_t seq = 0;
  uint64_t now = 1'000'000;
  for (auto _ : state) {
    now += 1000;
    benchmark::DoNotOptimize(t.record(seq++, now - 500, now));
  }
}
BENCHMARK(BM_SequenceTrackInOrder);

// 1 % loss, 1 % reordering by a few places, 0.5 % duplicates: the window's slow paths.
void BM_SequenceTrackImpaired(benchmark::State& state) {
  std::mt19937 rng(3);
  std::vector<uint32_t> seqs;
  for (uint32_t s = 0; seqs.size() < 65536; ++s) {
    const unsigned r = rng() % 1000;
    if (r < 10) continue;
    seqs.push_back(s);
    if (r < 15) seqs.push_back(s);
    if (r >= 990 && seqs.size() > 4) std::swap(seqs[seqs.size() - 1], seqs[seqs.size() - 4]);
  }
  udp::SequenceTracker t;
  size_t i = 0;
  uint64_t base = 0;
  for (auto _ : state) {
    // Keep numbers advancing across passes so they never look like 64 K stale duplicates.
    if (i == seqs.size()) {
      i = 0;
      base += seqs.back() + 1;
    }
    benchmark::DoNotOptimize(t.record(static_cast<uint32_t>(base + seqs[i++])));
  }
}
BENCHMARK(BM_SequenceTrackImpaired);

net::SocketAddress member_address(uint32_t i) {
  net::SocketAddress a;
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(0x7F000001u + (i >> 14));
  in->sin_port = htons(static_cast<uint16_t>(1024 + (i & 0x3FFF)));
  a.length = sizeof(sockaddr_in);
  return a;
}

constexpr uint32_t kMembers = 10'000;

udp::Membership room_of_10k(std::vector<net::SocketAddress>& addresses, std::vector<PeerId>& ids) {
  udp::Membership m;
  const auto now = udp::SteadyClock::now();
  for (uint32_t i = 0; i < kMembers; ++i) {
    addresses.push_back(member_address(i));
    ids.push_back(*m.join(addresses.back(), "member" + std::to_string(i), false, now));
  }
  return m;
}

void BM_MembershipFindByAddress10k(benchmark::State& state) {
  std::vector<net::SocketAddress> addresses;
  std::vector<PeerId> ids;
  auto m = room_of_10k(addresses, ids);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.find(addresses[(i++ * 7919) % kMembers]));
  }
}
BENCHMARK(BM_MembershipFindByAddress10k);

void BM_MembershipFindById10k(benchmark::State& state) {
  std::vector<net::SocketAddress> addresses;
  std::vector<PeerId> ids;
  auto m = room_of_10k(addresses, ids);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.find(ids[(i++ * 7919) % kMembers]));
  }
}
BENCHMARK(BM_MembershipFindById10k);

// One packet through the impairment pipe (push, then pop what is due) at ~300k packets/s of
// synthetic time, 1400-byte packets whose buffers are recycled as a forwarder would.
void BM_ImpairPipe(benchmark::State& state, const char* spec_text) {
  impair::Pipe pipe(*impair::parse_spec(spec_text), 1);
  std::vector<impair::Departure> out;
  std::vector<impair::Packet> spare;
  impair::Nanos now = 0;
  uint64_t delivered = 0;
  for (auto _ : state) {
    now += 3'300;
    impair::Packet packet;
    if (spare.empty()) {
      packet.assign(1400, 0);
      packet[0] = 0x45;
    } else {
      packet = std::move(spare.back());
      spare.pop_back();
    }
    pipe.push(std::move(packet), now);
    out.clear();
    pipe.pop_due(now, out);
    delivered += out.size();
    for (auto& d : out) spare.push_back(std::move(d.packet));
  }
  benchmark::DoNotOptimize(delivered);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_ImpairPipe, identity, "none");
BENCHMARK_CAPTURE(BM_ImpairPipe, loss_delay, "loss=1%,delay=20ms");
BENCHMARK_CAPTURE(BM_ImpairPipe, loss_delay_jitter, "loss=1%,delay=20ms,jitter=5ms,dist=normal");
BENCHMARK_CAPTURE(BM_ImpairPipe, gilbert_elliott_rate_codel,
                  "loss=ge:p=1%,r=30%,delay=20ms,rate=10gbit,queue=1000pkt,aqm=codel");
BENCHMARK_CAPTURE(BM_ImpairPipe, reorder_dup, "delay=20ms,reorder=1%,gap=3,dup=1%");

}  // namespace
