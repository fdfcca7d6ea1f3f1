// Q1: "If the multi-threading is removed, what happens, and why?"
// A hub, a talker at a steady rate, and two real `chat client` processes whose user types on the
// same schedule: the lockstep client (the lab's client with its threads removed) and the normal
// one (one epoll loop). The demo reads what each prints, when, and times every message's delay.
#include <fmt/format.h>

#include <memory>

#include "bench/bench_client.h"
#include "bench/common.h"
#include "bench/histogram.h"
#include "src/demo/demo.h"
#include "src/demo/piped_child.h"
#include "src/util/clock.h"

namespace chat::demo {
namespace {

using namespace std::chrono_literals;

// What one client showed: each talker message's delay, grouped into the receives it came in.
struct Watch {
  bench::Histogram delay;
  uint64_t received = 0;
  uint64_t fragments = 0;  // pieces of a message cut by a fixed-size receive
  Json bursts = Json::array();
  uint64_t last_arrival = 0;
  std::vector<std::pair<std::string, uint64_t>> other_lines;  // (line, when)
};

double ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

Json delay_json(const Watch& w, uint64_t sent) {
  return Json{{"received", w.received},
              {"sent", sent},
              {"p50_ms", ms(w.delay.percentile(50))},
              {"p90_ms", ms(w.delay.percentile(90))},
              {"p99_ms", ms(w.delay.percentile(99))},
              {"max_ms", ms(w.delay.max())},
              {"fragments", w.fragments},
              {"receives", w.bursts}};
}

void take_lines(PipedChild& child, Watch& w, uint64_t t0, bool& eof) {
  const uint64_t now = now_ns();
  for (const std::string& line : child.read_lines(eof)) {
    auto p = bench::parse_text_payload(line);
    if (!p) {
      w.other_lines.emplace_back(line, now);
      if (line.rfind("***", 0) != 0 && line.find(": ") == std::string::npos) ++w.fragments;
      continue;
    }
    ++w.received;
    w.delay.record(now > p->ns ? now - p->ns : 0);
    // Lines read together within a few ms came out of one receive.
    if (w.bursts.empty() || now - w.last_arrival > 20'000'000ull)
      w.bursts.push_back(Json{{"t_s", static_cast<double>(now - t0) / 1e9},
                              {"messages", 0},
                              {"oldest_ms", ms(now - p->ns)}});
    auto& b = w.bursts.back();
    b["messages"] = b["messages"].get<int>() + 1;
    b["oldest_ms"] = std::max(b["oldest_ms"].get<double>(), ms(now - p->ns));
    w.last_arrival = now;
  }
}

}  // namespace

Result<Json> run_q1(const DemoOptions& o, Transcript& t) {
  const double duration_s = o.quick ? 3.0 : 8.0;
  const double type_every_s = 1.0;
  const int rate = 20;  // talker messages per second
  const auto quiet_gap = o.quick ? 400ms : 1000ms;

  bench::ScratchDir scratch;
  auto hub = bench::start_chat_server(scratch, "hub", "tcp");
  if (!hub) return hub.error();
  const std::string port = std::to_string(hub->port);
  const std::string self = bench::self_executable();
  auto normal = PipedChild::spawn(
      {self, "client", "--port", port, "--name", "normal", "--linger", "300", "-q"});
  if (!normal) return normal.error();
  auto lockstep = PipedChild::spawn({self, "client", "--io", "lockstep", "--port", port},
                                    scratch / "lockstep.log");
  if (!lockstep) return lockstep.error();

  net::EventLoop loop;
  bench::LinkOptions link;
  link.port = hub->port;
  link.name = "talker";
  bench::BenchClient talker(loop, link);
  int joined = 0;
  talker.on_message = [&](Message&& m) {
    if (m.kind == MessageKind::kNotice && m.text.find(" joined") != std::string::npos) ++joined;
  };
  if (auto r = talker.connect(5s); !r) return r.error();
  // The lockstep client speaks only when typed at, so the hub admits it as a text peer after its
  // silence; both must be in the room before anything is measured.
  const auto join_cap = loop.run_after(5s, [&] { loop.stop(); });
  const auto join_poll = loop.run_every(10ms, [&] {
    if (joined >= 2) loop.stop();
  });
  if (joined < 2) loop.run();
  loop.cancel(join_cap);
  loop.cancel(join_poll);
  if (joined < 2) return make_error("the two clients did not both join the hub within 5 s");

  t.heading("Q1. If the multi-threading is removed, what happens, and why?",
            "思考题 1：如果去掉多线程，会出现什么现象？为什么？");
  t.say(
      "A hub; a talker sending {0} messages/s for {1:.0f} s; two clients whose user types a line\n"
      "every {2:.0f} s:\n"
      "  lockstep: chat client --io lockstep (read a line, send it, then block in one recv)\n"
      "  normal:   chat client (one epoll loop watches the keyboard and the socket at once)",
      "一个聊天室；一个发言者每秒发 {0} 条消息，持续 {1:.0f} 秒；两个客户端，其用户每 {2:.0f} 秒敲一行：\n"
      "  锁步：chat client --io lockstep（读一行输入，发送，再阻塞在一次 recv 上）\n"
      "  正常：chat client（一个 epoll 循环同时监视键盘和 socket）",
      rate, duration_s, type_every_s);

  Watch normal_w, lockstep_w;
  const uint64_t t0 = now_ns();
  uint32_t sent = 0;
  bool normal_eof = false, lockstep_eof = false;
  loop.add(normal->stdout_fd(), EPOLLIN, [&](uint32_t) {
    take_lines(*normal, normal_w, t0, normal_eof);
    if (normal_eof) loop.remove(normal->stdout_fd());
  });
  loop.add(lockstep->stdout_fd(), EPOLLIN, [&](uint32_t) {
    take_lines(*lockstep, lockstep_w, t0, lockstep_eof);
    if (lockstep_eof) loop.remove(lockstep->stdout_fd());
  });
  const auto talk = loop.run_every(std::chrono::milliseconds(1000 / rate), [&] {
    (void)talker.send(Message::chat(bench::make_text_payload(0, sent++, now_ns(), 64)));
  });
  int typed = 0;
  const auto typing = loop.run_every(std::chrono::milliseconds(int(type_every_s * 1000)), [&] {
    const std::string line = fmt::format("line {}", ++typed);
    normal->type_line(line);
    lockstep->type_line(line);
  });
  loop.run_after(std::chrono::milliseconds(int(duration_s * 1000)), [&] {
    loop.cancel(talk);
    loop.cancel(typing);
  });

  // Then the room goes quiet, and the other half of the answer shows: the user types twice; the
  // first line is sent, the second waits in the keyboard buffer while the only thread sits in
  // recv, until someone else speaks.
  uint64_t quiet1_at = 0, quiet2_at = 0, unblock_at = 0;
  auto after = [&](std::chrono::milliseconds d, std::function<void()> fn) {
    loop.run_after(std::chrono::milliseconds(int(duration_s * 1000)) + 500ms + d, std::move(fn));
  };
  after(0ms, [&] {
    quiet1_at = now_ns();
    lockstep->type_line("quiet one");
  });
  after(quiet_gap / 2, [&] {
    quiet2_at = now_ns();
    lockstep->type_line("quiet two");
  });
  after(quiet_gap / 2 + quiet_gap, [&] {
    unblock_at = now_ns();
    (void)talker.send(Message::chat("anyone here?"));
  });
  after(quiet_gap * 2 + 500ms, [&] { loop.stop(); });
  loop.run();
  normal->close_stdin();
  lockstep->close_stdin();
  talker.close();
  normal->wait(2s);
  lockstep->wait(1s);

  // When did the normal client see each quiet line that the lockstep client sent?
  auto seen_at = [&](std::string_view text) -> uint64_t {
    for (const auto& [line, when] : normal_w.other_lines)
      if (line.find(text) != std::string::npos) return when;
    return 0;
  };
  const uint64_t quiet1_seen = seen_at("quiet one"), quiet2_seen = seen_at("quiet two");
  const double quiet1_ms = quiet1_seen ? ms(quiet1_seen - quiet1_at) : -1;
  const double quiet2_ms = quiet2_seen ? ms(quiet2_seen - quiet2_at) : -1;

  t.heading("What the lockstep client showed", "单线程锁步客户端看到的");
  t.say("  0.00 s .. {:.2f} s  nothing at all (its only thread was waiting for the keyboard)",
        "  0.00 秒 .. {:.2f} 秒  什么也没有（唯一的线程在等键盘输入）",
        lockstep_w.bursts.empty() ? duration_s : lockstep_w.bursts[0]["t_s"].get<double>());
  for (const Json& b : lockstep_w.bursts)
    t.say("  {:5.2f} s  one receive brought {:2} messages at once, the oldest {:.0f} ms old",
          "  {:5.2f} 秒  一次接收一下子收到 {:2} 条消息，最早的一条已等了 {:.0f} 毫秒",
          b["t_s"].get<double>(), b["messages"].get<int>(), b["oldest_ms"].get<double>());
  if (lockstep_w.fragments > 0)
    t.say("  {} messages arrived cut in two: a receive of 1,024 bytes ends where it ends",
          "  {} 条消息被截成两半：一次 1024 字节的接收在哪里截断就在哪里截断", lockstep_w.fragments);

  t.heading("Delay from the talker's send to the screen", "从发言者发送到屏幕显示的延迟");
  t.line(fmt::format("{} {} {} {} {}", pad(std::string(t.pick("client", "客户端")), 10),
                     pad(std::string(t.pick("shown/sent", "显示/发送")), 11, true),
                     pad("p50 ms", 9, true), pad("p99 ms", 9, true), pad("max ms", 9, true)));
  for (const auto& [name, w] : {std::pair<std::string, Watch*>{"normal", &normal_w},
                                {"lockstep", &lockstep_w}})
    t.line(fmt::format("{} {:>11} {:>9.1f} {:>9.1f} {:>9.1f}", pad(name, 10),
                       fmt::format("{}/{}", w->received, sent), ms(w->delay.percentile(50)),
                       ms(w->delay.percentile(99)), ms(w->delay.max())));
  t.say(
      "{} messages never reached the lockstep client's screen: they were still waiting in its\n"
      "socket's receive buffer when it left.",
      "有 {} 条消息始终没显示在锁步客户端的屏幕上：它离开时，这些消息还躺在它的 socket 接收缓冲区里。",
      sent - std::min<uint64_t>(sent, lockstep_w.received));

  t.heading("Then the room went quiet", "然后聊天室安静下来");
  t.say(
      "The user typed \"quiet one\": the normal client showed it {0:.1f} ms later (it was sent,\n"
      "then the lockstep client blocked in recv). \"quiet two\", typed {1:.0f} ms later, took\n"
      "{2:.0f} ms: it could not be sent until the talker spoke, {3:.0f} ms after it was typed.",
      "用户敲了 \"quiet one\"：正常客户端 {0:.1f} 毫秒后就显示了（它被发出，随后锁步客户端阻塞在\n"
      "recv 上）。{1:.0f} 毫秒后敲的 \"quiet two\" 用了 {2:.0f} 毫秒：直到发言者在它敲下 {3:.0f} 毫秒后\n"
      "说话，它才被发出去。",
      quiet1_ms, ms(quiet2_at - quiet1_at), quiet2_ms, ms(unblock_at - quiet2_at));

  t.heading("Answer", "回答");
  t.say(
      "Without threads the client does one blocking thing at a time, in a fixed order. While it\n"
      "waits for the keyboard it receives nothing, so messages pile up in the socket and come in\n"
      "bursts (p50 delay {0:.0f} ms against {1:.1f} ms with the normal client); while it waits in\n"
      "recv it cannot send what the user typed. Why: a blocking call holds the only thread.",
      "去掉多线程后，客户端一次只能按固定顺序做一件阻塞的事。它等键盘时什么也收不到，消息在 socket\n"
      "里越积越多，然后成批到达（p50 延迟 {0:.0f} 毫秒，正常客户端为 {1:.1f} 毫秒）；它阻塞在 recv\n"
      "上时，用户敲的内容又发不出去。原因：阻塞调用占住了唯一的线程。",
      ms(lockstep_w.delay.percentile(50)), ms(normal_w.delay.percentile(50)));

  return Json{{"rate_per_s", rate},
              {"duration_s", duration_s},
              {"type_every_s", type_every_s},
              {"sent", sent},
              {"normal", delay_json(normal_w, sent)},
              {"lockstep", delay_json(lockstep_w, sent)},
              {"lockstep_unread", sent - std::min<uint64_t>(sent, lockstep_w.received)},
              {"quiet", Json{{"first_line_ms", quiet1_ms},
                             {"second_line_ms", quiet2_ms},
                             {"talker_spoke_after_ms", ms(unblock_at - quiet2_at)}}}};
}

}  // namespace chat::demo
