#include "bench/bench_cli.h"

#include <fmt/format.h>

#include <memory>
#include <sstream>

#include "bench/report.h"
#include "bench/results.h"
#include "bench/rtt.h"
#include "bench/scenarios.h"

namespace chat::bench {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string command_line(const CLI::App& app) {
  // Rebuilds what was asked for the document's "command" field.
  std::string cmd = "chat";
  std::vector<const CLI::App*> chain;
  for (const CLI::App* a = &app; a && a->get_parent(); a = a->get_parent()) chain.push_back(a);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    cmd += " " + (*it)->get_name();
  }
  for (const auto* opt : app.get_options()) {
    if (opt->count() == 0 || opt->get_name() == "--help") continue;
    cmd += " " + opt->get_name();
    for (const auto& v : opt->results()) cmd += " " + v;
  }
  return cmd;
}

// Saves, prints the summary table, and says where the files went; returns the exit code.
int finish(ResultsDocument& doc, const std::string& out_dir) {
  std::fputs(summary_table(doc).c_str(), stdout);
  std::fflush(stdout);
  if (auto r = save_document(doc, out_dir); !r) {
    fmt::print(stderr, "chat bench: {}\n", r.error().message);
    return 1;
  }
  fmt::print(stderr, "chat bench: wrote {0}/results.json and {0}/results.csv\n", out_dir);
  for (const auto& run : doc.runs)
    if (!run.note.empty() && run.tool == "chat" && run.metrics.empty()) return 1;
  return 0;
}

struct Common {
  std::string out = "bench-results";
  std::string transports = "tcp,udp";
};

void add_common(CLI::App* app, Common& c) {
  app->add_option("-o,--out", c.out, "directory for results.json and results.csv")
      ->capture_default_str();
  app->add_option("-t,--transport", c.transports, "comma list of wires")->capture_default_str();
}

void register_rtt(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<RttOptions>();
  auto c = std::make_shared<Common>();
  auto sizes = std::make_shared<std::string>("16,64,256,1024,4096,16384,65000");
  CLI::App* app = bench->add_subcommand("rtt", "round-trip latency through an echo server");
  add_common(app, *c);
  app->add_option("-s,--size", *sizes, "comma list of message sizes (bytes)")
      ->capture_default_str();
  app->add_option("-n,--count", o->count, "round trips per point (0: use --duration)");
  app->add_option("-d,--duration", o->duration_s, "seconds per point when --count is 0")
      ->capture_default_str();
  app->add_option("--warmup", o->warmup, "round trips discarded first")->capture_default_str();
  app->add_option("--timeout-ms", o->timeout_ms, "a request unanswered this long is lost")
      ->capture_default_str();
  app->add_option("--target", o->target, "HOST:PORT of a running echo server (loopback only)");
  app->add_flag("--busy-poll", o->busy_poll, "spin instead of sleeping in epoll_wait");
  app->callback([o, c, sizes, app, &exit_code] {
    o->transports = split_list(c->transports);
    o->sizes = parse_size_list(*sizes);
    Progress progress;
    auto runs = run_rtt(*o, progress);
    if (!runs) {
      fmt::print(stderr, "chat bench rtt: {}\n", runs.error().message);
      exit_code = 1;
      return;
    }
    auto doc = new_document(command_line(*app));
    doc.runs = std::move(*runs);
    exit_code = finish(doc, c->out);
  });
}

void register_report(CLI::App& root, int& exit_code) {
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* app = root.add_subcommand(
      "report", "turn bench results into a Markdown report with plots (matplotlib)");
  app->add_option("results", *inputs, "results JSON files written by `chat bench`")
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
