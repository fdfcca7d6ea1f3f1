#pragma once
// How `chat` and each of its subcommands behave on the command line, in one place so a new
// subcommand inherits it: --help and --version exit 0; every usage error (an unknown flag, a bad
// value, a missing or misspelt subcommand) is one line on stderr that names the flag, a pointer to
// --help, and exit status 2, as getopt-based tools do; a misspelt subcommand gets the nearest one
// suggested, and a missing one gets the list.
#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace chat::cli {

inline constexpr int kUsageError = 2;

// "chat 0.1.0 (git 1a2b3c4d5e6f)": the version, and the revision when built from a checkout.
std::string version_text();

// Adds --version to the root, parses argv, and runs the chosen subcommand (whose callback sets
// `exit_code`). Returns the process's exit status.
int run_cli(CLI::App& app, int argc, const char* const* argv, const int& exit_code);

// The entry of `names` closest to `word` (edit distance), or "" when none is plausibly meant.
std::string nearest(std::string_view word, const std::vector<std::string>& names);

}  // namespace chat::cli
