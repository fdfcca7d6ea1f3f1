#include <fmt/format.h>

#include <memory>
#include <sstream>

#include "bench/cli_util.h"
#include "bench/fanout.h"
#include "bench/scenarios.h"
#include "bench/sink.h"
#include "bench/stream.h"

namespace chat::bench {
namespace {

void register_stream(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<StreamOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto sizes = std::make_shared<std::string>("64,1400,16384,65000,131072");
  CLI::App* app = bench->add_subcommand("stream", "one-way throughput to a sink process");
  add_common(app, *c);
  app->add_option("-s,--size", *sizes, "comma list of message sizes (bytes)")
      ->capture_default_str();
  app->add_option("-r,--rate", o->rate_mps, "target messages per second (0: unlimited)")
      ->capture_default_str();
  app->add_option("-d,--duration", o->duration_s, "seconds per point")->capture_default_str();
  app->add_option("--socket-buffer", o->socket_buffer, "SO_SNDBUF/SO_RCVBUF request (bytes)")
      ->capture_default_str();
  app->callback([o, c, sizes, app, &exit_code] {
    o->transports = split_list(c->transports);
    o->sizes = parse_size_list(*sizes);
    Progress progress;
    exit_code = finish_command(app, "stream", c->out, run_stream(*o, progress));
  });
}

void register_rate(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<RateOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto sizes = std::make_shared<std::string>("1400");
  CLI::App* app = bench->add_subcommand(
      "rate", "highest UDP rate with loss at or below a threshold (RFC 2544 binary search)");
  app->add_option("-o,--out", c->out, "directory for results.json and results.csv")
      ->capture_default_str();
  app->add_option("-s,--size", *sizes, "comma list of message sizes (bytes)")
      ->capture_default_str();
  app->add_option("--threshold", o->threshold_pct, "acceptable loss in percent")
      ->capture_default_str();
  app->add_option("--trial", o->trial_s, "seconds per trial")->capture_default_str();
  app->add_option("--max-trials", o->max_trials, "trials per size")->capture_default_str();
  app->add_option("--socket-buffer", o->socket_buffer, "SO_SNDBUF/SO_RCVBUF request (bytes)")
      ->capture_default_str();
  app->callback([o, c, sizes, app, &exit_code] {
    o->sizes = parse_size_list(*sizes);
    Progress progress;
    exit_code = finish_command(app, "rate", c->out, run_rate(*o, progress));
  });
}

void register_fanout(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<FanoutOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto clients = std::make_shared<std::string>("10,100,1000");
  CLI::App* app = bench->add_subcommand("fanout", "N clients in a hub, M messages each");
  add_common(app, *c);
  app->add_option("-c,--clients", *clients, "comma list of client counts")->capture_default_str();
  app->add_option("-m,--messages", o->messages, "messages per client")->capture_default_str();
  app->add_option("-s,--size", o->size, "message size (bytes, at least 34)")->capture_default_str();
  app->add_flag("--text", o->text, "plain-text line clients (TCP), as nc would be");
  app->add_option("--target", o->target,
                  "HOST:PORT of a running line-based hub, e.g. ncat --chat (loopback only)");
  app->add_option("--hub-name", o->tool, "what the target hub is, for the results")
      ->capture_default_str();
  app->add_option("--round-timeout", o->round_timeout_s, "seconds before a round is given up")
      ->capture_default_str();
  app->callback([o, c, clients, app, &exit_code] {
    o->transports = split_list(c->transports);
    o->clients = parse_size_list(*clients);
    if (!o->target.empty() && !o->text && o->tool == "chat") o->tool = "target";
    Progress progress;
    exit_code = finish_command(app, "fanout", c->out, run_fanout(*o, progress));
  });
}

void register_sink(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<SinkOptions>();
  CLI::App* app = bench->add_subcommand(
      "sink", "the receiving end of `bench stream` and `bench rate` (started by them)");
  app->add_option("-t,--transport", o->transport, "wire")
      ->check(CLI::IsMember({"tcp", "udp"}))
      ->capture_default_str();
  app->add_option("--bind", o->bind, "address (loopback)")->capture_default_str();
  app->add_option("-p,--port", o->port, "port (0: any free one)")->capture_default_str();
  app->add_option("--socket-buffer", o->socket_buffer, "SO_RCVBUF request (bytes)")
      ->capture_default_str();
  app->callback([o, &exit_code] { exit_code = run_sink(*o); });
}

}  // namespace

void register_scenarios(CLI::App* bench, int& exit_code) {
  register_stream(bench, exit_code);
  register_rate(bench, exit_code);
  register_fanout(bench, exit_code);
  register_sink(bench, exit_code);
}

}  // namespace chat::bench
