// chat: one program to chat over TCP or UDP and to measure how they differ.
#include <CLI/CLI.hpp>

#include "bench/bench_cli.h"
#include "src/cli/cli_main.h"
#include "src/cli/commands.h"
#include "src/demo/demo.h"

int main(int argc, char** argv) {
  CLI::App app{
      "chat — echo, one-to-one and chat-room messaging over TCP or UDP, and the bench that "
      "measures them"};
  app.require_subcommand(1);
  int exit_code = 0;
  chat::cli::register_server(app, exit_code);
  chat::cli::register_client(app, exit_code);
  chat::cli::register_link(app, exit_code);
  chat::bench::register_commands(app, exit_code);
  chat::demo::register_commands(app, exit_code);
  return chat::cli::run_cli(app, argc, argv, exit_code);
}
