#include "bench/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "src/net/fd.h"

namespace chat::bench {
namespace {

using Clock = std::chrono::steady_clock;

int open_output(const std::filesystem::path& file) {
  if (file.empty()) return ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  return ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<Subprocess> Subprocess::spawn(std::vector<std::string> argv,
                                     const std::filesystem::path& stdout_file,
                                     const std::filesystem::path& stderr_file) {
  if (argv.empty()) return make_error("spawn: empty command");
  const int out = open_output(stdout_file);
  const int err = open_output(stderr_file);
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || in < 0) {
    for (int fd : {out, err, in})
      if (fd >= 0) ::close(fd);
    return make_error(fmt::format("spawn {}: cannot open output files", argv[0]));
  }
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    ::close(err);
    ::close(in);
    return errno_error("fork");
  }
  if (pid == 0) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // The parent may block SIGINT/SIGTERM for its signalfd; the child must still hear them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  ::close(in);
  Subprocess p;
  p.pid_ = pid;
  return p;
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) stop(std::chrono::milliseconds(500));
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

bool Subprocess::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = decode_status(st);
    return false;
  }
  return true;
}

std::optional<int> Subprocess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  // Sleep until the child exits (a pidfd becomes readable) rather than wake every few ms to ask:
  // a parent that keeps waking keeps a CPU of a small VM out of its idle state, and that makes
  // whatever is being timed meanwhile (sockperf, iperf3) wake faster than it would alone.
  const net::Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  while (!status_) {
    if (!running()) break;
    const auto now = Clock::now();
    if (now >= deadline) break;
    if (pidfd.valid()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  return status_;
}

int Subprocess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    ::kill(pid_, SIGTERM);
    if (auto st = wait(grace)) return *st;
    ::kill(pid_, SIGKILL);
    if (auto st = wait(std::chrono::milliseconds(2000))) return *st;
  }
  return status_.value_or(-1);
}

bool program_in_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    const auto candidate = std::filesystem::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> wait_for_line_in_file(const std::filesystem::path& file,
                                                 std::string_view needle,
                                                 std::chrono::milliseconds timeout,
                                                 Subprocess* child) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
      if (line.find(needle) != std::string::npos) return line;
    if (Clock::now() >= deadline) return std::nullopt;
    if (child && !child->running()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ScratchDir::ScratchDir() {
  const auto base = std::filesystem::temp_directory_path() / "chat-bench-XXXXXX";
  std::string tmpl = base.string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    tmpl = (std::filesystem::temp_directory_path() / fmt::format("chat-bench-{}", ::getpid()))
               .string();
  std::filesystem::create_directories(tmpl);
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("chat") : p.string();
}

}  // namespace chat::bench
