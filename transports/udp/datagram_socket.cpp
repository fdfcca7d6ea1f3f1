#include "transports/udp/datagram_socket.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "src/util/clock.h"

namespace chat::udp {
namespace {

// Receive: a timestamp, the kernel's drop count and, for a coalesced buffer, its segment size.
constexpr size_t kControlSpace =
    CMSG_SPACE(sizeof(timespec)) + CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int));
// Send: the segment size of a run.
constexpr size_t kSendControlSpace = CMSG_SPACE(sizeof(uint16_t));

size_t size_of(const OutboundDatagram& d) {
  return d.head.size() + d.body.size();
}

bool same_destination(const OutboundDatagram& a, const OutboundDatagram& b) {
  if (a.to == b.to) return true;
  return a.to && b.to && *a.to == *b.to;
}

// What the kernel answers when this socket or route cannot segment (too old a kernel, no checksum
// offload on the route, a segment larger than the path MTU, ...).
bool refuses_gso(int error) {
  return error == EINVAL || error == EIO || error == ENOPROTOOPT || error == EOPNOTSUPP;
}

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
  // Accept coalesced buffers: a GSO sender on this host (or NIC GRO) then costs us one socket
  // enqueue and one wake-up per run instead of per datagram. Without it the kernel would split a
  // GSO buffer back into datagrams before queueing them.
  gro_ = ::setsockopt(fd_.get(), SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  // How many datagrams the kernel dropped for want of buffer: a hub must not take the silence
  // this causes for a member's own.
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
}

DatagramSocket::~DatagramSocket() {
  unwatch();
}

void DatagramSocket::watch(net::EventLoop& loop, std::function<void()> on_readable) {
  unwatch();
  loop_ = &loop;
  loop.add(fd_.get(), EPOLLIN, [fn = std::move(on_readable)](uint32_t) { fn(); });
  // io_uring: the loop reads one datagram as it arrives, so the wake-up brings it.
  loop.read_ahead(fd_.get(),
                  gro_ ? std::max(options_.max_datagram, kGroBuffer) : options_.max_datagram);
}

void DatagramSocket::unwatch() {
  if (loop_) loop_->remove(fd_.get());
  loop_ = nullptr;
}

void DatagramSocket::allocate() {
  const size_t n = options_.batch;
  // A coalesced buffer must fit whole, or its tail datagrams would be cut off.
  slot_bytes_ = gro_ ? std::max(options_.max_datagram, kGroBuffer) : options_.max_datagram;
  storage_.reset(new uint8_t[n * slot_bytes_]);  // uninitialised on purpose
  rx_headers_.assign(n, mmsghdr{});
  rx_iovecs_.assign(n, iovec{});
  rx_from_.assign(n, net::SocketAddress{});
  rx_.clear();
  rx_.reserve(gro_ ? n * kGroSegments : n);
  rx_control_.assign(n * kControlSpace, 0);
  for (size_t i = 0; i < n; ++i) {
    rx_iovecs_[i].iov_base = storage_.get() + i * slot_bytes_;
    rx_iovecs_[i].iov_len = slot_bytes_;
    msghdr& h = rx_headers_[i].msg_hdr;
    h.msg_iov = &rx_iovecs_[i];
    h.msg_iovlen = 1;
    h.msg_name = &rx_from_[i].storage;
    h.msg_control = rx_control_.data() + i * kControlSpace;
  }
  rx_touched_ = n;  // receive() sets the lengths the kernel overwrites
}

ReceiveOutcome DatagramSocket::receive() {
  if (!storage_) allocate();
  const size_t n = options_.batch;
  // Only the headers the last receive handed over were overwritten (lengths, flags): resetting
  // all of the batch's every time was the biggest cost of a one-datagram read.
  for (size_t i = 0; i < rx_touched_; ++i) {
    msghdr& h = rx_headers_[i].msg_hdr;
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_controllen = kControlSpace;
    h.msg_flags = 0;
  }
  const int got = loop_ && loop_->reads_ahead(fd_.get())
                      ? receive_through_loop(n)
                      : ::recvmmsg(fd_.get(), rx_headers_.data(), static_cast<unsigned>(n),
                                   MSG_DONTWAIT, nullptr);
  // The header after the last filled one may have been offered to a read that failed.
  rx_touched_ = std::min(n, static_cast<size_t>(std::max(got, 0)) + 1);
  if (got < 0) return ReceiveOutcome{{}, errno};
  // Kernel timestamps are CLOCK_REALTIME; shift them onto the monotonic clock of now_ns() so the
  // transport's timestamps share one scale.
  const uint64_t mono = now_ns();
  const uint64_t real = clock_ns(CLOCK_REALTIME);
  rx_.clear();  // keeps its capacity: no allocation in steady state
  uint32_t overflowed = 0;
  for (int i = 0; i < got; ++i) {
    msghdr& h = rx_headers_[i].msg_hdr;
    const net::SocketAddress& from = rx_from_[i];
    rx_from_[i].length = h.msg_namelen;
    uint64_t received_ns = mono;
    size_t segment = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int gso_size = 0;
        std::memcpy(&gso_size, CMSG_DATA(c), sizeof gso_size);
        if (gso_size > 0) segment = static_cast<size_t>(gso_size);
        continue;
      }
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::memcpy(&overflowed, CMSG_DATA(c), sizeof overflowed);
        continue;
      }
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      const uint64_t at =
          static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
      // Never later than now, never absurd if the wall clock stepped.
      if (at <= real && real - at < 10'000'000'000u) received_ns = mono - (real - at);
    }
    const auto* base = static_cast<const uint8_t*>(rx_iovecs_[i].iov_base);
    const size_t length = rx_headers_[i].msg_len;
    const bool truncated = (h.msg_flags & MSG_TRUNC) != 0;
    if (segment == 0 || segment >= length) {
      rx_.push_back(InboundDatagram{{base, length}, from, received_ns, truncated});
      continue;
    }
    // A coalesced buffer: equal segments, the last possibly shorter. If the buffer was cut short,
    // only the segment the cut went through is truncated; those wholly past it are gone.
    for (size_t at = 0; at < length; at += segment) {
      const size_t part = std::min(segment, length - at);
      rx_.push_back(
          InboundDatagram{{base + at, part}, from, received_ns, truncated && at + part == length});
    }
  }
  return ReceiveOutcome{{rx_.data(), rx_.size()}, 0, static_cast<size_t>(got), overflowed};
}

