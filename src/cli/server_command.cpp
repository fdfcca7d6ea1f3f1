#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>

#include "src/chat/console.h"
#include "src/chat/console_log.h"
#include "src/chat/echo_role.h"
#include "src/chat/hub_room.h"
#include "src/chat/p2p_role.h"
#include "src/cli/cli_checks.h"
#include "src/cli/commands.h"
#include "src/iomodels/hub_models.h"
#include "transports/transport.h"

namespace chat::cli {
namespace {

struct ServerOptions {
  std::string mode = "echo";
  std::string transport{default_transport()};
  std::string bind;
  std::optional<int> port;
  size_t max_clients = 0;
  size_t max_payload = wire::kDefaultTcpMaxPayload;
  int heartbeat_ms = 1000;
  int expiry_ms = 5000;
  int text_expiry_ms = 300000;
  int text_quiet_ms = 150;
  int idle_timeout_ms = 60000;
  std::string reply_prefix;
  std::string name;
  size_t high_water = 4 * 1024 * 1024;
  std::string overflow = "disconnect";
  int slow_reader_ms = 3000;
  int socket_buffer = 0;
  size_t udp_bundle_bytes = 1472;
  std::string io = "epoll";
  std::string io_backend;  // empty: echo mode waits as latency runs do, the others as any loop
  bool mode_given = false;
};

std::string user_name() {
  const char* user = std::getenv("USER");
  return user && *user ? user : "operator";
}

// The course's ports: echo on 10000, the hub on 10001; p2p had none fixed, so the next one.
uint16_t default_port(const std::string& mode) {
  if (mode == "hub") return 10001;
  if (mode == "p2p") return 10002;
  return 10000;
}

// The teaching I/O models (src/iomodels) serve only the hub, only over TCP.
int run_io_model(const ServerOptions& o) {
  if (o.mode_given && o.mode != "hub") {
    fmt::print(stderr, "chat: --io {} serves the hub only (use --mode hub, or --io epoll)\n", o.io);
    return 2;
  }
  if (!serves_plain_text_stream(o.transport)) {
    fmt::print(stderr, "chat: --io {} is TCP only (use --io epoll for {})\n", o.io, o.transport);
    return 2;
  }
  apply_verbosity();
  iomodels::HubModelOptions m;
  m.bind = o.bind;
  m.port = static_cast<uint16_t>(o.port.value_or(default_port("hub")));
  m.max_payload = o.max_payload;
  m.high_water_bytes = o.high_water;
  if (o.io == "threads") return iomodels::run_hub_threads(m);
  if (o.io == "select") return iomodels::run_hub_select(m);
  return iomodels::run_hub_poll(m);
}

int run_server(const ServerOptions& o) {
  if (o.io != "epoll") return run_io_model(o);
  apply_verbosity();
  // An echo server is what a latency run measures against (`chat bench rtt --target`), so it
  // waits as the rtt client does unless told.
  net::IoBackend backend = o.mode == "echo" ? net::latency_io_backend() : net::default_io_backend();
  net::parse_io_backend(o.io_backend, backend);
  net::EventLoop loop(backend);
  TransportConfig config;
  config.side = Side::kServer;
  config.bind = o.bind;
  config.port = static_cast<uint16_t>(o.port.value_or(default_port(o.mode)));
  config.max_payload = o.max_payload;
  config.heartbeat = std::chrono::milliseconds(o.heartbeat_ms);
  config.expiry = std::chrono::milliseconds(o.expiry_ms);
  config.text_expiry = std::chrono::milliseconds(o.text_expiry_ms);
  config.text_quiet = std::chrono::milliseconds(o.text_quiet_ms);
  config.idle_timeout = std::chrono::milliseconds(o.idle_timeout_ms);
  config.high_water_bytes = o.high_water;
  config.overflow = o.overflow == "drop" ? OverflowPolicy::kDrop : OverflowPolicy::kDisconnect;
  config.slow_reader_grace = std::chrono::milliseconds(o.slow_reader_ms);
  config.socket_buffer = o.socket_buffer;
  config.udp_bundle_bytes = o.udp_bundle_bytes;
  if (o.mode == "p2p") {
    config.max_peers = 1;
    config.full_reason = "this p2p server is busy: it already chats with one client";
  } else if (o.max_clients > 0) {
    config.max_peers = o.max_clients;
    config.full_reason = fmt::format("the {} is full ({} clients max)", o.mode, o.max_clients);
  }

  auto made = make_transport(o.transport, loop, config);
  if (!made) {
    fmt::print(stderr, "chat: {}\n", made.error().message);
    return 2;
  }
  Transport& transport = **made;

  std::unique_ptr<Console> console;
  std::unique_ptr<ConsoleLogRoute> log_route;
  std::unique_ptr<Role> role;
  P2pRole* p2p = nullptr;
  if (o.mode == "hub") {
    role = std::make_unique<HubRoom>(transport);
  } else if (o.mode == "p2p") {
    console = std::make_unique<Console>(loop, "> ");
    log_route = std::make_unique<ConsoleLogRoute>(*console);
    auto r = std::make_unique<P2pRole>(transport, *console, o.name.empty() ? user_name() : o.name);
    p2p = r.get();
    role = std::move(r);
  } else {
    role = std::make_unique<EchoRole>(transport, o.reply_prefix);
  }

  if (auto r = transport.start(role->callbacks()); !r) {
    fmt::print(stderr, "chat: {}\n", r.error().message);
    return 1;
  }

  bool stopping = false;
  auto stop = [&] {
    if (stopping) {
      loop.stop();  // a second signal: do not wait for goodbyes
      return;
    }
    stopping = true;
    if (console) console->stop();
    spdlog::info("shutting down: telling {} peer(s)", transport.peers().size());
    if (o.mode != "echo") transport.broadcast(Message::notice("the server is shutting down"));
    // Members that stopped reading get up to a second to take the goodbye; then we exit anyway.
    loop.run_after(std::chrono::seconds(3), [&] { loop.stop(); });
    transport.shutdown(std::chrono::milliseconds(1000), [&] { loop.stop(); });
  };
  loop.on_signals([&](int) { stop(); });

  // Always shown, even with -q: scripts and tests wait for this line to know the port.
  fmt::print(stderr, "chat: {} server listening on {} {}\n", o.mode, o.transport,
             transport.local_address().to_string());

  if (p2p) {
    console->start(
        [&](std::string line) {
          if (!p2p->operator_line(line)) stop();
        },
        [&] { loop.run_after(std::chrono::milliseconds(500), stop); });
  }
  loop.run();
  return 0;
}

}  // namespace

void register_server(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<ServerOptions>();
  CLI::App* app = root.add_subcommand("server", "run an echo, p2p or hub (chat room) server");
  app->add_option("--mode", o->mode,
                  "echo: replies to each sender; hub: a chat room; p2p: chat with one client "
                  "through this terminal")
      ->transform(one_of({"echo", "p2p", "hub"}))
      ->capture_default_str();
  app->add_option("-t,--transport", o->transport, "wire to serve on")
      ->transform(one_of(wire_names()))
      ->capture_default_str();
  app->add_option("--bind", o->bind,
                  "address to listen on (default: every interface, IPv4 and IPv6)");
  app->add_option("-p,--port", o->port,
                  "port (default: echo 10000, hub 10001, p2p 10002; 0 picks a free one)")
      ->check(number_in(0, 65535, "a port number"));
  app->add_option("--max-clients", o->max_clients, "refuse clients past this many (0: no limit)")
      ->check(number_in(0, 1000000));
  app->add_option("--max-payload", o->max_payload,
                  "largest message in bytes (a wire with a smaller limit caps it)")
      ->check(number_in(1, 64 << 20))
      ->capture_default_str();
  app->add_option("--heartbeat-ms", o->heartbeat_ms, "UDP heartbeat period")
      ->check(number_in(1, 3600000))
      ->capture_default_str();
  app->add_option("--expiry-ms", o->expiry_ms, "UDP member expiry after silence")
      ->check(number_in(1, 24 * 3600000))
      ->capture_default_str();
  app->add_option("--text-expiry-ms", o->text_expiry_ms,
                  "UDP: a plain-text member (nc -u) silent this long leaves the room")
      ->check(number_in(1, 24 * 3600000))
      ->capture_default_str();
  app->add_option("--text-quiet-ms", o->text_quiet_ms,
                  "TCP: bytes a plain-text peer sent without a newline count as one message once "
                  "it has been quiet this long")
      ->check(number_in(1, 60000))
      ->capture_default_str();
  app->add_option("--idle-timeout-ms", o->idle_timeout_ms,
                  "TCP: close a connection that has sent nothing at all for this long (0: never); "
                  "when descriptors run out the oldest such connection makes room for a new one")
      ->check(number_in(0, 86400000))
      ->capture_default_str();
  app->add_option("--reply-prefix", o->reply_prefix,
                  "echo: put this before each reply (the course's server said '收到: ')");
  app->add_option("--name", o->name,
                  "p2p: the operator's name, shown to the client (default: $USER)");
  app->add_option("--high-water", o->high_water, "per-client output queue limit in bytes")
      ->check(number_in(1, 1LL << 32))
      ->capture_default_str();
  app->add_option("--overflow", o->overflow,
                  "a client past the high-water mark: disconnect (TCP: the server stops reading "
                  "its clients until that queue drains, and cuts a client that cannot drain "
                  "within --slow-reader-ms) or drop (the client misses messages, is told how many "
                  "once it catches up, and the log says so)")
      ->transform(one_of({"disconnect", "drop"}))
      ->capture_default_str();
  app->add_option("--slow-reader-ms", o->slow_reader_ms,
                  "TCP, --overflow disconnect: how long a client's queue may stay past the "
                  "high-water mark (the room waiting for it) before it is cut as a slow reader")
      ->check(number_in(1, 3600000))
      ->capture_default_str();
  app->add_option("--socket-buffer", o->socket_buffer,
                  "SO_RCVBUF/SO_SNDBUF request in bytes (0: kernel default)")
      ->check(number_in(0, 1 << 30));
  app->add_option("--udp-bundle-bytes", o->udp_bundle_bytes,
                  "UDP: pack what one loop turn sends a member into datagrams of at most this "
                  "many bytes, the path MTU's IPv4 payload (IPv6 peers get 20 fewer); 0: one "
                  "message per datagram")
      ->check(number_in(0, 65507))
      ->capture_default_str();
  app->add_option("--io", o->io,
                  "server I/O model: epoll (one event loop), or for teaching a hub over TCP only: "
                  "threads (one blocking thread per client), select, poll")
      ->check(CLI::IsMember({"epoll", "threads", "select", "poll"}))
      ->capture_default_str();
  app->add_option("--io-backend", o->io_backend,
                  "what the event loop waits with: epoll; uring (io_uring: the wake-up brings "
                  "the bytes; epoll where the kernel refuses it); or blocking (epoll, but while "
                  "one socket is busy it sleeps in that socket's recvmsg, as sockperf does). "
                  "Default: blocking in echo mode, epoll otherwise; CHAT_IO_BACKEND sets both")
      ->check(CLI::IsMember({"epoll", "uring", "blocking"}));
  add_verbosity(*app);
  app->callback([o, app, &exit_code] {
    o->mode_given = app->get_option("--mode")->count() > 0;
    if (o->io != "epoll" && !o->mode_given) o->mode = "hub";
    exit_code = run_server(*o);
  });
}

}  // namespace chat::cli
