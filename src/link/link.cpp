#include "src/link/link.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "src/link/link_process.h"
#include "src/link/netns.h"
#include "src/net/fd.h"

namespace chat::link {
namespace fs = std::filesystem;
namespace {

struct State {
  pid_t pid = -1;
  std::string start_time;  // /proc/PID/stat field 22, so a reused pid is not mistaken for ours
  int client_fd = -1, server_fd = -1;
};

// Field `n` (3: state, 22: start time) of /proc/PID/stat; empty when the process is gone.
std::string stat_field(pid_t pid, int n) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  for (int i = 3; i <= n && (fields >> f); ++i) {
  }
  return f;
}

// A zombie has stopped for good even while nobody has reaped it yet (a detached forwarder's
// parent is init, which may take its time).
bool running(pid_t pid) {
  const std::string state = stat_field(pid, 3);
  return !state.empty() && state != "Z" && state != "X";
}

std::optional<State> read_state(const fs::path& dir) {
  std::ifstream in(dir / "state");
  State s;
  std::string key;
  while (in >> key) {
    if (key == "pid")
      in >> s.pid;
    else if (key == "start")
      in >> s.start_time;
    else if (key == "client_fd")
      in >> s.client_fd;
    else if (key == "server_fd")
      in >> s.server_fd;
  }
  if (s.pid <= 0 || s.client_fd < 0 || s.server_fd < 0) return std::nullopt;
  return s;
}

bool alive(const State& s) {
  return running(s.pid) && process_start_time(s.pid) == s.start_time;
}

}  // namespace

std::string process_start_time(pid_t pid) {
  return stat_field(pid, 22);
}

fs::path state_root() {
  if (::geteuid() == 0) return "/run/chat-link";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  return fs::path(xdg && *xdg ? xdg : "/tmp") / fmt::format("chat-link-{}", ::geteuid());
}

std::vector<std::string> clean_stale_links() {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(state_root(), ec)) {
    auto s = read_state(entry.path());
    if (s && alive(*s)) continue;
    // A directory younger than a few seconds may be a link still starting up.
    if (!s) {
      auto age = fs::file_time_type::clock::now() - fs::last_write_time(entry.path(), ec);
      if (age < std::chrono::seconds(10)) continue;
    }
    fs::remove_all(entry.path(), ec);
    removed.push_back(entry.path().filename().string());
  }
  return removed;
}

