#pragma once
// Starts the real `chat` binary (or any program) with piped stdin/stdout/stderr for integration
// tests. Every read is bounded by a deadline; the destructor kills and reaps the child, so a
// failing test never leaves a process behind.
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::testing {

using namespace std::chrono_literals;

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  void write_stdin(std::string_view bytes);
  void close_stdin();

  // Next complete stdout (or stderr) line, or nullopt at the deadline or EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 5000ms);
  std::optional<std::string> read_err_line(std::chrono::milliseconds timeout = 5000ms);
  // Reads stdout lines until one contains `needle`; returns it (nullopt at deadline/EOF). Lines
  // read on the way are kept in seen_lines().
  std::optional<std::string> wait_for_line(std::string_view needle,
                                           std::chrono::milliseconds timeout = 5000ms);
  std::optional<std::string> wait_for_err_line(std::string_view needle,
                                               std::chrono::milliseconds timeout = 5000ms);
  // Every stdout line read so far.
  const std::vector<std::string>& seen_lines() const { return seen_; }
  const std::vector<std::string>& seen_err_lines() const { return seen_err_; }
  // Reads what is left of stdout until EOF or the deadline.
  std::vector<std::string> drain_lines(std::chrono::milliseconds timeout = 5000ms);

  void signal(int signo);
  // Waits for exit; returns the exit code, 128+signal, or nullopt at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 5000ms);

 private:
  struct Stream {
    int fd = -1;
    std::string buffer;
    bool eof = false;
  };
  std::optional<std::string> read_line_from(Stream& s, std::vector<std::string>& seen,
                                            std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  Stream out_;
  Stream err_;
  std::vector<std::string> seen_;
  std::vector<std::string> seen_err_;
  std::optional<int> exit_code_;
};

// Starts `chat server ...` with --port 0 and waits for its "listening on" line; returns the port.
struct ServerProcess {
  std::unique_ptr<ChildProcess> process;
  uint16_t port = 0;
};
std::optional<ServerProcess> start_server(const std::string& binary, std::vector<std::string> args);

}  // namespace chat::testing
