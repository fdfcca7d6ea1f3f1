// Q3, loss, duplication and reordering under a dialed impairment: the same fixed-interval message
// stream over each wire through an emulated link (two network namespaces joined through TUN
// devices, see src/link/) that drops, copies and reorders real packets. Loopback does none of
// these, so where the link cannot be made (no root, no TUN) this part says why in one line.
#include "src/demo/q3_impaired.h"

#include "bench/path.h"
#include "bench/stream.h"
#include "src/impair/spec.h"

namespace chat::demo {
namespace {

constexpr const char* kSpec = "loss=5%,dup=1%,reorder=2%,gap=3,delay=10ms,seed=7";

Json wire_json(const bench::Json& m) {
  const bench::Json ow = m.value("one_way", bench::Json::object());
  return Json{{"sent", m.value("sent_msgs", uint64_t{0})},
              {"lost", m.value("lost", uint64_t{0})},
              {"duplicates", m.value("duplicates", uint64_t{0})},
              {"reordered", m.value("reordered", uint64_t{0})},
              {"p50_ms", ow.value("p50_us", 0.0) / 1000.0},
              {"p99_ms", ow.value("p99_us", 0.0) / 1000.0},
              {"max_ms", ow.value("max_us", 0.0) / 1000.0}};
}

}  // namespace

Json run_impaired(const DemoOptions& o, Transcript& t) {
  auto spec = impair::parse_spec(kSpec);
  auto path = bench::BenchPath::emulated(*spec, *spec);
  if (!path) {
    t.say("  no emulated link here ({}); loopback can only show what follows",
          "  这里无法建立仿真链路（{}）；回环上只能演示下面的内容", path.error().message);
    return Json{{"available", false}, {"why", path.error().message}};
  }
  const double seconds = o.quick ? 0.5 : 2.0;
  Json out{{"available", true}, {"spec", kSpec}, {"seconds", seconds}};
  bench::ScratchDir scratch;
  for (const char* wire : {"udp", "tcp"}) {
    auto sink = bench::start_sink(scratch, wire, 0, path->get());
    if (!sink) {
      t.say("  the {} sink did not start: {}", "  {} 接收端没有启动：{}", wire,
            sink.error().message);
      return Json{{"available", false}, {"why", sink.error().message}};
    }
    bench::StreamTarget target{wire, {(*path)->server_host(), sink->port}, 0};
    target.settle = std::chrono::milliseconds(100);
    target.report_wait = std::chrono::seconds(10);
    const auto p = bench::stream_once(target, 64, 1000, seconds);
    out[wire] = wire_json(bench::stream_metrics(p, wire));
    if (!p.error.empty()) out[wire]["error"] = p.error;
    sink->process.stop();
  }
  const Json& u = out["udp"];
  const Json& c = out["tcp"];
  t.say(
      "  Through an emulated link ({}, each way), one 64-byte message every 1 ms:\n"
      "    UDP: {} sent, {} lost, {} duplicated, {} reordered; one-way p50 {:.1f} ms, p99 {:.1f} "
      "ms\n"
      "    TCP: {} sent, {} lost, {} duplicated, {} reordered; one-way p50 {:.1f} ms, p99 {:.1f} "
      "ms\n"
      "  TCP hid every loss by retransmitting, and the messages behind each lost one waited for\n"
      "  it: that wait is its tail delay. UDP counted the losses, duplicates and reordering the\n"
      "  application must handle itself (this program's UDP wire drops the copies by sequence\n"
      "  number and counts them).",
      "  经过仿真链路（每个方向 {}），每 1 毫秒一条 64 字节消息：\n"
      "    UDP：发送 {}，丢失 {}，重复 {}，乱序 {}；单向延迟 p50 {:.1f} 毫秒，p99 {:.1f} 毫秒\n"
      "    TCP：发送 {}，丢失 {}，重复 {}，乱序 {}；单向延迟 p50 {:.1f} 毫秒，p99 {:.1f} 毫秒\n"
      "  TCP 靠重传掩盖了每一次丢包，丢失消息之后的消息都要等它：这就是它的尾部延迟。UDP\n"
      "  如实计数丢包、重复和乱序，这些要由应用自己处理（本程序的 UDP 按序号丢弃重复副本并计数）。",
      kSpec, u["sent"].get<uint64_t>(), u["lost"].get<uint64_t>(), u["duplicates"].get<uint64_t>(),
      u["reordered"].get<uint64_t>(), u["p50_ms"].get<double>(), u["p99_ms"].get<double>(),
      c["sent"].get<uint64_t>(), c["lost"].get<uint64_t>(), c["duplicates"].get<uint64_t>(),
      c["reordered"].get<uint64_t>(), c["p50_ms"].get<double>(), c["p99_ms"].get<double>());
  return out;
}

}  // namespace chat::demo
