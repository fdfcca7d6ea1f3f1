#pragma once
// Registration of the scenarios beyond rtt (stream, rate, fanout, compare, all, sink); split from
// bench_cli.cpp so each file stays readable.
#include <CLI/CLI.hpp>

namespace chat::bench {

void register_scenarios(CLI::App* bench, int& exit_code);

}  // namespace chat::bench
