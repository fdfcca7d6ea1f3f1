#include "bench/text_link.h"

#include <sys/socket.h>

#include <cerrno>

namespace chat::bench {

TextLink::~TextLink() {
  close();
}

Result<void> TextLink::start(const net::SocketAddress& to) {
  auto fd = net::start_connect_tcp(to);
  if (!fd) return fd.error();
  fd_ = std::move(*fd);
  net::set_nodelay(fd_.get());
  loop_.add(fd_.get(), EPOLLIN | EPOLLOUT, [this](uint32_t ev) { on_events(ev); });
  return {};
}

void TextLink::close() {
  if (!fd_.valid()) return;
  loop_.remove(fd_.get());
  fd_.reset();
}

void TextLink::fail(std::string why) {
  if (down_) return;
  down_ = true;
  up_ = false;
  error_ = std::move(why);
  close();
  if (on_down) on_down();
}

void TextLink::send_line(std::string_view line) {
  out_.append(line);
  out_.push_back('\n');
  if (up_) flush();
}

void TextLink::flush() {
  while (out_offset_ < out_.size()) {
    const ssize_t n =
        ::send(fd_.get(), out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
    if (n > 0) {
      out_offset_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail("send: " + net::errno_text(errno));
    return;
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  }
  update_interest();
}

void TextLink::update_interest() {
  const bool want = !up_ || !out_.empty();
  if (want != want_write_ && fd_.valid()) {
    want_write_ = want;
    loop_.modify(fd_.get(), want ? EPOLLIN | EPOLLOUT : uint32_t{EPOLLIN});
  }
}

void TextLink::on_events(uint32_t events) {
  if (!up_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    if (const int err = net::connect_error(fd_.get()); err != 0) {
      fail("connect: " + net::errno_text(err));
      return;
    }
    up_ = true;
    if (on_up) on_up();
    if (!fd_.valid()) return;
  }
  if (events & EPOLLOUT) flush();
  if (!fd_.valid()) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) {
        splitter_.feed(std::string_view(buf, static_cast<size_t>(n)), lines_);
        continue;
      }
      if (n == 0) {
        fail("the hub closed the connection");
        break;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      fail("recv: " + net::errno_text(errno));
      break;
    }
    for (auto& l : lines_)
      if (on_line) on_line(std::move(l));
    lines_.clear();
  }
}

}  // namespace chat::bench
