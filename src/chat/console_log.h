#pragma once
// While someone types at a readline prompt, a log line written straight to stderr lands in the
// middle of the half-typed line ("> operator half typ06:35:26.385 info ..."). For as long as this
// object lives, the process's log goes through the console instead, which prints it above the
// prompt and redraws the line being typed. Off a terminal it changes nothing.
#include <memory>
#include <vector>

#include <spdlog/sinks/sink.h>

#include "src/chat/console.h"

namespace chat {

class ConsoleLogRoute {
 public:
  explicit ConsoleLogRoute(Console& console);
  ~ConsoleLogRoute();
  ConsoleLogRoute(const ConsoleLogRoute&) = delete;
  ConsoleLogRoute& operator=(const ConsoleLogRoute&) = delete;

 private:
  std::vector<spdlog::sink_ptr> saved_;
  bool routed_ = false;
};

}  // namespace chat
