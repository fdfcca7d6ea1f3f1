#include "src/net/buffer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "src/net/event_loop.h"

namespace chat::net {

void Buffer::retrieve(size_t n) {
  assert(n <= readable_bytes());
  if (n < readable_bytes()) {
    read_index_ += n;
  } else {
    retrieve_all();
  }
}

std::string Buffer::retrieve_all_as_string() {
  std::string out(peek(), readable_bytes());
  retrieve_all();
  return out;
}

void Buffer::append(const void* data, size_t n) {
  ensure_writable(n);
  if (n > 0) std::memcpy(begin_write(), data, n);
  has_written(n);
}

void Buffer::prepend(const void* data, size_t n) {
  assert(n <= prependable_bytes());
  read_index_ -= n;
  if (n > 0) std::memcpy(buf_.get() + read_index_, data, n);
}

void Buffer::ensure_writable(size_t n) {
  if (writable_bytes() < n) make_space(n);
}

void Buffer::make_space(size_t n) {
  const size_t readable = readable_bytes();
  if (writable_bytes() + prependable_bytes() - kCheapPrepend >= n) {
    // Enough room in total: slide the readable bytes to the front instead of growing.
    std::memmove(buf_.get() + kCheapPrepend, peek(), readable);
  } else {
    // Grow geometrically so a stream of appends costs amortised O(1).
    const size_t size = std::max(kCheapPrepend + readable + n, size_ * 2);
    std::unique_ptr<char[]> bigger(new char[size]);  // uninitialised: written before it is read
    std::memcpy(bigger.get() + kCheapPrepend, peek(), readable);
    buf_ = std::move(bigger);
    size_ = size;
  }
  read_index_ = kCheapPrepend;
  write_index_ = kCheapPrepend + readable;
}

void Buffer::shrink_if_idle(size_t keep) {
  if (readable_bytes() != 0 || size_ <= kCheapPrepend + keep) return;
  buf_.reset(new char[kCheapPrepend + keep]);
  size_ = kCheapPrepend + keep;
  retrieve_all();
}

ssize_t Buffer::read_fd(int fd, int& saved_errno, EventLoop* loop) {
  char spill[kReadSpill];
  const size_t writable = writable_bytes();
  iovec vec[2];
  vec[0].iov_base = begin_write();
  vec[0].iov_len = writable;
  vec[1].iov_base = spill;
  vec[1].iov_len = sizeof spill;
  // With plenty of room already, skip the spill so the bytes are never copied twice.
  const int count = writable < sizeof spill ? 2 : 1;
  ssize_t n = 0;
  if (loop && loop->reads_ahead(fd)) {
    msghdr msg{};
    msg.msg_iov = vec;
    msg.msg_iovlen = static_cast<size_t>(count);
    n = loop->receive(fd, msg, saved_errno);
  } else {
    n = ::readv(fd, vec, count);
    if (n < 0) saved_errno = errno;
  }
  if (n < 0) return n;
  if (static_cast<size_t>(n) <= writable) {
    write_index_ += static_cast<size_t>(n);
  } else {
    write_index_ = size_;
    append(spill, static_cast<size_t>(n) - writable);
  }
  return n;
}

}  // namespace chat::net
