#pragma once
// A child process whose stdin we type into and whose stdout we read as it prints: how the Q1 demo
// plays the user of two real `chat client` processes and watches what each one shows, when.
// The destructor ends and reaps the child (SIGTERM, then SIGKILL after a bounded wait).
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/net/fd.h"
#include "src/util/result.h"

namespace chat::demo {

class PipedChild {
 public:
  // stderr goes to `stderr_file` (empty: /dev/null). stdout is non-blocking on our side.
  static Result<PipedChild> spawn(std::vector<std::string> argv,
                                  const std::filesystem::path& stderr_file = {});
  PipedChild() = default;
  PipedChild(PipedChild&& other) noexcept;
  PipedChild& operator=(PipedChild&& other) noexcept;
  ~PipedChild();

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_.get(); }
  // Types a line (a newline is added). False if the child no longer reads.
  bool type_line(std::string_view line);
  void close_stdin() { in_.reset(); }
  // Complete lines now readable on stdout (partial ones stay buffered); sets eof at the end.
  std::vector<std::string> read_lines(bool& eof);
  // Waits (bounded) for exit; the exit code or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void stop();

 private:
  void reset();

  pid_t pid_ = -1;
  net::Fd in_;
  net::Fd out_;
  std::string pending_;
  std::optional<int> status_;
};

}  // namespace chat::demo
