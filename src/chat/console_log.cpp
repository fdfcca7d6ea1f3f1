#include "src/chat/console_log.h"

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <string>

#include "src/wire/text_codec.h"

namespace chat {
namespace {

// The event loop is single-threaded, and so is every log call: no mutex needed.
class ConsoleSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit ConsoleSink(Console& console) : console_(console) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    // What a log line quotes may come from the other end: never raw to the terminal.
    console_.print_error(wire::sanitize_for_terminal(line));
  }
  void flush_() override {}

 private:
  Console& console_;
};

}  // namespace

ConsoleLogRoute::ConsoleLogRoute(Console& console) {
  if (!console.interactive()) return;
  auto logger = spdlog::default_logger();
  saved_ = logger->sinks();
  auto sink = std::make_shared<ConsoleSink>(console);
  sink->set_pattern("%H:%M:%S.%e %l %v");
  logger->sinks() = {sink};
  routed_ = true;
}

ConsoleLogRoute::~ConsoleLogRoute() {
  if (routed_) spdlog::default_logger()->sinks() = saved_;
}

}  // namespace chat
