#include <fmt/format.h>

#include <memory>
#include <sstream>

#include "bench/cli_util.h"
#include "bench/compare.h"
#include "bench/fanout.h"
#include "bench/impair_flags.h"
#include "bench/path.h"
#include "bench/report.h"
#include "bench/rtt.h"
#include "bench/scenarios.h"
#include "bench/sink.h"
#include "bench/stream.h"
#include "bench/sweep.h"
#include "src/cli/cli_checks.h"

namespace chat::bench {
namespace {

void register_stream(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<StreamOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto sizes = std::make_shared<std::string>("64,1400,16384,65000,131072");
  auto impair = std::make_shared<ImpairFlags>();
  CLI::App* app = bench->add_subcommand("stream", "one-way throughput to a sink process");
  add_common(app, *c);
  impair->add_to(app);
  app->add_option("--target", o->target, "HOST:PORT of a running `chat bench sink` (any host)");
  app->add_option("-s,--size", *sizes, "comma list of message sizes (bytes)")
      ->check(cli::count_list(1, "message size"))
      ->capture_default_str();
  app->add_option("-r,--rate", o->rate_mps, "target messages per second (0: unlimited)")
      ->capture_default_str();
  app->add_option("-d,--duration", o->duration_s, "seconds per point")->capture_default_str();
  app->add_option("--socket-buffer", o->socket_buffer, "SO_SNDBUF/SO_RCVBUF request (bytes)")
      ->capture_default_str();
  app->callback([o, c, sizes, impair, app, &exit_code] {
    o->transports = split_list(c->transports);
    o->sizes = parse_size_list(*sizes);
    auto path = make_path(*impair, o->target);
    if (!path) {
      exit_code = usage_error(app, path.error().message);
      return;
    }
    o->path = *path;
    Progress progress;
    exit_code = finish_command(app, "stream", c->out, run_stream(*o, progress));
    o->path.reset();
  });
}

void register_rate(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<RateOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto sizes = std::make_shared<std::string>("1400");
  auto impair = std::make_shared<ImpairFlags>();
  CLI::App* app = bench->add_subcommand(
      "rate", "highest UDP rate with loss at or below a threshold (RFC 2544 binary search)");
  impair->add_to(app);
  app->add_option("-o,--out", c->out, "directory for results.json and results.csv")
      ->capture_default_str();
  app->add_option("-s,--size", *sizes, "comma list of message sizes (bytes)")
      ->check(cli::count_list(1, "message size"))
      ->capture_default_str();
  app->add_option("--threshold", o->threshold_pct, "acceptable loss in percent")
      ->capture_default_str();
  app->add_option("--trial", o->trial_s, "seconds per trial")->capture_default_str();
  app->add_option("--max-trials", o->max_trials, "trials per size")->capture_default_str();
  app->add_option("--socket-buffer", o->socket_buffer, "SO_SNDBUF/SO_RCVBUF request (bytes)")
      ->capture_default_str();
  app->callback([o, c, sizes, impair, app, &exit_code] {
    o->sizes = parse_size_list(*sizes);
    auto path = make_path(*impair);
    if (!path) {
      exit_code = usage_error(app, path.error().message);
      return;
    }
    o->path = *path;
    Progress progress;
    exit_code = finish_command(app, "rate", c->out, run_rate(*o, progress));
    o->path.reset();
  });
}

void register_fanout(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<FanoutOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto clients = std::make_shared<std::string>("10,100,1000");
  auto impair = std::make_shared<ImpairFlags>();
  CLI::App* app = bench->add_subcommand("fanout", "N clients in a hub, M messages each");
  add_common(app, *c);
  impair->add_to(app);
  app->add_option("-c,--clients", *clients, "comma list of client counts")
      ->check(cli::count_list(1, "client count"))
      ->capture_default_str();
  app->add_option("-m,--messages", o->messages,
                  "messages per client (default: enough for about 3 million deliveries per "
                  "point, 1 to 1000: 303 at 100 clients, 3 at 1000, 1 at 10000)")
      ->check(cli::number_in(1, 1000000));
  app->add_option("-s,--size", o->size, "message size (bytes, at least 34)")
      ->check(cli::number_in(34, 1 << 20))
      ->capture_default_str();
  app->add_flag("--text", o->text, "plain-text line clients (TCP), as nc would be");
  app->add_flag("--broadcast", o->broadcast,
                "one member sends, the others receive: times one message reaching the room");
  app->add_option("--target", o->target, "HOST:PORT of a running hub, e.g. ncat --chat (any host)");
  app->add_option("--hub-name", o->tool, "what the target hub is, for the results")
      ->capture_default_str();
  app->add_option("--round-timeout", o->round_timeout_s, "seconds before a round is given up")
      ->capture_default_str();
  app->add_option("--udp-bundle-bytes", o->udp_bundle_bytes,
                  "UDP hub: bundle size in bytes, as chat server takes it (0: one message per "
                  "datagram; default: the server's 1472)")
      ->check(cli::number_in(0, 65507));
  app->callback([o, c, clients, impair, app, &exit_code] {
    o->transports = split_list(c->transports);
    o->clients = parse_size_list(*clients);
    if (!o->target.empty() && !o->text && o->tool == "chat") o->tool = "target";
    auto path = make_path(*impair, o->target);
    if (!path) {
      exit_code = usage_error(app, path.error().message);
      return;
    }
    o->path = *path;
    Progress progress;
    exit_code = finish_command(app, "fanout", c->out, run_fanout(*o, progress));
    o->path.reset();
  });
}

void register_compare(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<CompareOptions>();
  auto out = std::make_shared<std::string>("bench-results");
  CLI::App* app = bench->add_subcommand(
      "compare", "our numbers beside sockperf, iperf3 and ncat --chat from the same run");
  app->add_option("-o,--out", *out, "directory for results.json and results.csv")
      ->capture_default_str();
  app->add_option("-d,--duration", o->duration_s, "seconds per rtt and stream measurement")
      ->capture_default_str();
  app->add_option("--rtt-rounds", o->rtt_rounds,
                  "alternating rtt rounds per tool (all their round trips pooled)")
      ->capture_default_str();
  app->add_option("--fanout-clients", o->fanout_clients, "text clients in each hub")
      ->capture_default_str();
  app->add_option("--fanout-messages", o->fanout_messages, "messages per client")
      ->capture_default_str();
  app->callback([o, out, app, &exit_code] {
    Progress progress;
    exit_code = finish_command(app, "compare", *out, run_compare(*o, progress));
  });
}

// One profile of every scenario. quick: a few minutes on 2 cores (the README's main command);
// full: longer points and more trials, for the committed reference report.
struct Profile {
  RttOptions rtt;
  StreamOptions stream;
  RateOptions rate;
  FanoutOptions fanout_small;  // 10 and 100 clients
  FanoutOptions fanout_large;  // 1,000 clients, fewer messages: n² deliveries per round
  CompareOptions compare;
  SweepOptions sweep;
};

Profile make_profile(bool full) {
  Profile p;
  p.rtt.count = full ? 20000 : 2000;
  p.rtt.warmup = full ? 1000 : 200;
  p.stream.duration_s = full ? 3.0 : 0.5;
  p.rate.sizes = {64, 1400, 16384};
  p.rate.trial_s = full ? 1.0 : 0.3;
  p.rate.max_trials = full ? 10 : 6;
  p.fanout_small.clients = {10, 100};
  p.fanout_small.messages = full ? 50 : 10;
  p.fanout_large.clients = {1000};
  p.fanout_large.messages = full ? 3 : 1;
  p.compare.duration_s = full ? 3.0 : 1.0;
  p.compare.rtt_rounds = full ? 5 : 3;
  p.compare.fanout_messages = full ? 50 : 10;
  if (!full) {
    p.sweep.loss_pct = {0, 1, 5};
    p.sweep.probe_s = 1.0;
    p.sweep.bulk_s = 1.0;
  }
  return p;
}

void register_all(CLI::App* bench, int& exit_code) {
  auto profile = std::make_shared<std::string>("quick");
  auto out = std::make_shared<std::string>("reports/latest");
  auto no_compare = std::make_shared<bool>(false);
  auto no_report = std::make_shared<bool>(false);
  auto no_sweep = std::make_shared<bool>(false);
  CLI::App* app =
      bench->add_subcommand("all", "every scenario (and compare) in one profile, then the report");
  app->add_option("--profile", *profile, "quick (minutes) or full (the reference report)")
      ->transform(cli::one_of({"quick", "full"}))
      ->capture_default_str();
  app->add_option("-o,--out", *out, "directory for results and the report")->capture_default_str();
  app->add_flag("--no-compare", *no_compare, "skip the sockperf/iperf3/ncat anchors");
  app->add_flag("--no-report", *no_report, "results only, no Markdown/plots");
  app->add_flag("--no-sweep", *no_sweep, "skip the loss × delay sweep over the emulated link");
  app->callback([=, &exit_code] {
    const Profile p = make_profile(*profile == "full");
    auto doc = new_document(command_line(*app), *profile);
    Progress progress;
    auto step = [&](const char* what, Result<std::vector<RunRecord>> runs) {
      if (!runs) {
        fmt::print(stderr, "chat bench all: {}: {}\n", what, runs.error().message);
        exit_code = 1;
        return;
      }
      doc.runs.insert(doc.runs.end(), runs->begin(), runs->end());
      // Saved after every step: an interrupted run still leaves what it measured.
      (void)save_document(doc, *out);
    };
    step("rtt", run_rtt(p.rtt, progress));
    step("stream", run_stream(p.stream, progress));
    step("rate", run_rate(p.rate, progress));
    step("fanout", run_fanout(p.fanout_small, progress));
    step("fanout", run_fanout(p.fanout_large, progress));
    if (!*no_compare) step("compare", run_compare(p.compare, progress));
    if (!*no_sweep) {
      // The sweep needs the emulated link; where it cannot be made, the rest still stands.
      auto swept = run_sweep(p.sweep, progress);
      if (swept)
        step("sweep", std::move(swept));
      else
        fmt::print(stderr, "chat bench all: no loss sweep: {}\n", swept.error().message);
    }
    const int saved = finish_document(doc, *out);
    if (saved != 0) exit_code = saved;
    if (*no_report) return;
    auto md = render_report({std::filesystem::path(*out) / "results.json"}, *out);
    if (!md) {
      fmt::print(stderr, "chat report: {}\n", md.error().message);
      exit_code = 1;
      return;
    }
    fmt::print("report: {}\n", md->string());
  });
}

std::vector<double> parse_number_list(const std::string& text) {
  std::vector<double> out;
  for (const auto& item : split_list(text)) out.push_back(std::stod(item));
  return out;
}

void register_sweep(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<SweepOptions>();
  auto out = std::make_shared<std::string>("bench-results");
  auto transports = std::make_shared<std::string>();
  auto loss = std::make_shared<std::string>("0,0.5,1,2,5,10");
  auto delay = std::make_shared<std::string>("0,20");
  CLI::App* app = bench->add_subcommand(
      "sweep",
      "loss × delay × wire over an emulated link: delivered fraction, one-way delay, "
      "goodput, retransmissions (needs root or an unprivileged user namespace)");
  app->add_option("-o,--out", *out, "directory for results.json and results.csv")
      ->capture_default_str();
  app->add_option("-t,--transport", *transports, "comma list of wires (default: every wire)")
      ->transform(cli::list_of(wire_names()));
  app->add_option("--loss", *loss, "comma list of loss rates in percent")->capture_default_str();
  app->add_option("--delay", *delay, "comma list of one-way delays in ms")->capture_default_str();
  app->add_option("--base", o->base, "impairment every point shares (a bottleneck, jitter, …)")
      ->capture_default_str();
  app->add_option("--seed", o->seed, "the loss model's seed (same seed, same drops)")
      ->capture_default_str();
  app->add_option(
      "--tcp-cc", o->tcp_cc,
      "TCP congestion control of the sender, e.g. cubic or bbr (default: the kernel's)");
  app->add_option("--probe-s", o->probe_s, "seconds of 64 B / 1 ms probe per point")
      ->capture_default_str();
  app->add_option("--bulk-s", o->bulk_s, "seconds of bulk transfer per point")
      ->capture_default_str();
  app->callback([=, &exit_code] {
    o->transports = split_list(*transports);
    try {
      o->loss_pct = parse_number_list(*loss);
      o->delay_ms = parse_number_list(*delay);
    } catch (const std::exception&) {
      exit_code = usage_error(app, "--loss and --delay take comma lists of numbers");
      return;
    }
    if (o->loss_pct.empty() || o->delay_ms.empty()) {
      exit_code = usage_error(app, "--loss and --delay need at least one value each");
      return;
    }
    Progress progress;
    exit_code = finish_command(app, "sweep", *out, run_sweep(*o, progress));
  });
}

void register_sink(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<SinkOptions>();
  CLI::App* app = bench->add_subcommand(
      "sink", "the receiving end of `bench stream` and `bench rate` (started by them)");
  app->add_option("-t,--transport", o->transport, "wire")
      ->transform(cli::one_of(wire_names()))
      ->capture_default_str();
  app->add_option("--bind", o->bind,
                  "address to listen on (0.0.0.0 or :: to be measured from another host)")
      ->capture_default_str();
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
  register_compare(bench, exit_code);
  register_all(bench, exit_code);
  register_sweep(bench, exit_code);
  register_sink(bench, exit_code);
}

}  // namespace chat::bench
