#pragma once
// Child processes for the bench: the `chat server` under test, the stream sink, and the anchor
// tools (sockperf, iperf3, ncat). Output goes to files, never pipes, so a chatty child can never
// block on a full pipe while we are busy measuring; every wait is bounded and the destructor kills
// and reaps, so a failed run leaves no process behind.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/util/result.h"

namespace chat::bench {

class Subprocess {
 public:
  // Starts argv[0] (searched in PATH when it has no slash) with stdout and stderr appended to the
  // given files (empty: /dev/null) and stdin from /dev/null.
  static Result<Subprocess> spawn(std::vector<std::string> argv,
                                  const std::filesystem::path& stdout_file = {},
                                  const std::filesystem::path& stderr_file = {});

  Subprocess() = default;
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running();
  // Waits for exit; the exit code, 128+signal, or nullopt at the deadline.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// True when `program` is an executable in PATH (for "tool not installed" lines).
bool program_in_path(std::string_view program);

// Polls `file` until a line containing `needle` appears; returns that line, or nullopt at the
// deadline or when `child` exits first.
std::optional<std::string> wait_for_line_in_file(const std::filesystem::path& file,
                                                 std::string_view needle,
                                                 std::chrono::milliseconds timeout,
                                                 Subprocess* child = nullptr);

std::string read_file(const std::filesystem::path& file);

// A private scratch directory (under $TMPDIR) removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// The running binary, so the bench can start `chat server` and `chat bench sink` from itself.
std::string self_executable();

}  // namespace chat::bench
