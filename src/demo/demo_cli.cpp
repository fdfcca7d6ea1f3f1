// `chat demo q1|q2|q3|all [--lang zh] [--quick] [-o DIR]`.
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <memory>

#include "src/demo/demo.h"

namespace chat::demo {
namespace {

constexpr int kDemoSchema = 1;

struct CliOptions {
  std::string lang = "en";
  bool quick = false;
  std::string out = "demo-results";
};

using Runner = Result<Json> (*)(const DemoOptions&, Transcript&);

// Runs one demo, writes DIR/NAME.json with its numbers and its transcript; false on failure.
bool run_one(const std::string& name, Runner runner, const DemoOptions& o) {
  Transcript t(o.lang);
  const auto t0 = std::chrono::steady_clock::now();
  Result<Json> doc = runner(o, t);
  if (!doc) {
    fmt::print(stderr, "chat demo {}: {}\n", name, doc.error().message);
    return false;
  }
  (*doc)["schema"] = "chat-demo-results";
  (*doc)["demo"] = name;
  (*doc)["schema_version"] = kDemoSchema;
  (*doc)["lang"] = o.lang == Lang::kZh ? "zh" : "en";
  (*doc)["quick"] = o.quick;
  (*doc)["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (*doc)["transcript"] = t.lines();
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  const auto path = o.out_dir / (name + ".json");
  std::ofstream out(path);
  out << doc->dump(2) << "\n";
  if (!out) {
    fmt::print(stderr, "chat demo {}: cannot write {}\n", name, path.string());
    return false;
  }
  fmt::print(stderr, "chat demo {}: wrote {}\n", name, path.string());
  return true;
}

DemoOptions to_options(const CliOptions& c) {
  DemoOptions o;
  o.lang = c.lang == "zh" ? Lang::kZh : Lang::kEn;
  o.quick = c.quick;
  o.out_dir = c.out;
  return o;
}

void add_flags(CLI::App* app, CliOptions& c) {
  app->add_option("--lang", c.lang, "language of the answers: en, or zh as the course was taught")
      ->check(CLI::IsMember({"en", "zh"}))
      ->capture_default_str();
  app->add_flag("--quick", c.quick, "a few seconds instead of up to a minute (smaller runs)");
  app->add_option("-o,--out", c.out, "directory for the JSON (NAME.json)")->capture_default_str();
}

}  // namespace

void register_commands(CLI::App& root, int& exit_code) {
  CLI::App* demo = root.add_subcommand(
      "demo", "the course's three thinking questions, answered by experiments on loopback");
  demo->require_subcommand(1);
  struct Entry {
    const char* name;
    const char* help;
    Runner runner;
  };
  static const Entry kEntries[] = {
      {"q1", "what happens without threads: a lockstep client beside a normal one", run_q1},
      {"q2", "other ways to send and receive at once: the hub on threads, select, poll, epoll",
       run_q2},
      {"q3", "can the chat run over UDP, and how UDP and TCP differ, measured", run_q3},
  };
  for (const Entry& e : kEntries) {
    auto c = std::make_shared<CliOptions>();
    CLI::App* app = demo->add_subcommand(e.name, e.help);
    add_flags(app, *c);
    app->callback(
        [c, &e, &exit_code] { exit_code = run_one(e.name, e.runner, to_options(*c)) ? 0 : 1; });
  }
  auto c = std::make_shared<CliOptions>();
  CLI::App* all =
      demo->add_subcommand("all", "q1, q2 and q3 in turn (then: chat report DIR/q*.json)");
  add_flags(all, *c);
  all->callback([c, &exit_code] {
    const DemoOptions o = to_options(*c);
    bool ok = true;
    for (const Entry& e : kEntries) ok = run_one(e.name, e.runner, o) && ok;
    fmt::print(stderr, "chat demo all: now `chat report {0}/q1.json {0}/q2.json {0}/q3.json`\n",
               o.out_dir.string());
    exit_code = ok ? 0 : 1;
  });
}

}  // namespace chat::demo
