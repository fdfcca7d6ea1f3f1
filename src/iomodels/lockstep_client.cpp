#include "src/iomodels/lockstep_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "src/net/socket.h"
#include "src/wire/text_codec.h"

namespace chat::iomodels {
namespace {

// A blocking connect to the first address that answers.
net::Fd connect_blocking(const LockstepOptions& o, std::string& error) {
  auto addresses = net::resolve(o.host, o.port, SOCK_STREAM, false);
  if (!addresses) {
    error = addresses.error().message;
    return {};
  }
  for (const auto& to : *addresses) {
    net::Fd fd(::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) continue;
    if (::connect(fd.get(), to.get(), to.length) == 0) return fd;
    error = fmt::format("cannot connect to {}: {}", to.to_string(), net::errno_text(errno));
  }
  if (error.empty()) error = fmt::format("no address for {}", o.host);
  return {};
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

// What one recv() returned, shown as it came: several messages, or a message cut in two.
void show(std::string_view chunk) {
  std::string out;
  size_t start = 0;
  while (start < chunk.size()) {
    size_t end = chunk.find('\n', start);
    if (end == std::string_view::npos) end = chunk.size();
    out += wire::sanitize_for_terminal(chunk.substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int run_lockstep_client(const LockstepOptions& o) {
  std::string error;
  net::Fd fd = connect_blocking(o, error);
  if (!fd.valid()) {
    fmt::print(stderr, "chat: {}\n", error);
    return 1;
  }
  fmt::print(stderr,
             "chat: connected to {} in lockstep: type a line, it is sent, then one receive blocks "
             "until something arrives (q to leave)\n",
             net::peer_address(fd.get()).to_string());
  std::vector<char> buffer(o.receive_size);
  std::string line;
  // 1. Block reading the keyboard. Anything the server sends meanwhile waits in the socket.
  while (std::getline(std::cin, line)) {
    // 2. Send the line.
    if (!send_all(fd.get(), line + "\n")) {
      fmt::print(stderr, "chat: send failed: {}\n", net::errno_text(errno));
      return 1;
    }
    if (wire::is_quit_command(line)) return 0;
    // 3. Block in one receive. Nothing can be typed (or sent) until something arrives.
    const ssize_t got = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    if (got == 0) {
      fmt::print(stderr, "chat: the server closed the connection\n");
      return 1;
    }
    if (got < 0) {
      fmt::print(stderr, "chat: receive failed: {}\n", net::errno_text(errno));
      return 1;
    }
    show(std::string_view(buffer.data(), static_cast<size_t>(got)));
  }
  return 0;
}

}  // namespace chat::iomodels
