#pragma once
// The `chat` front end: each subcommand registers its flags and sets the process exit code.
#include <CLI/CLI.hpp>

namespace chat::cli {

void register_server(CLI::App& root, int& exit_code);
void register_client(CLI::App& root, int& exit_code);
void register_link(CLI::App& root, int& exit_code);

// -v / -q on every subcommand map to spdlog levels.
void add_verbosity(CLI::App& app);
void apply_verbosity();

}  // namespace chat::cli
