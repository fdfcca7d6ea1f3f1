#include "transports/udp/datagram_socket.h"

#include <time.h>

#include <cerrno>
#include <cstring>

#include "src/util/clock.h"

namespace chat::udp {
namespace {

constexpr size_t kControlSpace = CMSG_SPACE(sizeof(timespec));

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

DatagramSocket::DatagramSocket(net::Fd fd, DatagramSocketOptions options)
    : fd_(std::move(fd)), options_(options) {
  const int want = options_.buffer_bytes > 0 ? options_.buffer_bytes : kDefaultBuffer;
  receive_buffer_ = net::set_receive_buffer(fd_.get(), want);
  send_buffer_ = net::set_send_buffer(fd_.get(), want);
  // Kernel receive timestamps: the arrival time jitter is computed from should not include how
  // long the datagram waited in a batch for us to get to it.
  int one = 1;
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
}

DatagramSocket::~DatagramSocket() {
  unwatch();
}

void DatagramSocket::watch(net::EventLoop& loop, std::function<void()> on_readable) {
  unwatch();
  loop_ = &loop;
  loop.add(fd_.get(), EPOLLIN, [fn = std::move(on_readable)](uint32_t) { fn(); });
}

void DatagramSocket::unwatch() {
  if (loop_) loop_->remove(fd_.get());
  loop_ = nullptr;
}

void DatagramSocket::allocate() {
  const size_t n = options_.batch;
  storage_.reset(new uint8_t[n * options_.max_datagram]);  // uninitialised on purpose
  rx_headers_.assign(n, mmsghdr{});
  rx_iovecs_.assign(n, iovec{});
  rx_.assign(n, InboundDatagram{});
  rx_control_.assign(n * kControlSpace, 0);
  for (size_t i = 0; i < n; ++i) {
    rx_iovecs_[i].iov_base = storage_.get() + i * options_.max_datagram;
    rx_iovecs_[i].iov_len = options_.max_datagram;
    msghdr& h = rx_headers_[i].msg_hdr;
    h.msg_iov = &rx_iovecs_[i];
    h.msg_iovlen = 1;
    h.msg_name = &rx_[i].from.storage;
  }
}

ReceiveOutcome DatagramSocket::receive() {
  if (!storage_) allocate();
  const size_t n = options_.batch;
  for (size_t i = 0; i < n; ++i) {
    msghdr& h = rx_headers_[i].msg_hdr;
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_control = rx_control_.data() + i * kControlSpace;
    h.msg_controllen = kControlSpace;
    h.msg_flags = 0;
  }
  const int got =
      ::recvmmsg(fd_.get(), rx_headers_.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
  if (got < 0) return ReceiveOutcome{{}, errno};
  // Kernel timestamps are CLOCK_REALTIME; shift them onto the monotonic clock of now_ns() so the
  // transport's timestamps share one scale.
  const uint64_t mono = now_ns();
  const uint64_t real = clock_ns(CLOCK_REALTIME);
  for (int i = 0; i < got; ++i) {
    msghdr& h = rx_headers_[i].msg_hdr;
    InboundDatagram& d = rx_[i];
    d.bytes = {static_cast<const uint8_t*>(rx_iovecs_[i].iov_base), rx_headers_[i].msg_len};
    d.from.length = h.msg_namelen;
    d.truncated = (h.msg_flags & MSG_TRUNC) != 0;
    d.received_ns = mono;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      const uint64_t at =
          static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
      // Never later than now, never absurd if the wall clock stepped.
      if (at <= real && real - at < 10'000'000'000u) d.received_ns = mono - (real - at);
    }
  }
  return ReceiveOutcome{{rx_.data(), static_cast<size_t>(got)}, 0};
}

SendOutcome DatagramSocket::send(std::span<const OutboundDatagram> batch) {
  SendOutcome out;
  while (out.sent < batch.size()) {
    const size_t n = std::min(batch.size() - out.sent, kMaxSendBatch);
    tx_headers_.resize(n);
    tx_iovecs_.resize(2 * n);
    for (size_t i = 0; i < n; ++i) {
      const OutboundDatagram& d = batch[out.sent + i];
      iovec* iov = &tx_iovecs_[2 * i];
      size_t parts = 0;
      if (!d.head.empty()) iov[parts++] = {const_cast<uint8_t*>(d.head.data()), d.head.size()};
      if (!d.body.empty() || parts == 0)
        iov[parts++] = {const_cast<uint8_t*>(d.body.data()), d.body.size()};
      msghdr& h = tx_headers_[i].msg_hdr;
      h = msghdr{};
      h.msg_iov = iov;
      h.msg_iovlen = parts;
      if (d.to) {
        h.msg_name = const_cast<sockaddr*>(d.to->get());
        h.msg_namelen = d.to->length;
      }
    }
    const int done = ::sendmmsg(fd_.get(), tx_headers_.data(), static_cast<unsigned>(n),
                                MSG_DONTWAIT | MSG_NOSIGNAL);
    if (done < 0) {
      out.error = errno == EINTR ? EAGAIN : errno;
      return out;
    }
    out.sent += static_cast<size_t>(done);
    // A short count means the kernel stopped at a datagram it would not take; sending it alone
    // reveals why.
    if (static_cast<size_t>(done) < n) continue;
  }
  return out;
}

}  // namespace chat::udp
