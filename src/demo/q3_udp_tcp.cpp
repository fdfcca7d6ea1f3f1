// Q3: "Can the chat work over UDP, and how do UDP and TCP differ?" Each difference measured here:
// the calls each wire needs, message boundaries, the datagram limit, loss (dialed when a link
// emulator is present, a busy receiver otherwise), and a closing table with this run's numbers.
#include <fmt/format.h>

#include "bench/bench_client.h"
#include "bench/common.h"
#include "src/demo/demo.h"
#include "src/demo/q3_impaired.h"
#include "src/demo/q3_probes.h"
#include "src/util/clock.h"

namespace chat::demo {
namespace {

using namespace std::chrono_literals;

// The chat itself over UDP: two clients in `chat server --mode hub --transport udp`, one line.
Json chat_over_udp() {
  bench::ScratchDir scratch;
  auto hub = bench::start_chat_server(scratch, "hub", "udp");
  if (!hub) return Json{{"ok", false}, {"error", hub.error().message}};
  net::EventLoop loop;
  bench::LinkOptions link;
  link.transport = "udp";
  link.port = hub->port;
  link.name = "alice";
  bench::BenchClient alice(loop, link);
  link.name = "bob";
  bench::BenchClient bob(loop, link);
  std::string heard;
  uint64_t delay_ns = 0;
  bob.on_message = [&](Message&& m) {
    if (m.kind != MessageKind::kChat) return;
    heard = m.from + ": " + m.text;
    delay_ns = m.received_ns > m.sent_ns ? m.received_ns - m.sent_ns : 0;
    loop.stop();
  };
  if (auto r = alice.connect(3s); !r) return Json{{"ok", false}, {"error", r.error().message}};
  if (auto r = bob.connect(3s); !r) return Json{{"ok", false}, {"error", r.error().message}};
  (void)alice.send(Message::chat("hello over UDP"));
  const auto cap = loop.run_after(3s, [&] { loop.stop(); });
  loop.run();
  loop.cancel(cap);
  alice.close();
  bob.close();
  hub->process.stop();
  return Json{{"ok", !heard.empty()},
              {"heard", heard},
              {"hub_to_client_ms", static_cast<double>(delay_ns) / 1e6}};
}

std::string joined(const Json& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : " ") + n.get<std::string>();
  return s;
}

std::string sizes(const Json& list) {
  std::string s;
  for (const auto& n : list) s += (s.empty() ? "" : " + ") + std::to_string(n.get<size_t>());
  return s;
}

}  // namespace

