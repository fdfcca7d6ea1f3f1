// The UDP bundle codec: packing one loop turn's messages for a member into a 1,472-byte datagram,
// and taking it apart again as the receiver does (split, then each frame decoded on its own).
// Items are messages, bytes are message text: the figures compare directly with the per-frame
// codec's in micro_benchmarks.cpp.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "src/wire/bundle_codec.h"
#include "src/wire/message_codec.h"

namespace {

using namespace chat;

constexpr size_t kBundleBytes = 1472;  // the default: IPv4 payload on a 1,500-byte link

Message sample_message(size_t text) {
  Message m = Message::chat(std::string(text, 'x'));
  m.from = "b42";
  return m;
}

// How many such messages one bundle holds.
size_t per_bundle(const Message& m) {
  const size_t frame = wire::kHeaderSize + wire::payload_overhead(m) + m.text.size();
  return (kBundleBytes - wire::kBundleOverhead) / frame;
}

std::string make_bundle(const Message& m, size_t count) {
  std::string out;
  const size_t start = wire::begin_bundle(out);
  for (size_t i = 0; i < count; ++i)
    wire::encode_message_frame(m, 0, static_cast<uint32_t>(i), 1000 + i, out);
  wire::finish_bundle(out, start, 0, 999, static_cast<uint32_t>(count));
  return out;
}

void BM_BundleEncode(benchmark::State& state) {
  const Message m = sample_message(static_cast<size_t>(state.range(0)));
  const size_t count = per_bundle(m);
  std::string out;
  out.reserve(kBundleBytes);
  uint32_t seq = 0;
  for (auto _ : state) {
    out.clear();
    const size_t start = wire::begin_bundle(out);
    for (size_t i = 0; i < count; ++i) wire::encode_message_frame(m, 0, seq++, 1000, out);
    wire::finish_bundle(out, start, 0, 999, static_cast<uint32_t>(count));
    benchmark::DoNotOptimize(out.data());
  }
  const auto messages = static_cast<int64_t>(state.iterations() * count);
  state.SetItemsProcessed(messages);
  state.SetBytesProcessed(messages * state.range(0));
  state.counters["per_bundle"] = static_cast<double>(count);
}
BENCHMARK(BM_BundleEncode)->Arg(64)->Arg(512);

void BM_BundleDecode(benchmark::State& state) {
  const Message m = sample_message(static_cast<size_t>(state.range(0)));
  const size_t count = per_bundle(m);
  const std::string bytes = make_bundle(m, count);
  std::vector<std::span<const uint8_t>> frames;
  wire::Frame frame;
  for (auto _ : state) {
    const auto r = wire::decode_bundle(wire::as_bytes(bytes), wire::kMaxUdpFramePayload, frames);
    benchmark::DoNotOptimize(r.consumed);
    for (const auto& f : frames) {
      const auto inner = wire::decode_datagram(f, wire::kMaxUdpFramePayload, frame);
      benchmark::DoNotOptimize(inner.consumed);
      benchmark::DoNotOptimize(frame.payload.data());
    }
  }
  const auto messages = static_cast<int64_t>(state.iterations() * count);
  state.SetItemsProcessed(messages);
  state.SetBytesProcessed(messages * state.range(0));
  state.counters["per_bundle"] = static_cast<double>(count);
}
BENCHMARK(BM_BundleDecode)->Arg(64)->Arg(512);

// The split alone: what checking a bundle whole costs before any frame is used.
void BM_BundleSplit(benchmark::State& state) {
  const Message m = sample_message(static_cast<size_t>(state.range(0)));
  const size_t count = per_bundle(m);
  const std::string bytes = make_bundle(m, count);
  std::vector<std::span<const uint8_t>> frames;
  for (auto _ : state) {
    const auto r = wire::decode_bundle(wire::as_bytes(bytes), wire::kMaxUdpFramePayload, frames);
    benchmark::DoNotOptimize(r.consumed);
  }
  const auto messages = static_cast<int64_t>(state.iterations() * count);
  state.SetItemsProcessed(messages);
  state.SetBytesProcessed(messages * state.range(0));
}
BENCHMARK(BM_BundleSplit)->Arg(64)->Arg(512);

}  // namespace