int DatagramSocket::receive_through_loop(size_t n) {
  int got = 0;
  for (; static_cast<size_t>(got) < n; ++got) {
    int err = 0;
    const ssize_t len = loop_->receive(fd_.get(), rx_headers_[got].msg_hdr, err);
    if (len < 0) {
      if (got > 0) break;
      errno = err;
      return -1;
    }
    rx_headers_[got].msg_len = static_cast<unsigned>(len);
  }
  return got;
}

size_t DatagramSocket::build_send_vector(std::span<const OutboundDatagram> batch, size_t first) {
  size_t headers = 0;
  size_t datagrams = 0;
  size_t i = first;
  while (i < batch.size() && headers < kMaxSendBatch && datagrams < kMaxSendDatagrams) {
    // The run starting at i: same destination, same size, the last one may be shorter.
    const size_t segment = size_of(batch[i]);
    size_t run = 1;
    if (gso_ && segment > 0) {
      const size_t limit =
          std::min({kMaxSegments, batch.size() - i, kMaxSendDatagrams - datagrams});
      size_t total = segment;
      while (run < limit && same_destination(batch[i], batch[i + run])) {
        const size_t next = size_of(batch[i + run]);
        // An empty datagram would vanish inside a run; a longer one cannot be a segment.
        if (next == 0 || next > segment || total + next > kMaxSegmentBytes) break;
        total += next;
        ++run;
        if (next < segment) break;  // a short one ends the run
      }
    }
    iovec* iov = &tx_iovecs_[2 * datagrams];
    size_t parts = 0;
    for (size_t k = i; k < i + run; ++k) {
      const OutboundDatagram& d = batch[k];
      if (!d.head.empty()) iov[parts++] = {const_cast<uint8_t*>(d.head.data()), d.head.size()};
      if (!d.body.empty() || (run == 1 && parts == 0))
        iov[parts++] = {const_cast<uint8_t*>(d.body.data()), d.body.size()};
    }
    msghdr& h = tx_headers_[headers].msg_hdr;
    h = msghdr{};
    h.msg_iov = iov;
    h.msg_iovlen = parts;
    if (batch[i].to) {
      h.msg_name = const_cast<sockaddr*>(batch[i].to->get());
      h.msg_namelen = batch[i].to->length;
    }
    if (run > 1) {
      h.msg_control = tx_control_.data() + headers * kSendControlSpace;
      h.msg_controllen = kSendControlSpace;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto size = static_cast<uint16_t>(segment);
      std::memcpy(CMSG_DATA(c), &size, sizeof size);
    }
    tx_counts_[headers] = static_cast<uint32_t>(run);
    ++headers;
    datagrams += run;
    i += run;
  }
  return headers;
}

SendOutcome DatagramSocket::send(std::span<const OutboundDatagram> batch) {
  if (tx_headers_.empty()) {
    tx_headers_.resize(kMaxSendBatch);
    tx_iovecs_.resize(2 * kMaxSendDatagrams);
    tx_counts_.resize(kMaxSendBatch);
    tx_control_.assign(kMaxSendBatch * kSendControlSpace, 0);
  }
  SendOutcome out;
  while (out.sent < batch.size()) {
    const size_t n = build_send_vector(batch, out.sent);
    const int done = ::sendmmsg(fd_.get(), tx_headers_.data(), static_cast<unsigned>(n),
                                MSG_DONTWAIT | MSG_NOSIGNAL);
    if (done < 0) {
      const int error = errno;
      if (tx_counts_[0] > 1 && refuses_gso(error)) {
        // Nothing of this vector left; send the same datagrams one per msghdr from now on.
        gso_ = false;
        spdlog::debug("udp: segmentation offload refused ({}); sending datagrams one by one",
                      std::strerror(error));
        continue;
      }
      out.error = error == EINTR ? EAGAIN : error;
      return out;
    }
    // The kernel counts msghdrs; our callers count datagrams.
    for (int k = 0; k < done; ++k) out.sent += tx_counts_[k];
    // A short count means the kernel stopped at a msghdr it would not take; sending it first
    // reveals why.
  }
  return out;
}

}  // namespace chat::udp