Result<Link> Link::start(const LinkOptions& o) {
  (void)clean_stale_links();
  const fs::path dir = state_root() / o.name;
  if (auto s = read_state(dir); s && alive(*s))
    return make_error(
        fmt::format("link '{}' is already up (forwarder pid {}); "
                    "`chat link down --name {}` first",
                    o.name, s->pid, o.name));
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return make_error(fmt::format("cannot make {}: {}", dir.string(), ec.message()));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
  const pid_t child = ::fork();
  if (child < 0) return errno_error("fork");
  if (child == 0) {
    ::close(fds[0]);
    if (o.detach) {
      ::setsid();
      // A detached forwarder must not hold the caller's terminal or pipes open.
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      const int log = ::open((dir / "forwarder.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(log >= 0 ? log : null, 2);
    }
    forwarder_main(o, dir, fds[1]);
  }
  ::close(fds[1]);
  net::Fd ready(fds[0]);
  std::string reply;
  pollfd p{ready.get(), POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(ready.get(), buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  if (reply != "ok") {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    fs::remove_all(dir, ec);
    if (reply.rfind("error: ", 0) == 0) return make_error(reply.substr(7));
    return make_error("the link's forwarder did not start within 10 s");
  }
  auto s = read_state(dir);
  if (!s) return make_error("the link's forwarder wrote no state");
  Link link;
  link.name_ = o.name;
  link.dir_ = dir;
  link.pid_ = s->pid;
  link.client_fd_ = s->client_fd;
  link.server_fd_ = s->server_fd;
  link.owned_ = !o.detach;
  return link;
}

Result<Link> Link::attach(const std::string& name) {
  const fs::path dir = state_root() / name;
  auto s = read_state(dir);
  if (!s || !alive(*s))
    return make_error(
        fmt::format("no link '{}' is up (`chat link up --name {}` makes one)", name, name));
  Link link;
  link.name_ = name;
  link.dir_ = dir;
  link.pid_ = s->pid;
  link.client_fd_ = s->client_fd;
  link.server_fd_ = s->server_fd;
  return link;
}

Link::Link(Link&& other) noexcept {
  *this = std::move(other);
}

Link& Link::operator=(Link&& other) noexcept {
  if (this != &other) {
    if (owned_) (void)down();
    name_ = std::move(other.name_);
    dir_ = std::move(other.dir_);
    pid_ = std::exchange(other.pid_, -1);
    client_fd_ = other.client_fd_;
    server_fd_ = other.server_fd_;
    owned_ = std::exchange(other.owned_, false);
  }
  return *this;
}

Link::~Link() {
  if (owned_) (void)down();
}

Result<std::string> Link::request(const std::string& text) const {
  net::Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const auto path = (dir_ / "control").string();
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error("cannot reach the link's forwarder");
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::send(fd.get(), text.data(), text.size(), MSG_NOSIGNAL) < 0) return errno_error("send");
  std::string reply(1 << 16, '\0');
  const ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
  if (n <= 0) return make_error("the link's forwarder did not answer");
  reply.resize(static_cast<size_t>(n));
  return reply;
}

Result<std::string> Link::status_json() const {
  return request("status");
}

Result<void> Link::set(const impair::Spec& up, const impair::Spec& down) const {
  auto r = request("set\n" + impair::format_spec(up) + "\n" + impair::format_spec(down));
  if (!r) return r.error();
  if (*r != "ok") return make_error(r->rfind("error: ", 0) == 0 ? r->substr(7) : *r);
  return {};
}

Result<void> Link::down() {
  if (pid_ <= 0) return {};
  const pid_t pid = std::exchange(pid_, -1);
  owned_ = false;
  if (auto r = request("down"); !r) ::kill(pid, SIGTERM);
  // Our own child is reaped here; a detached one is watched until it is gone.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t w = ::waitpid(pid, nullptr, WNOHANG);
    if (w == pid || (w < 0 && !running(pid))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (running(pid)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);  // ours is reaped; anyone else's returns at once
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
  return {};
}

Result<void> Link::enter(Side side) const {
  // A link made in a user namespace (no root here) is entered through that namespace first.
  const auto own = fs::read_symlink("/proc/self/ns/user");
  const auto theirs = fs::read_symlink(fmt::format("/proc/{}/ns/user", pid_));
  if (own != theirs) {
    net::Fd user(::open(fmt::format("/proc/{}/ns/user", pid_).c_str(), O_RDONLY | O_CLOEXEC));
    if (auto r = enter_namespace(user.get(), CLONE_NEWUSER, "the link's user namespace"); !r)
      return r;
  }
  const int which = side == Side::kClient ? client_fd_ : server_fd_;
  net::Fd ns(::open(fmt::format("/proc/{}/fd/{}", pid_, which).c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return errno_error("cannot open the link's namespace");
  return enter_namespace(ns.get(), CLONE_NEWNET,
                         side == Side::kClient ? "the client side" : "the server side");
}

std::vector<std::string> Link::exec_prefix(Side side, const std::string& self) const {
  return {self, "link", "exec", "--name", name_, side == Side::kClient ? "client" : "server", "--"};
}

Result<void> exec_in_link(const std::string& name, Side side,
                          const std::vector<std::string>& argv) {
  if (argv.empty()) return make_error("nothing to run: give a command after --");
  auto link = Link::attach(name);
  if (!link) return link.error();
  if (auto r = link->enter(side); !r) return r;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  return errno_error("cannot run " + argv[0]);
}

}  // namespace chat::link
