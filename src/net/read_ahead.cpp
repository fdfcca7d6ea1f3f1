#include "src/net/read_ahead.h"

#include <cerrno>

#include <algorithm>
#include <cstring>

namespace chat::net {

void ReadAhead::prepare() {
  iov = {data.get(), capacity};
  msg = msghdr{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!stream) {
    msg.msg_name = &name;
    msg.msg_namelen = sizeof name;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
}

void ReadAhead::stash(int res) {
  stashed = true;
  result = res;
  offset = 0;
}

ssize_t ReadAhead::take(msghdr& out, int& err) {
  if (result < 0) {
    err = -result;
    stashed = false;
    return -1;
  }
  int flags = 0;
  if (stream) {
    out.msg_namelen = 0;
    out.msg_controllen = 0;
  } else {
    if (out.msg_name) {
      std::memcpy(out.msg_name, &name, std::min<size_t>(out.msg_namelen, msg.msg_namelen));
      out.msg_namelen = msg.msg_namelen;
    }
    const size_t held = msg.msg_controllen;
    if (out.msg_control) {
      const size_t n = std::min<size_t>(out.msg_controllen, held);
      std::memcpy(out.msg_control, control, n);
      out.msg_controllen = n;
      if (n < held) flags |= MSG_CTRUNC;
    } else {
      out.msg_controllen = 0;
    }
    flags |= msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
  }
  const auto total = static_cast<size_t>(result);
  size_t copied = 0;
  for (size_t i = 0; i < out.msg_iovlen && offset + copied < total; ++i) {
    const size_t n = std::min(out.msg_iov[i].iov_len, total - offset - copied);
    std::memcpy(out.msg_iov[i].iov_base, data.get() + offset + copied, n);
    copied += n;
  }
  if (stream) {
    offset += copied;
    if (total == 0) eof = true;
    if (offset < total) {
      out.msg_flags = 0;
      return static_cast<ssize_t>(copied);
    }
    more = total == capacity;  // a full buffer: the socket may hold more right now
  } else if (copied < total) {
    flags |= MSG_TRUNC;
  }
  out.msg_flags = flags;
  stashed = false;
  return static_cast<ssize_t>(copied);
}

ssize_t ReadAhead::read_direct(int fd, msghdr& out, int& err) {
  if (!more && !eof) {
    err = EAGAIN;
    return -1;
  }
  const ssize_t n = ::recvmsg(fd, &out, MSG_DONTWAIT);
  if (n < 0) {
    err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) more = false;
  }
  if (n == 0 && stream) eof = true;
  return n;
}

}  // namespace chat::net
