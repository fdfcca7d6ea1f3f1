#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "src/cli/commands.h"

namespace chat::cli {
namespace {

// CLI11 binds flags to storage that outlives parsing; one counter pair serves every subcommand
// because only one subcommand runs per process.
struct Verbosity {
  int verbose = 0;
  int quiet = 0;
};

Verbosity& verbosity() {
  static Verbosity v;
  return v;
}

}  // namespace

void add_verbosity(CLI::App& app) {
  app.add_flag("-v,--verbose", verbosity().verbose, "more log detail (-vv for trace)");
  app.add_flag("-q,--quiet", verbosity().quiet, "warnings and errors only (-qq: errors only)");
}

void apply_verbosity() {
  // Logs go to stderr: stdout belongs to the chat itself.
  auto logger = spdlog::stderr_color_mt("chat");
  logger->set_pattern("%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  const int level = verbosity().verbose - verbosity().quiet;
  spdlog::set_level(level >= 2    ? spdlog::level::trace
                    : level == 1  ? spdlog::level::debug
                    : level == 0  ? spdlog::level::info
                    : level == -1 ? spdlog::level::warn
                                  : spdlog::level::err);
}

}  // namespace chat::cli
