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
  // Every hub notice ends in "(N here)": the room is complete when the talker hears N = 3.
  size_t in_room = 0;
  talker.on_message = [&](Message&& m) {
    const size_t open = m.text.rfind('(');
    if (m.kind == MessageKind::kNotice && open != std::string::npos)
      in_room = std::strtoul(m.text.c_str() + open + 1, nullptr, 10);
  };
  if (auto r = talker.connect(5s); !r) return r.error();
  // The lockstep client speaks only when typed at, so the hub admits it as a text peer after its
  // silence; both must be in the room before anything is measured.
  const auto join_cap = loop.run_after(5s, [&] { loop.stop(); });
  const auto join_poll = loop.run_every(10ms, [&] {
    if (in_room >= 3) loop.stop();
  });
  if (in_room < 3) loop.run();
  loop.cancel(join_cap);
  loop.cancel(join_poll);
  if (in_room < 3) return make_error("the two clients did not both join the hub within 5 s");

  t.heading("Q1. If the multi-threading is removed, what happens, and why?",
            "思考题 1：如果去掉多线程，会出现什么现象？为什么？");
  t.say(
      "A hub; a talker sending {0} messages/s for {1:.0f} s; two clients whose user types a line\n"
      "every {2:.0f} s:\n"
      "  lockstep: chat client --io lockstep (read a line, send it, then block in one recv)\n"
      "  normal:   chat client (one epoll loop watches the keyboard and the socket at once)\n"
      "First the room is quiet; then the talker starts.",
      "一个聊天室；一个发言者每秒发 {0} 条消息，持续 {1:.0f} 秒；两个客户端，其用户每 {2:.0f} "
      "秒敲一行：\n"
      "  锁步：chat client --io lockstep（读一行输入，发送，再阻塞在一次 recv 上）\n"
      "  正常：chat client（一个 epoll 循环同时监视键盘和 socket）\n"
      "先是聊天室安静，然后发言者开始说话。",
      rate, duration_s, type_every_s);

  Watch normal_w, lockstep_w;
  uint64_t t0 = now_ns();
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

  // Part A, the room quiet: the user types into the lockstep client every half gap. A line goes
  // out at once only if the previous receive returned; once the client sits in recv with nothing
  // coming, the next line waits in the keyboard buffer until someone else speaks.
  constexpr int kQuietLines = 4;
  std::vector<uint64_t> quiet_typed(kQuietLines, 0);
  for (int i = 0; i < kQuietLines; ++i)
    loop.run_after(quiet_gap / 2 * i, [&, i] {
      quiet_typed[i] = now_ns();
      lockstep->type_line(fmt::format("quiet {}", i + 1));
    });
  uint64_t spoke_at = 0;
  const auto part_a = quiet_gap / 2 * (kQuietLines - 1) + quiet_gap;
  loop.run_after(part_a, [&] {
    spoke_at = now_ns();
    (void)talker.send(Message::chat("anyone here?"));
  });

  // Part B, the room busy: the talker at a steady rate, the user typing into both clients.
  net::TimerId talk = 0, typing = 0;
  int typed = 0;
  loop.run_after(part_a + 300ms, [&] {
    t0 = now_ns();
    talk = loop.run_every(std::chrono::milliseconds(1000 / rate), [&] {
      (void)talker.send(Message::chat(bench::make_text_payload(0, sent++, now_ns(), 64)));
    });
    typing = loop.run_every(std::chrono::milliseconds(int(type_every_s * 1000)), [&] {
      const std::string line = fmt::format("line {}", ++typed);
      normal->type_line(line);
      lockstep->type_line(line);
    });
    loop.run_after(std::chrono::milliseconds(int(duration_s * 1000)), [&] {
      loop.cancel(talk);
      loop.cancel(typing);
      loop.run_after(500ms, [&] { loop.stop(); });
    });
  });
  const auto cap = loop.run_after(std::chrono::seconds(int(duration_s) + 10), [&] { loop.stop(); });
  loop.run();
  loop.cancel(cap);
  normal->close_stdin();
  lockstep->close_stdin();
  talker.close();
  normal->wait(2s);
  lockstep->wait(1s);

  // When did the normal client show each quiet line the lockstep client sent?
  auto seen_at = [&](const std::string& text) -> uint64_t {
    for (const auto& [line, when] : normal_w.other_lines)
      if (line.size() >= text.size() &&
          line.compare(line.size() - text.size(), text.size(), text) == 0)
        return when;
    return 0;
  };
  Json quiet = Json::array();
  for (int i = 0; i < kQuietLines; ++i) {
    const uint64_t seen = seen_at(fmt::format("quiet {}", i + 1));
    quiet.push_back(Json{{"typed_ms", ms(quiet_typed[i] - quiet_typed[0])},
                         {"shown_after_ms", seen ? ms(seen - quiet_typed[i]) : -1.0}});
  }
  const double spoke_ms = ms(spoke_at - quiet_typed[0]);

  t.heading("First, the room quiet", "首先，聊天室安静时");
  t.say("The user typed {} lines into the lockstep client; someone else spoke at {:.0f} ms:",
        "用户向锁步客户端敲了 {} 行；{:.0f} 毫秒时才有别人说话：", kQuietLines, spoke_ms);
  for (int i = 0; i < kQuietLines; ++i) {
    const double after = quiet[i]["shown_after_ms"].get<double>();
    const bool stuck = after > ms(std::chrono::nanoseconds(quiet_gap).count()) / 4;
    t.say("  \"quiet {}\" typed at {:4.0f} ms, shown by the normal client {:6.1f} ms later{}",
          "  \"quiet {}\" 在 {:4.0f} 毫秒敲下，正常客户端 {:6.1f} 毫秒后显示{}", i + 1,
          quiet[i]["typed_ms"].get<double>(), after,
          stuck
              ? t.pick(": stuck unsent, the thread sat in recv", "：没能发出，线程正阻塞在 recv 上")
              : "");
  }

  t.heading("Then the room busy: what the lockstep client showed",
            "然后聊天室热闹起来：锁步客户端看到的");
  t.say(
      "Then the talker started. Each line below is one recv(); between them the lockstep\n"
      "client showed nothing, its only thread waiting for the keyboard.",
      "然后发言者开始说话。下面每行是一次 recv()；两次之间锁步客户端什么也不显示，\n"
      "它唯一的线程在等键盘。");
  for (const Json& b : lockstep_w.bursts) {
    const int n = b["messages"].get<int>();
    // Receives before the first typed line are the stuck quiet lines finally going out.
    const bool residue = b["t_s"].get<double>() < type_every_s * 0.9;
    t.say("  {:5.2f} s  one receive brought {:2} message{} at once, the oldest {:.0f} ms old{}",
          "  {:5.2f} 秒  一次接收一下子收到 {:2} 条消息{}，最早的一条已等了 {:.0f} 毫秒{}",
          b["t_s"].get<double>(), n, t.zh() ? "" : (n == 1 ? "" : "s"),
          b["oldest_ms"].get<double>(),
          residue ? t.pick(" (after a stuck quiet line went out)", "（卡住的那行发出之后）") : "");
  }
  if (lockstep_w.fragments > 0)
    t.say("  {} messages arrived cut in two: a receive of 1,024 bytes ends where it ends",
          "  {} 条消息被截成两半：一次 1024 字节的接收在哪里截断就在哪里截断",
          lockstep_w.fragments);

  t.heading("Delay from the talker's send to the screen", "从发言者发送到屏幕显示的延迟");
  t.line(fmt::format("{} {} {} {} {}", pad(std::string(t.pick("client", "客户端")), 10),
                     pad(std::string(t.pick("shown/sent", "显示/发送")), 11, true),
                     pad("p50 ms", 9, true), pad("p99 ms", 9, true), pad("max ms", 9, true)));
  for (const auto& [name, w] :
       {std::pair<std::string, Watch*>{"normal", &normal_w}, {"lockstep", &lockstep_w}})
    t.line(fmt::format("{} {:>11} {:>9.1f} {:>9.1f} {:>9.1f}", pad(name, 10),
                       fmt::format("{}/{}", w->received, sent), ms(w->delay.percentile(50)),
                       ms(w->delay.percentile(99)), ms(w->delay.max())));
  t.say(
      "{} messages never reached the lockstep client's screen: they were still waiting in its\n"
      "socket's receive buffer when it left.",
      "有 {} 条消息始终没显示在锁步客户端的屏幕上：它离开时，这些消息还躺在它的 socket "
      "接收缓冲区里。",
      sent - std::min<uint64_t>(sent, lockstep_w.received));

  t.heading("Answer", "回答");
  t.say(
      "Without threads the client does one blocking thing at a time, in a fixed order. While it\n"
      "waits for the keyboard it receives nothing, so messages pile up in the socket and come in\n"
      "bursts (p50 delay {0:.0f} ms against {1:.1f} ms with the normal client); while it waits in\n"
      "recv it cannot send what the user typed. Why: a blocking call holds the only thread.",
      "去掉多线程后，客户端一次只能按固定顺序做一件阻塞的事。它等键盘时什么也收不到，消息在 "
      "socket\n"
      "里越积越多，然后成批到达（p50 延迟 {0:.0f} 毫秒，正常客户端为 {1:.1f} 毫秒）；它阻塞在 "
      "recv\n"
      "上时，用户敲的内容又发不出去。原因：阻塞调用占住了唯一的线程。",
      ms(lockstep_w.delay.percentile(50)), ms(normal_w.delay.percentile(50)));

  return Json{{"rate_per_s", rate},
              {"duration_s", duration_s},
              {"type_every_s", type_every_s},
              {"sent", sent},
              {"normal", delay_json(normal_w, sent)},
              {"lockstep", delay_json(lockstep_w, sent)},
              {"lockstep_unread", sent - std::min<uint64_t>(sent, lockstep_w.received)},
              {"quiet", Json{{"lines", quiet}, {"someone_spoke_at_ms", spoke_ms}}}};
}

}  // namespace chat::demo
