#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "src/cli/commands.h"
#include "src/wire/text_codec.h"

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

// Log lines quote names, reasons and addresses that peers chose: an escape sequence among them
// would retitle or clear the operator's terminal, and a newline would forge a log line. Every
// message is neutralised here, once, whoever logged it. The loop is single-threaded: no mutex.
class NeutralisingSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit NeutralisingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string safe =
        wire::sanitize_for_terminal(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(safe.data(), safe.size());
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  spdlog::sink_ptr inner_;
};

}  // namespace

void add_verbosity(CLI::App& app) {
  app.add_flag("-v,--verbose", verbosity().verbose, "more log detail (-vv for trace)");
  app.add_flag("-q,--quiet", verbosity().quiet, "warnings and errors only (-qq: errors only)");
}

void apply_verbosity() {
  // Logs go to stderr: stdout belongs to the chat itself.
  auto sink =
      std::make_shared<NeutralisingSink>(std::make_shared<spdlog::sinks::stderr_color_sink_st>());
  auto logger = std::make_shared<spdlog::logger>("chat", std::move(sink));
  spdlog::register_logger(logger);
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
