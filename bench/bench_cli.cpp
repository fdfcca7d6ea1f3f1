#include "bench/bench_cli.h"

#include <fmt/format.h>

#include <memory>
#include <sstream>

#include "bench/cli_util.h"
#include "bench/impair_flags.h"
#include "bench/path.h"
#include "bench/placement.h"
#include "bench/report.h"
#include "bench/results.h"
#include "bench/rtt.h"
#include "bench/scenarios.h"
#include "src/cli/cli_checks.h"

namespace chat::bench {
namespace {

void register_rtt(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<RttOptions>();
  auto c = std::make_shared<CommonOptions>();
  auto sizes = std::make_shared<std::string>("16,64,256,1024,4096,16384,65000");
  auto impair = std::make_shared<ImpairFlags>();
  CLI::App* app = bench->add_subcommand("rtt", "round-trip latency through an echo server");
  add_common(app, *c);
  impair->add_to(app);
  app->add_option("-s,--size", *sizes, "comma list of message sizes (bytes)")
      ->check(cli::count_list(1, "message size"))
      ->capture_default_str();
  app->add_option("-n,--count", o->count, "round trips per point (0: use --duration)")
      ->check(cli::number_in(0, 1000000000));
  app->add_option("-d,--duration", o->duration_s, "seconds per point when --count is 0")
      ->capture_default_str();
  app->add_option("--warmup", o->warmup, "round trips discarded first")->capture_default_str();
  app->add_option("--timeout-ms", o->timeout_ms, "a request unanswered this long is lost")
      ->capture_default_str();
  app->add_option("--target", o->target, "HOST:PORT of a running echo server (any host)");
  app->add_flag("--busy-poll", o->busy_poll, "spin instead of sleeping");
  app->add_option_function<std::string>(
         "--io-backend",
         [o](const std::string& name) { net::parse_io_backend(name, o->io_backend); },
         "what the client and the echo server wait with: epoll, uring or blocking (default: "
         "blocking, or CHAT_IO_BACKEND)")
      ->check(CLI::IsMember({"epoll", "uring", "blocking"}));
  app->add_flag_callback(
      "--pin", [o] { o->placement = separate_cores(); },
      "client on one core, echo server on another (as compare does)");
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
    exit_code = finish_command(app, "rtt", c->out, run_rtt(*o, progress));
    o->path.reset();
  });
}

void register_report(CLI::App& root, int& exit_code) {
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* app = root.add_subcommand(
      "report", "turn bench results into a Markdown report with plots (matplotlib)");
  app->add_option("results", *inputs,
                  "results JSON files written by `chat bench` or `chat demo` (q1.json ...)")
      ->required()
      ->check(CLI::ExistingFile);
  app->add_option("-o,--out", *out, "report directory (default: beside the first input)");
  app->callback([inputs, out, &exit_code] {
    std::vector<std::filesystem::path> paths(inputs->begin(), inputs->end());
    const std::filesystem::path dir = out->empty()
                                          ? std::filesystem::absolute(paths.front()).parent_path()
                                          : std::filesystem::path(*out);
    auto md = render_report(paths, dir);
    if (!md) {
      fmt::print(stderr, "chat report: {}\n", md.error().message);
      exit_code = 1;
      return;
    }
    fmt::print("{}\n", md->string());
  });
}

}  // namespace

void register_commands(CLI::App& root, int& exit_code) {
  CLI::App* bench = root.add_subcommand(
      "bench", "measure TCP against UDP on this machine (results as JSON and CSV)");
  bench->require_subcommand(1);
  register_rtt(bench, exit_code);
  register_scenarios(bench, exit_code);
  register_report(root, exit_code);
}

}  // namespace chat::bench
