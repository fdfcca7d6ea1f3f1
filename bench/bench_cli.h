#pragma once
// The command-line face of the harness: `chat bench rtt|stream|rate|fanout|compare|all|sink` and
// `chat report`. main() calls register_commands once; each callback stores its exit code.
#include <CLI/CLI.hpp>

namespace chat::bench {

void register_commands(CLI::App& root, int& exit_code);

}  // namespace chat::bench
