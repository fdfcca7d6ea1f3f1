#include "transports/tcp/tcp_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
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
  cancel_slow_timer();
  if (fd_.valid()) stats_.retransmits = retransmits();  // the last word, before TCP_INFO is gone
  if (registered_) loop_.remove(fd_.get());
  registered_ = false;
  fd_.reset();
  output_.retrieve_all();
  ends_.clear();
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

void TcpConnection::arm_slow_timer(net::Duration delay, std::function<void()> fn) {
  cancel_slow_timer();
  slow_timer_ = loop_.run_after(delay, [this, fn = std::move(fn)] {
    slow_timer_ = 0;
    fn();
  });
}

void TcpConnection::cancel_slow_timer() {
  if (slow_timer_ != 0) loop_.cancel(slow_timer_);
  slow_timer_ = 0;
}

void TcpConnection::set_reading_paused(bool paused) {
  if (reading_paused_ == paused) return;
  reading_paused_ = paused;
  update_interest();
}

void TcpConnection::update_interest() {
  if (!registered_) return;
  uint32_t want = 0;
  if (state_ == State::kConnecting) {
    want = EPOLLOUT;
  } else {
    want = peer_closed_ || reading_paused_ ? 0u : static_cast<uint32_t>(EPOLLIN);
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

int TcpConnection::write(std::string_view head, std::string_view body) {
  if (!fd_.valid()) return EBADF;
  const size_t size = head.size() + body.size();
  if (output_.empty()) {
    while (!head.empty() || !body.empty()) {
      iovec parts[2];
      size_t count = 0;
      if (!head.empty()) parts[count++] = {const_cast<char*>(head.data()), head.size()};
      if (!body.empty()) parts[count++] = {const_cast<char*>(body.data()), body.size()};
      msghdr msg{};
      msg.msg_iov = parts;
      msg.msg_iovlen = count;
      // MSG_NOSIGNAL: a peer that vanished must give us EPIPE, not kill the process.
      // MSG_DONTWAIT: the blocking backend may have lent the socket its blocking mode.
      const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        stats_.bytes_sent += static_cast<uint64_t>(n);
        const size_t from_head = std::min(static_cast<size_t>(n), head.size());
        head.remove_prefix(from_head);
        body.remove_prefix(static_cast<size_t>(n) - from_head);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return errno;
    }
    if (head.empty() && body.empty()) return 0;
  }
  // What the kernel took straight away never enters the queue's accounting; only the rest does.
  const size_t rest = head.size() + body.size();
  output_.append(head);
  output_.append(body);
  note_appended(rest, rest == size);
  update_interest();
  return 0;
}

int TcpConnection::flush() {
  if (!fd_.valid()) return EBADF;
  while (!output_.empty()) {
    const ssize_t n =
        ::send(fd_.get(), output_.peek(), output_.readable_bytes(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      stats_.bytes_sent += static_cast<uint64_t>(n);
      output_.retrieve(static_cast<size_t>(n));
      note_sent(static_cast<size_t>(n));
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

void TcpConnection::note_sent(size_t n) {
  consumed_ += n;
  if (ends_.empty()) return;
  while (!ends_.empty() && ends_.front() <= consumed_) ends_.pop_front();
  if (output_.empty()) ends_.clear();
}

size_t TcpConnection::drop_backlog() {
  if (ends_.size() < 3) return 0;
  // The first boundary known past what was sent ends the message the kernel has begun to take
  // (with what was queued before the boundaries were kept); the last one queued is kept too, as
  // the farewell a role says just before it shuts down; everything between goes.
  const size_t head = static_cast<size_t>(ends_.front() - consumed_);
  const size_t last = static_cast<size_t>(ends_.back() - ends_[ends_.size() - 2]);
  const size_t dropped = ends_.size() - 2;
  std::string kept(output_.peek(), head);
  kept.append(output_.peek() + output_.readable_bytes() - last, last);
  output_.retrieve_all();
  output_.append(kept);
  appended_ = consumed_ + kept.size();
  ends_ = {consumed_ + head, appended_};
  return dropped;
}

void TcpConnection::grow_send_buffer(size_t bytes) {
  if (!fd_.valid()) return;
  int current = 0;
  socklen_t len = sizeof current;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &current, &len) != 0) return;
  // The kernel doubles what it is asked for and caps the request at net.core.wmem_max; asking past
  // the usual cap could shrink a buffer that grew by itself, so the request stays below it.
  constexpr size_t kSafeRequest = 200 * 1024;
  const size_t want = static_cast<size_t>(current) / 2 + bytes;
  if (want > kSafeRequest) return;
  const int request = static_cast<int>(want);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &request, sizeof request);
}

bool TcpConnection::discard_input(size_t limit) {
  if (!fd_.valid()) return false;
  char sink[16 * 1024];
  while (limit > 0) {
    const ssize_t n = ::recv(fd_.get(), sink, std::min(limit, sizeof sink), MSG_DONTWAIT);
    if (n > 0) {
      stats_.bytes_received += static_cast<uint64_t>(n);
      limit -= std::min(limit, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

uint64_t TcpConnection::retransmits() const {
  if (!fd_.valid()) return 0;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_total_retrans;
}

}  // namespace chat
