#pragma once
// A socket read the loop did before the socket's owner asked for it (EventLoop::read_ahead): the
// buffer the read went into and what it returned, handed over later exactly as the owner's own
// recvmsg would have returned it. The io_uring backend reads into one of these as the bytes
// arrive; the blocking backend does while it sleeps in the socket's recvmsg.
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace chat::net {

struct ReadAhead {
  ReadAhead(size_t bytes, bool is_stream)
      : data(new uint8_t[bytes]), capacity(bytes), stream(is_stream) {}
  static constexpr size_t kControlBytes = 256;  // a timestamp and a GRO segment size, with room

  // Points `msg` at the buffer for the next read (a stream's read wants no name or control).
  void prepare();
  // A read finished with `res` (bytes, or -errno): it waits to be taken.
  void stash(int res);
  // recvmsg's answer from what was read: the bytes copied into out's iovecs, name, control and
  // flags; -1 with `err` for a read that failed. A stream's bytes may be taken over several calls;
  // once all are, `stashed` is false again.
  ssize_t take(msghdr& out, int& err);
  // With nothing held: the socket's own recvmsg(MSG_DONTWAIT), or EAGAIN without asking while
  // `more` says the last read most likely left it empty (the next wait finds what arrives).
  ssize_t read_direct(int fd, msghdr& out, int& err);

  std::unique_ptr<uint8_t[]> data;
  size_t capacity;
  bool stream;
  sockaddr_storage name{};
  alignas(cmsghdr) uint8_t control[kControlBytes];
  iovec iov{};
  msghdr msg{};
  bool stashed = false;  // a finished read waits to be taken
  bool eof = false;      // a stream ended: nothing more to read ahead
  bool more = true;      // the socket may hold more right now: a direct read is worth trying
  int result = 0;        // bytes read, or -errno
  size_t offset = 0;     // bytes of a stream read already handed over
};

}  // namespace chat::net
