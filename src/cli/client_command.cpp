#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "src/chat/client_session.h"
#include "src/chat/console.h"
#include "src/chat/console_log.h"
#include "src/cli/cli_checks.h"
#include "src/cli/commands.h"
#include "src/iomodels/lockstep_client.h"
#include "transports/transport.h"

namespace chat::cli {
namespace {

struct ClientCliOptions {
  std::string transport{default_transport()};
  std::string host = "127.0.0.1";
  int port = 10000;
  std::string name;
  int linger_ms = 500;
  int timeout_ms = 5000;
  size_t max_payload = wire::kDefaultTcpMaxPayload;
  std::string io = "epoll";
};

std::string default_name() {
  const char* user = std::getenv("USER");
  return user && *user ? user : "guest";
}

// The course's client without its threads: plain text over TCP, one blocking call at a time.
int run_lockstep(const ClientCliOptions& o) {
  if (!serves_plain_text_stream(o.transport)) {
    fmt::print(stderr, "chat: --io lockstep is TCP only\n");
    return 2;
  }
  iomodels::LockstepOptions l;
  l.host = o.host;
  l.port = static_cast<uint16_t>(o.port);
  return iomodels::run_lockstep_client(l);
}

int run_client(const ClientCliOptions& o) {
  if (o.io == "lockstep") return run_lockstep(o);
  apply_verbosity();
  net::EventLoop loop;
  TransportConfig config;
  config.side = Side::kClient;
  config.host = o.host;
  config.port = static_cast<uint16_t>(o.port);
  config.name = o.name.empty() ? default_name() : o.name;
  config.connect_timeout = std::chrono::milliseconds(o.timeout_ms);
  config.max_payload = o.max_payload;

  auto made = make_transport(o.transport, loop, config);
  if (!made) {
    fmt::print(stderr, "chat: {}\n", made.error().message);
    return 2;
  }
  Transport& transport = **made;
  Console console(loop, fmt::format("{}> ", config.name));
  ConsoleLogRoute log_route(console);
  ClientOptions options;
  options.transport_name = o.transport;
  options.linger = std::chrono::milliseconds(o.linger_ms);
  ClientSession session(loop, transport, console, options);

  if (auto r = transport.start(session.callbacks()); !r) {
    fmt::print(stderr, "chat: {}\n", r.error().message);
    return 1;
  }
  loop.on_signals([&](int) { session.leave(); });
  session.start();
  loop.run();
  console.stop();
  return session.exit_code();
}

}  // namespace

void register_client(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<ClientCliOptions>();
  CLI::App* app = root.add_subcommand("client", "chat with a server (type q or /quit to leave)");
  app->add_option("-t,--transport", o->transport, "wire to use")
      ->transform(one_of(wire_names()))
      ->capture_default_str();
  app->add_option("-H,--host", o->host, "server name or address (IPv4 or IPv6)")
      ->capture_default_str();
  app->add_option("-p,--port", o->port, "server port (echo 10000, hub 10001)")
      ->check(number_in(1, 65535, "a port number"))
      ->capture_default_str();
  app->add_option("-n,--name", o->name, "your nick in a hub (default: $USER)");
  app->add_option("--linger", o->linger_ms, "ms to wait for replies after end of input")
      ->check(number_in(0, 3600000))
      ->capture_default_str();
  app->add_option("--timeout", o->timeout_ms, "ms to wait for the server to admit us")
      ->check(number_in(1, 3600000))
      ->capture_default_str();
  app->add_option("--max-payload", o->max_payload,
                  "largest message in bytes (a wire with a smaller limit caps it)")
      ->check(number_in(1, 64 << 20))
      ->capture_default_str();
  app->add_option("--io", o->io,
                  "epoll: keyboard and socket watched at once; lockstep: the course's client "
                  "without threads (read a line, send it, block in one receive; TCP, plain text)")
      ->check(CLI::IsMember({"epoll", "lockstep"}))
      ->capture_default_str();
  add_verbosity(*app);
  app->callback([o, &exit_code] { exit_code = run_client(*o); });
}

}  // namespace chat::cli
