#include "src/demo/piped_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "src/net/socket.h"

namespace chat::demo {

Result<PipedChild> PipedChild::spawn(std::vector<std::string> argv,
                                     const std::filesystem::path& stderr_file) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return make_error("pipe: " + net::errno_text(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return make_error("pipe: " + net::errno_text(errno));
  }
  const int err = stderr_file.empty() ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
                                      : ::open(stderr_file.c_str(),
                                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    if (err >= 0) ::dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (err >= 0) ::close(err);
  PipedChild c;
  c.in_.reset(in[1]);
  c.out_.reset(out[0]);
  if (pid < 0) return make_error("fork: " + net::errno_text(errno));
  c.pid_ = pid;
  net::set_nonblocking(c.out_.get());
  return c;
}

PipedChild::PipedChild(PipedChild&& other) noexcept {
  *this = std::move(other);
}

PipedChild& PipedChild::operator=(PipedChild&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
    pending_ = std::move(other.pending_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

PipedChild::~PipedChild() {
  reset();
}

void PipedChild::reset() {
  in_.reset();
  stop();
  out_.reset();
}

bool PipedChild::type_line(std::string_view line) {
  if (!in_.valid()) return false;
  std::string bytes = std::string(line) + "\n";
  // A line is far below PIPE_BUF, so one write is all or nothing.
  return ::write(in_.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
}

std::vector<std::string> PipedChild::read_lines(bool& eof) {
  std::vector<std::string> lines;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t got = ::read(out_.get(), buffer, sizeof buffer);
    if (got > 0) {
      pending_.append(buffer, static_cast<size_t>(got));
      continue;
    }
    if (got == 0) eof = true;
    break;
  }
  size_t start = 0;
  for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(pending_.substr(start, nl - start));
  pending_.erase(0, start);
  return lines;
}

std::optional<int> PipedChild::wait(std::chrono::milliseconds timeout) {
  if (status_ || pid_ < 0) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void PipedChild::stop() {
  if (pid_ < 0 || status_) return;
  ::kill(pid_, SIGTERM);
  if (!wait(std::chrono::milliseconds(1000))) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds(2000));
  }
}

}  // namespace chat::demo
