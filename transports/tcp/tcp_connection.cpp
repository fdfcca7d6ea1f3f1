#include "transports/tcp/tcp_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

namespace chat {
namespace {

// An output buffer that grew for a burst is given back once it drains past this size.
constexpr size_t kKeepOutputBytes = 256 * 1024;
// What the loop reads ahead per wake-up: a chat message or two; a burst is read on directly.
constexpr size_t kReadAheadBytes = 2048;

}  // namespace

TcpConnection::TcpConnection(net::EventLoop& loop, PeerId id, net::Fd fd, std::string address,
                             size_t max_line)
    : loop_(loop), id_(id), fd_(std::move(fd)), splitter_(max_line) {
  info_.id = id;
  info_.address = std::move(address);
}

TcpConnection::~TcpConnection() {
  close_now();
}

void TcpConnection::set_state(State state) {
  state_ = state;
  update_interest();
}

void TcpConnection::open(net::EventLoop::IoHandler handler) {
  interest_ = state_ == State::kConnecting ? EPOLLOUT : EPOLLIN;
  loop_.add(fd_.get(), interest_, std::move(handler));
  loop_.read_ahead(fd_.get(), kReadAheadBytes);  // io_uring: the wake-up brings the bytes
  registered_ = true;
  update_interest();
}

void TcpConnection::close_now() {
  cancel_timer();
  cancel_idle_timer();
  if (fd_.valid()) stats_.retransmits = retransmits();  // the last word, before TCP_INFO is gone
  if (registered_) loop_.remove(fd_.get());
  registered_ = false;
  fd_.reset();
  output_.retrieve_all();
  state_ = State::kClosed;
}

void TcpConnection::arm_timer(net::Duration delay, std::function<void()> fn) {
  cancel_timer();
  timer_ = loop_.run_after(delay, [this, fn = std::move(fn)] {
    timer_ = 0;
    fn();
  });
}

void TcpConnection::cancel_timer() {
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
}

void TcpConnection::arm_idle_timer(net::Duration delay, std::function<void()> fn) {
  cancel_idle_timer();
  idle_timer_ = loop_.run_after(delay, [this, fn = std::move(fn)] {
    idle_timer_ = 0;
    fn();
  });
}

void TcpConnection::cancel_idle_timer() {
  if (idle_timer_ != 0) loop_.cancel(idle_timer_);
  idle_timer_ = 0;
}

void TcpConnection::update_interest() {
  if (!registered_) return;
  uint32_t want = 0;
  if (state_ == State::kConnecting) {
    want = EPOLLOUT;
  } else {
    want = peer_closed_ ? 0u : static_cast<uint32_t>(EPOLLIN);
    if (!output_.empty()) want |= EPOLLOUT;
  }
  if (want != interest_) {
    interest_ = want;
    loop_.modify(fd_.get(), want);
  }
}

ssize_t TcpConnection::read(int& err, bool& drained) {
  const size_t offered = input_.writable_bytes() + net::Buffer::kReadSpill;
  const ssize_t n = input_.read_fd(fd_.get(), err, &loop_);
  if (n > 0) {
    stats_.bytes_received += static_cast<uint64_t>(n);
    drained = static_cast<size_t>(n) < offered;
  }
  return n;
}

int TcpConnection::write(std::string_view bytes) {
  if (!fd_.valid()) return EBADF;
  if (output_.empty()) {
    while (!bytes.empty()) {
      // MSG_NOSIGNAL: a peer that vanished must give us EPIPE, not kill the process.
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        stats_.bytes_sent += static_cast<uint64_t>(n);
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return errno;
    }
    if (bytes.empty()) return 0;
  }
  output_.append(bytes);
  update_interest();
  return 0;
}

int TcpConnection::flush() {
  if (!fd_.valid()) return EBADF;
  while (!output_.empty()) {
    const ssize_t n = ::send(fd_.get(), output_.peek(), output_.readable_bytes(), MSG_NOSIGNAL);
    if (n >= 0) {
      stats_.bytes_sent += static_cast<uint64_t>(n);
      output_.retrieve(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return errno;
  }
  if (output_.empty()) output_.shrink_if_idle(kKeepOutputBytes);
  update_interest();
  return 0;
}

void TcpConnection::set_peer_closed() {
  peer_closed_ = true;
  update_interest();
}

void TcpConnection::shutdown_write() {
  if (write_shut_ || !fd_.valid()) return;
  write_shut_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
}

uint64_t TcpConnection::retransmits() const {
  if (!fd_.valid()) return 0;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_total_retrans;
}

}  // namespace chat
