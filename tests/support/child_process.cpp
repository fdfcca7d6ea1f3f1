#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <stdexcept>

namespace chat::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe2 failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  stdin_fd_ = in[1];
  out_.fd = out[0];
  err_.fd = err[0];
  // A child that exits early must not kill the test with SIGPIPE when we write to it.
  ::signal(SIGPIPE, SIG_IGN);
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  close_stdin();
  ::close(out_.fd);
  ::close(err_.fd);
}

void ChildProcess::write_stdin(std::string_view bytes) {
  while (!bytes.empty() && stdin_fd_ >= 0) {
    const ssize_t n = ::write(stdin_fd_, bytes.data(), bytes.size());
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void ChildProcess::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

std::optional<std::string> ChildProcess::read_line_from(Stream& s, std::vector<std::string>& seen,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const size_t nl = s.buffer.find('\n');
    if (nl != std::string::npos) {
      std::string line = s.buffer.substr(0, nl);
      s.buffer.erase(0, nl + 1);
      seen.push_back(line);
      return line;
    }
    if (s.eof) return std::nullopt;
    pollfd p{s.fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n <= 0) {
      s.eof = true;
      if (!s.buffer.empty()) s.buffer.push_back('\n');  // hand out the unterminated tail
      continue;
    }
    s.buffer.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  return read_line_from(out_, seen_, timeout);
}

std::optional<std::string> ChildProcess::read_err_line(std::chrono::milliseconds timeout) {
  return read_line_from(err_, seen_err_, timeout);
}

std::optional<std::string> ChildProcess::wait_for_line(std::string_view needle,
                                                       std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = read_line(std::chrono::milliseconds(remaining_ms(deadline))))
    if (line->find(needle) != std::string::npos) return line;
  return std::nullopt;
}

std::optional<std::string> ChildProcess::wait_for_err_line(std::string_view needle,
                                                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = read_err_line(std::chrono::milliseconds(remaining_ms(deadline))))
    if (line->find(needle) != std::string::npos) return line;
  return std::nullopt;
}

std::vector<std::string> ChildProcess::drain_lines(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<std::string> lines;
  while (auto line = read_line(std::chrono::milliseconds(remaining_ms(deadline))))
    lines.push_back(*line);
  return lines;
}

void ChildProcess::signal(int signo) {
  if (!exit_code_) ::kill(pid_, signo);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    // waitpid has no timeout; a short poll on nothing is the bounded way to wait for a child.
    ::poll(nullptr, 0, 10);
  }
}

std::optional<ServerProcess> start_server(const std::string& binary,
                                          std::vector<std::string> args) {
  std::vector<std::string> argv{binary, "server", "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  ServerProcess s;
  s.process = std::make_unique<ChildProcess>(argv);
  // The server announces readiness on stderr: "... listening on tcp 0.0.0.0:PORT ...".
  auto line = s.process->wait_for_err_line("listening on", 5000ms);
  if (!line) return std::nullopt;
  static const std::regex port_re(R"(:(\d+)\b)");
  std::smatch m;
  std::string last;
  for (auto it = std::sregex_iterator(line->begin(), line->end(), port_re);
       it != std::sregex_iterator(); ++it)
    last = (*it)[1];
  if (last.empty()) return std::nullopt;
  s.port = static_cast<uint16_t>(std::stoi(last));
  return s;
}

}  // namespace chat::testing
