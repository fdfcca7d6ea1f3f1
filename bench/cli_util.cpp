#include "bench/cli_util.h"

#include <fmt/format.h>

#include <cstdio>
#include <sstream>

#include "src/cli/cli_checks.h"
#include "transports/transport.h"

namespace chat::bench {

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

int finish_document(ResultsDocument& doc, const std::string& out_dir) {
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

std::string default_wire_list() {
  return cli::joined(cli::wire_names());
}

std::vector<std::string> wire_names() {
  return cli::wire_names();
}

void add_common(CLI::App* app, CommonOptions& c) {
  app->add_option("-o,--out", c.out, "directory for results.json and results.csv")
      ->capture_default_str();
  app->add_option("-t,--transport", c.transports, "comma list of wires")
      ->transform(cli::list_of(wire_names()))
      ->capture_default_str();
}

int usage_error(const CLI::App* app, const std::string& why) {
  fmt::print(stderr, "chat bench {}: {}\n", app->get_name(), why);
  return 2;
}

int finish_command(const CLI::App* app, const std::string& what, const std::string& out_dir,
                   Result<std::vector<RunRecord>> runs) {
  if (!runs) {
    fmt::print(stderr, "chat bench {}: {}\n", what, runs.error().message);
    return 1;
  }
  auto doc = new_document(command_line(*app));
  doc.runs = std::move(*runs);
  return finish_document(doc, out_dir);
}

}  // namespace chat::bench
