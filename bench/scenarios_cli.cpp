#include <fmt/format.h>

#include <memory>
#include <sstream>

#include "bench/cli_util.h"
#include "bench/compare.h"
#include "bench/fanout.h"
#include "bench/report.h"
#include "bench/rtt.h"
#include "bench/scenarios.h"
#include "bench/sink.h"
#include "bench/stream.h"
#include "src/cli/cli_checks.h"

namespace chat::bench {
namespace {

void register_stream(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<StreamOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto sizes = std::make_shared<std::string>("64,1400,16384,65000,131072");
  CLI::App* app = bench->add_subcommand("stream", "one-way throughput to a sink process");
  add_common(app, *c);
  app->add_option("-s,--size", *sizes, "comma list of message sizes (bytes)")
      ->check(cli::count_list(1, "message size"))
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
      ->check(cli::count_list(1, "message size"))
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
  app->add_option("-c,--clients", *clients, "comma list of client counts")
      ->check(cli::count_list(1, "client count"))
      ->capture_default_str();
  app->add_option("-m,--messages", o->messages, "messages per client")
      ->check(cli::number_in(1, 1000000))
      ->capture_default_str();
  app->add_option("-s,--size", o->size, "message size (bytes, at least 34)")
      ->check(cli::number_in(34, 1 << 20))
      ->capture_default_str();
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
                  "alternating rtt rounds per tool (medians compared)")
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
  return p;
}

void register_all(CLI::App* bench, int& exit_code) {
  auto profile = std::make_shared<std::string>("quick");
  auto out = std::make_shared<std::string>("reports/latest");
  auto no_compare = std::make_shared<bool>(false);
  auto no_report = std::make_shared<bool>(false);
  CLI::App* app =
      bench->add_subcommand("all", "every scenario (and compare) in one profile, then the report");
  app->add_option("--profile", *profile, "quick (minutes) or full (the reference report)")
      ->transform(cli::one_of({"quick", "full"}))
      ->capture_default_str();
  app->add_option("-o,--out", *out, "directory for results and the report")->capture_default_str();
  app->add_flag("--no-compare", *no_compare, "skip the sockperf/iperf3/ncat anchors");
  app->add_flag("--no-report", *no_report, "results only, no Markdown/plots");
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

void register_sink(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<SinkOptions>();
  CLI::App* app = bench->add_subcommand(
      "sink", "the receiving end of `bench stream` and `bench rate` (started by them)");
  app->add_option("-t,--transport", o->transport, "wire")
      ->transform(cli::one_of({"tcp", "udp"}))
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
  register_compare(bench, exit_code);
  register_all(bench, exit_code);
  register_sink(bench, exit_code);
}

}  // namespace chat::bench