Result<Json> run_q3(const DemoOptions& o, Transcript& t) {
  t.heading("Q3. Can the chat work over UDP, and how do UDP and TCP differ?",
            "思考题 3：聊天能否改用 UDP？UDP 与 TCP 有何不同？");
  const Json chat = chat_over_udp();
  if (chat.value("ok", false))
    t.say("Yes. Through `chat server --mode hub --transport udp` just now, bob heard \"{}\".",
          "可以。刚才经由 `chat server --mode hub --transport udp`，bob 收到了 \"{}\"。",
          chat["heard"].get<std::string>());
  else
    t.say("The UDP chat could not be shown: {}", "未能演示 UDP 聊天：{}",
          chat.value("error", std::string("no message arrived")));
  t.say("What UDP lacks (a join, membership, order, loss counting), the program adds itself.",
        "UDP 缺少的（加入、成员、顺序、丢包统计）由程序自己补上。");

  const Json calls = count_socket_calls();
  const Json& tc = calls["tcp"];
  const Json& uc = calls["udp"];
  t.heading("1. Connection: the socket calls for one ping and its pong",
            "1. 连接：一次 ping 和回复 pong 所需的 socket 调用");
  t.say("  TCP server: {}\n  TCP client: {}\n  UDP server: {}\n  UDP client: {}",
        "  TCP 服务器：{}\n  TCP 客户端：{}\n  UDP 服务器：{}\n  UDP 客户端：{}",
        joined(tc["server"]), joined(tc["client"]), joined(uc["server"]), joined(uc["client"]));
  t.say(
      "  TCP: {} calls and {} sockets (a listening one, then one per client); UDP: {} calls,\n"
      "  {} sockets, and no listen, accept or connect: each datagram carries its address.",
      "  TCP：{} 次调用、{} 个 socket（一个监听，每个客户端再一个）；UDP：{} 次调用、{} 个\n"
      "  socket，没有 listen、accept、connect：每个数据报自带地址。",
      tc["calls"].get<int>(), tc["sockets"].get<int>(), uc["calls"].get<int>(),
      uc["sockets"].get<int>());

  const Json b = measure_boundaries();
  t.heading("2. Message boundaries", "2. 消息边界");
  t.say(
      "  TCP: send(\"hello\"), send(\"world\") -> one recv returned \"{}\"\n"
      "       one send of {} bytes -> recv(1024) had to be called for {} bytes\n"
      "  UDP: send(\"hello\"), send(\"world\") -> {} recvs returned \"{}\" and \"{}\"\n"
      "       one {}-byte datagram into the lab's 1,024-byte buffer: 1,024 bytes read, the\n"
      "       rest of its {} bytes discarded",
      "  TCP：send(\"hello\")、send(\"world\") -> 一次 recv 返回了 \"{}\"\n"
      "       一次 send {} 字节 -> recv(1024) 要调用多次：{} 字节\n"
      "  UDP：send(\"hello\")、send(\"world\") -> {} 次 recv，分别返回 \"{}\" 和 \"{}\"\n"
      "       一个 {} 字节的数据报读进实验的 1024 字节缓冲区：读到 1024 字节，\n"
      "       其余部分（共 {} 字节）被丢弃",
      b["tcp"]["first_read"].get<std::string>(), b["tcp"]["big_send"].get<size_t>(),
      sizes(b["tcp"]["big_reads"]), b["udp"]["reads"].size(),
      b["udp"]["reads"].size() > 0 ? b["udp"]["reads"][0].get<std::string>() : "",
      b["udp"]["reads"].size() > 1 ? b["udp"]["reads"][1].get<std::string>() : "",
      b["udp"]["big_send"].get<size_t>(), b["udp"]["big_datagram_length"].get<long>());
  t.say(
      "  TCP is a byte stream: it keeps the order of bytes, not where messages end. That is why\n"
      "  the lab's hub, which sent raw text with no framing, could run messages together; this\n"
      "  program puts a length in front of every frame. UDP keeps each datagram whole.",
      "  TCP 是字节流：保证字节顺序，但不保留消息边界。所以实验里不加分帧、直接发文本的 hub\n"
      "  会把消息粘在一起；本程序在每帧前加长度。UDP 的每个数据报完整到达。");

  const Json lim = measure_datagram_limit();
  t.heading("3. The datagram size limit", "3. 数据报大小上限");
  t.say(
      "  65,507 bytes: {}, received in one read of {} bytes\n"
      "  65,508 bytes: {} {}\n"
      "  65,507 = 65,535 (IPv4 total length) - 20 (IP header) - 8 (UDP header)",
      "  65507 字节：{}，一次读到 {} 字节\n"
      "  65508 字节：{} {}\n"
      "  65507 = 65535（IPv4 总长度上限）- 20（IP 头）- 8（UDP 头）",
      lim.value("max_ok_sent", false) ? t.pick("sent as one datagram", "作为一个数据报发出")
                                      : t.pick("NOT sent", "未能发出"),
      lim.value("max_ok_received_in_one_read", 0L),
      lim.value("over_refused", false) ? t.pick("refused with", "被拒绝，错误")
                                       : t.pick("NOT refused", "未被拒绝"),
      lim.value("over_errno", std::string()) + " (" + lim.value("over_error", std::string()) + ")");
  t.say(
      "  Above the path MTU a datagram is cut into IP fragments, and losing any fragment loses\n"
      "  the whole datagram. This path's MTU is {} (loopback), so here it is {} packet; on an\n"
      "  Ethernet path (MTU 1,500) the same datagram is {} fragments (computed, not measured).",
      "  超过路径 MTU 的数据报会被切成 IP 分片，丢任何一片就丢整个数据报。本路径 MTU 为 {}\n"
      "  （回环），这里是 {} 个包；在以太网路径（MTU 1500）上同一个数据报是 {} 个分片（计算值，\n"
      "  非实测）。",
      lim.value("path_mtu", 0), lim.value("fragments_on_this_path", 0),
      lim.value("fragments_at_mtu_1500", 0));

  t.heading("4. Loss, duplication and reordering", "4. 丢包、重复与乱序");
  Json impaired = run_impaired(o, t);
  const Json busy = measure_busy_receiver(o.quick);
  const Json& bu = busy["udp"];
  const Json& bt = busy["tcp"];
  t.say(
      "  What loopback can show: the receiver is busy for {} ms while {} messages of {} bytes\n"
      "  arrive.\n"
      "    UDP: {} of {} received, {} lost (its receive buffer holds {} bytes), {} duplicated,\n"
      "         {} reordered\n"
      "    TCP: {} of {} received, {} lost; the last arrived {:.0f} ms after the first was sent:\n"
      "         flow control made the sender wait ({:.0f} ms in send) instead of dropping",
      "  回环上能演示的：接收方忙了 {} 毫秒，期间到达 {} 条 {} 字节的消息。\n"
      "    UDP：收到 {} / {}，丢失 {}（接收缓冲区 {} 字节），重复 {}，\n"
      "         乱序 {}\n"
      "    TCP：收到 {} / {}，丢失 {}；最后一条在第一条发出后 {:.0f} 毫秒到达：\n"
      "         流量控制让发送方等待（send 用了 {:.0f} 毫秒），而不是丢弃",
      busy["busy_ms"].get<int>(), busy["messages"].get<int>(), busy["message_bytes"].get<int>(),
      bu["received"].get<uint64_t>(), bu["sent"].get<uint64_t>(), bu["lost"].get<uint64_t>(),
      bu.value("receive_buffer_bytes", 0), bu["duplicates"].get<uint64_t>(),
      bu["reordered"].get<uint64_t>(), bt["received"].get<uint64_t>(), bt["sent"].get<uint64_t>(),
      bt["lost"].get<uint64_t>(), bt.value("all_delivered_after_ms", -1.0),
      bt.value("sender_ms", 0.0));

  t.heading("The differences, with this run's numbers", "两者的区别（本次实测数据）");
  auto row = [&](std::string_view en, std::string_view zh, const std::string& tcp,
                 const std::string& udp) {
    t.line(fmt::format("  {} {} {}", pad(t.pick(en, zh), 20), pad(tcp, 40), udp));
  };
  row("", "", "TCP", "UDP");
  auto f = [&](std::string_view en, std::string_view zh, auto&&... args) {
    return fmt::format(fmt::runtime(t.pick(en, zh)), args...);
  };
  row("connection", "连接",
      f("listen/accept/connect, {} calls", "listen/accept/connect，{} 次调用",
        tc["calls"].get<int>()),
      f("none, {} calls", "无，{} 次调用", uc["calls"].get<int>()));
  row("reliability", "可靠性",
      f("lost {} of {}", "丢失 {} / {}", bt["lost"].get<uint64_t>(), bt["sent"].get<uint64_t>()),
      f("lost {} of {}", "丢失 {} / {}", bu["lost"].get<uint64_t>(), bu["sent"].get<uint64_t>()));
  if (impaired.value("available", false)) {
    const Json& it = impaired["tcp"];
    const Json& iu = impaired["udp"];
    row("over a lossy link", "经过丢包链路",
        f("lost {} of {}, p99 {:.0f} ms", "丢失 {} / {}，p99 {:.0f} 毫秒",
          it["lost"].get<uint64_t>(), it["sent"].get<uint64_t>(), it["p99_ms"].get<double>()),
        f("lost {} of {}, p99 {:.0f} ms", "丢失 {} / {}，p99 {:.0f} 毫秒",
          iu["lost"].get<uint64_t>(), iu["sent"].get<uint64_t>(), iu["p99_ms"].get<double>()));
  }
  // The lossy link reorders on purpose; loopback never does, so its count is the telling one.
  const bool over_link = impaired.value("available", false);
  const Json& ot = over_link ? impaired["tcp"] : bt;
  const Json& ou = over_link ? impaired["udp"] : bu;
  row("ordering", "顺序",
      f("guaranteed ({} reordered)", "有保证（乱序 {}）", ot["reordered"].get<uint64_t>()),
      f("not guaranteed ({} reordered here)", "无保证（本次乱序 {}）",
        ou["reordered"].get<uint64_t>()));
  row("boundaries", "消息边界",
      f("2 sends -> {} read(s)", "2 次 send -> {} 次读",
        b["tcp"]["first_read"] == "helloworld" ? 1 : 2),
      f("2 sends -> {} reads", "2 次 send -> {} 次读", b["udp"]["reads"].size()));
  row("size limit", "大小上限", f("none (a stream)", "无（字节流）"),
      f("65,507 B; 65,508 B {}", "65507 字节；65508 字节 {}",
        lim.value("over_errno", std::string())));
  row("head-of-line delay", "队头阻塞延迟",
      f("each waits its turn: last at {:.0f} ms", "后面的字节等前面的：最后一条 {:.0f} 毫秒",
        bt.value("all_delivered_after_ms", -1.0)),
      f("none; delivered ones waited <= {:.0f} ms", "无；送达的最多等了 {:.0f} 毫秒",
        bu.value("max_delay_ms", 0.0)));

  t.heading("Answer", "回答");
  t.say(
      "Yes, the chat works over UDP, but UDP gives only datagrams: no connection, no delivery\n"
      "or order guarantee, a size limit, and each message whole. TCP gives a reliable ordered\n"
      "byte stream at the cost of a connection, no message boundaries, and head-of-line delay.",
      "可以用 UDP 聊天，但 UDP 只提供数据报：无连接、不保证送达和顺序、有大小上限，但每条消息\n"
      "完整到达。TCP 提供可靠、有序的字节流，代价是要建立连接、没有消息边界，并有队头阻塞延迟。");

  return Json{{"chat_over_udp", chat}, {"calls", calls},       {"boundaries", b},
              {"datagram_limit", lim}, {"impaired", impaired}, {"busy_receiver", busy}};
}

}  // namespace chat::demo
