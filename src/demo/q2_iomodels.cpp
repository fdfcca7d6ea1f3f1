// Q2: "Besides multi-threading, how else can a socket send and receive at the same time?"
// The same hub under four server I/O models, driven by the same load (`chat bench fanout`), each
// measured for throughput, tail latency and what it cost the server in threads, memory and CPU.
#include <fmt/format.h>

#include <algorithm>

#include "bench/common.h"
#include "bench/fanout.h"
#include "src/demo/demo.h"
#include "src/demo/proc_sampler.h"
#include "src/demo/select_probe.h"

namespace chat::demo {
namespace {

struct Model {
  const char* io;
  const char* en;
  const char* zh;
};

constexpr Model kModels[] = {
    {"threads", "one thread per client, blocking calls", "每个客户端一个线程，阻塞调用"},
    {"select", "one thread, select(2)", "单线程，select(2)"},
    {"poll", "one thread, poll(2)", "单线程，poll(2)"},
    {"epoll", "one thread, epoll (the default)", "单线程，epoll（默认）"},
};

// Enough clients to pass select's 1,024 fds, however many the hub had open before them.
constexpr size_t kProbeClients = 1030;

// Fewer messages per client as the room grows: deliveries grow as N², the time must not.
size_t messages_for(size_t clients, bool quick) {
  if (clients <= 10) return quick ? 10 : 50;
  if (clients <= 100) return quick ? 3 : 10;
  return 1;
}

Json measure(const Model& m, size_t clients, const DemoOptions& o, bench::ScratchDir& scratch,
             bench::Progress& progress) {
  Json row{{"io", m.io}, {"clients", clients}};
  auto server = bench::start_chat_server(scratch, "hub", "tcp", {"--io", m.io});
  if (!server) {
    row["error"] = server.error().message;
    return row;
  }
  ProcSampler sampler(server->process.pid());
  bench::FanoutOptions f;
  f.transports = {"tcp"};
  f.clients = {clients};
  f.messages = messages_for(clients, o.quick);
  f.target = fmt::format("127.0.0.1:{}", server->port);
  f.tool = m.io;
  f.round_timeout_s = 3;
  f.max_seconds = 15;
  auto runs = bench::run_fanout(f, progress);
  const ProcUsage usage = sampler.finish();
  server->process.stop();
  if (!runs || runs->empty()) {
    row["error"] = runs ? "no result" : runs.error().message;
    return row;
  }
  const Json& mt = runs->front().metrics;
  row["messages_per_client"] = f.messages;
  for (const char* k : {"expected", "seen", "lost", "duplicates", "deliveries_per_s", "p50_us",
                        "p99_us", "max_us", "elapsed_s", "connect_s"})
    if (mt.contains(k)) row[k] = mt[k];
  row["server_threads"] = usage.threads;
  row["server_rss_kib"] = usage.rss_kib;
  row["server_cpu_s"] = usage.cpu_s;
  if (!runs->front().note.empty()) row["note"] = runs->front().note;
  return row;
}

void print_table(const Json& rows, Transcript& t) {
  t.line(fmt::format("{} {} {} {} {} {} {} {}", pad(std::string(t.pick("model", "模型")), 8),
                     pad(std::string(t.pick("clients", "客户端")), 7, true),
                     pad(std::string(t.pick("deliveries/s", "投递/秒")), 13, true),
                     pad(std::string(t.pick("p99 ms", "p99 毫秒")), 9, true),
                     pad(std::string(t.pick("threads", "线程")), 7, true),
                     pad(std::string(t.pick("RSS MiB", "内存 MiB")), 8, true),
                     pad(std::string(t.pick("CPU s", "CPU 秒")), 7, true),
                     t.pick("delivered", "送达")));
  for (const Json& r : rows) {
    if (r.contains("error")) {
      t.line(fmt::format("{} {} {}", pad(r["io"].get<std::string>(), 8),
                         pad(std::to_string(r["clients"].get<size_t>()), 7, true),
                         r["error"].get<std::string>()));
      continue;
    }
    t.line(fmt::format("{} {:>7} {:>13.0f} {:>9.2f} {:>7} {:>8.1f} {:>7.2f} {}/{}{}",
                       pad(r["io"].get<std::string>(), 8), r["clients"].get<size_t>(),
                       r.value("deliveries_per_s", 0.0), r.value("p99_us", 0.0) / 1000.0,
                       r.value("server_threads", 0), r.value("server_rss_kib", 0) / 1024.0,
                       r.value("server_cpu_s", 0.0), r.value("seen", 0), r.value("expected", 0),
                       r.contains("note") ? "  (" + r["note"].get<std::string>() + ")" : ""));
  }
}

const Json* find_row(const Json& rows, const std::string& io, size_t clients) {
  for (const Json& r : rows)
    if (r["io"] == io && r["clients"] == clients && !r.contains("error")) return &r;
  return nullptr;
}

}  // namespace

Result<Json> run_q2(const DemoOptions& o, Transcript& t) {
  bench::raise_fd_limit();
  bench::ScratchDir scratch;
  bench::Progress progress;
  const std::vector<size_t> sizes =
      o.quick ? std::vector<size_t>{10, 100} : std::vector<size_t>{10, 100, 1000};
  t.heading("Q2. Besides multi-threading, how else can a socket send and receive at once?",
            "思考题 2：除了多线程，还有什么办法让 socket 同时收发？");
  t.say("The same hub under four server I/O models (chat server --io MODEL), the same load",
        "同一个聊天室服务器换四种 I/O 模型（chat server --io 模型），同一份负载");
  t.say("(chat bench fanout: N clients, each message relayed to the N-1 others) at {} clients.",
        "（chat bench fanout：N 个客户端，每条消息转发给其余 N-1 人），客户端数 {}。",
        fmt::join(sizes, ", "));
  for (const Model& m : kModels) t.say("  {:<8} {}", "  {:<8} {}", m.io, t.pick(m.en, m.zh));
  if (!o.quick)
    t.say("At 1,000 clients the threads model really runs 1,000 threads, one per client.",
          "1000 个客户端时，线程模型真的开 1000 个线程，每个客户端一个。");
  t.line();

  Json rows = Json::array();
  for (const Model& m : kModels)
    for (size_t n : sizes) rows.push_back(measure(m, n, o, scratch, progress));
  progress.clear();
  print_table(rows, t);
  t.say(
      "Each round every client speaks once, so p99 is how long a whole round of (N-1)·N\n"
      "deliveries takes to get through the server: it grows with N for every model.",
      "每一轮每个客户端各发一条，因此 p99 是整轮 (N-1)·N 次投递穿过服务器所需的时间，\n"
      "对每种模型都随 N 增长。");

  // select's ceiling: keep clients connected until the hub refuses them.
  auto select_hub = bench::start_chat_server(scratch, "hub", "tcp", {"--io", "select"});
  SelectProbe probe;
  if (select_hub) {
    probe = probe_select_limit(select_hub->port, kProbeClients);
    select_hub->process.stop();
  } else {
    probe.error = select_hub.error().message;
  }
  t.line();
  if (probe.refused > 0) {
    t.say("select's ceiling: of {} clients joining at once, {} were admitted and {} refused with:",
          "select 的上限：{} 个客户端同时加入，{} 个被接纳，{} 个被拒绝，服务器说：", kProbeClients,
          probe.admitted, probe.refused);
    t.line("  \"" + probe.reason + "\"");
  } else {
    t.say("select's ceiling was not reached ({} clients admitted){}",
          "未触到 select 的上限（接纳了 {} 个客户端）{}", probe.admitted,
          probe.error.empty() ? "" : ": " + probe.error);
  }

  const size_t big = sizes.back();
  const Json* th = find_row(rows, "threads", big);
  const Json* ep = find_row(rows, "epoll", big);
  bool all_delivered = true;
  for (const Json& r : rows)
    if (r.contains("error") || r.value("seen", 0) != r.value("expected", 1)) all_delivered = false;
  t.heading("Answer", "回答");
  t.say("I/O multiplexing: one thread asks the kernel which sockets are ready and serves only",
        "I/O 多路复用：一个线程请内核告诉它哪些 socket 已就绪，只处理这些，");
  t.say("those, with sockets that never block (select, poll, epoll; also io_uring, or one",
        "且 socket 不会阻塞（select、poll、epoll；还有 io_uring，或每个客户端一个进程）。");
  t.say("process per client). {} delivered every message here.", "本次{}。",
        all_delivered ? t.pick("All four models", "四种模型都送达了每一条消息")
                      : t.pick("Not every model", "并非每种模型都送达了全部消息"));
  if (th && ep)
    t.say(
        "At {} clients the threads server ran {} threads in {:.1f} MiB; epoll ran {} in {:.1f} "
        "MiB.",
        "{} 个客户端时，线程模型的服务器开了 {} 个线程、占 {:.1f} MiB；epoll 只开 {} 个、占 {:.1f} "
        "MiB。",
        big, (*th)["server_threads"].get<uint64_t>(), (*th)["server_rss_kib"].get<double>() / 1024,
        (*ep)["server_threads"].get<uint64_t>(), (*ep)["server_rss_kib"].get<double>() / 1024);
  t.say("select cannot watch an fd at or above FD_SETSIZE (1,024); poll has no such ceiling",
        "select 无法监视编号不小于 FD_SETSIZE（1024）的 fd；poll 没有这个上限，");
  t.say("but hands the kernel every socket on every call; epoll keeps the list in the kernel.",
        "但每次调用都把全部 socket 交给内核；epoll 把关注列表留在内核里。");

  return Json{{"models", rows},
              {"clients", sizes},
              {"all_delivered", all_delivered},
              {"select_probe", Json{{"admitted", probe.admitted},
                                    {"refused", probe.refused},
                                    {"reason", probe.reason},
                                    {"error", probe.error},
                                    {"seconds", probe.seconds}}}};
}

}  // namespace chat::demo
