#pragma once
// Small helpers the bench subcommands share: common options, the document's command line, and
// the save-print-exit-code ending every scenario has.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "bench/results.h"

namespace chat::bench {

// Every wire the factory knows, as -t's comma list.
std::string default_wire_list();

struct CommonOptions {
  std::string out = "bench-results";
  std::string transports = default_wire_list();
};

void add_common(CLI::App* app, CommonOptions& c);
// The wires the transport factory knows, for -t's check: a new wire needs no CLI change.
std::vector<std::string> wire_names();
std::vector<std::string> split_list(const std::string& s);
std::string command_line(const CLI::App& app);
// Saves, prints the summary table, and says where the files went; returns the exit code.
int finish_document(ResultsDocument& doc, const std::string& out_dir);
// For a single scenario: wraps its runs in a new document and finishes it.
// A usage error (bad flag value): one line naming the command, exit code 2 as getopt tools use.
int usage_error(const CLI::App* app, const std::string& why);
int finish_command(const CLI::App* app, const std::string& what, const std::string& out_dir,
                   Result<std::vector<RunRecord>> runs);

}  // namespace chat::bench
