#include "src/iomodels/ready_hub.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "src/net/socket.h"
#include "src/util/clock.h"

namespace chat::iomodels {

ReadyHub::ReadyHub(const HubModelOptions& o, net::Fd listener, net::Fd signals)
    : core_({o.max_payload, o.high_water_bytes}),
      listener_(std::move(listener)),
      signals_(std::move(signals)) {}

void ReadyHub::accept_all() {
  for (;;) {
    net::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;
    if (!refused(fd)) admit(std::move(fd));
  }
}

void ReadyHub::admit(net::Fd fd) {
  net::set_nodelay(fd.get());
  const int id = fd.get();
  core_.add(id, net::peer_address(id).to_string());
  conns_.emplace(id, std::move(fd));
  silent_.emplace(id, now_ns() + HubCore::kSniffTimeoutMs * 1'000'000ull);
}

void ReadyHub::read_from(int fd) {
  if (conns_.count(fd) == 0) return;
  const ssize_t got = ::recv(fd, buffer_, sizeof buffer_, 0);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (got <= 0) {
    drop(fd, got == 0 ? "connection closed" : net::errno_text(errno));
    return;
  }
  if (!core_.feed(fd, std::string_view(buffer_, static_cast<size_t>(got)))) {
    write_to(fd);  // a goodbye in flight gets one chance to leave
    drop(fd, "left");
  }
}

void ReadyHub::write_to(int fd) {
  std::string* out = core_.output(fd);
  if (out == nullptr || out->empty()) return;
  const ssize_t sent = ::send(fd, out->data(), out->size(), MSG_NOSIGNAL);
  if (sent > 0) out->erase(0, static_cast<size_t>(sent));
  if (sent < 0 && errno != EAGAIN && errno != EINTR) drop(fd, net::errno_text(errno));
}

void ReadyHub::drop(int fd, const std::string& why) {
  if (conns_.erase(fd) == 0) return;  // the Fd closes with its map entry
  core_.remove(fd, why);
}

void ReadyHub::settle() {
  for (int fd : core_.take_closing()) drop(fd, "too slow");
  for (int fd : core_.take_dirty())
    if (conns_.count(fd)) write_to(fd);
}

void ReadyHub::admit_silent() {
  const uint64_t now = now_ns();
  for (auto it = silent_.begin(); it != silent_.end();) {
    if (it->second > now && conns_.count(it->first)) {
      ++it;
      continue;
    }
    const int fd = it->first;
    it = silent_.erase(it);
    if (conns_.count(fd) == 0) continue;
    // Only a socket with nothing waiting is silent (see net::has_bytes_waiting).
    if (net::has_bytes_waiting(fd))
      read_from(fd);
    else
      core_.admit_silent(fd);
  }
}

int64_t ReadyHub::ms_until_next_admission() const {
  if (silent_.empty()) return -1;
  uint64_t first = UINT64_MAX;
  for (const auto& [fd, at] : silent_) first = std::min(first, at);
  const uint64_t now = now_ns();
  return first > now ? static_cast<int64_t>((first - now) / 1'000'000 + 1) : 0;
}

}  // namespace chat::iomodels
