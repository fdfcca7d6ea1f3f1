#pragma once
// The seam beneath the UDP transport: everything the transport does to the wire goes through
// DatagramIo, so the batching (recvmmsg/sendmmsg) lives in one place and the transport above it
// only sees whole datagrams.
//
// DatagramSocket is the real thing: recvmmsg to take up to a batch of datagrams per system call,
// sendmmsg to hand several to the kernel at once, and large kernel buffers so a burst is queued
// rather than dropped. On top of that, UDP segmentation offload: a run of equal-sized datagrams to
// one destination leaves as ONE kernel send (UDP_SEGMENT), and the receive side accepts such
// coalesced buffers (UDP_GRO) and splits them again. Per-datagram kernel work (skb building, the
// loopback hop, socket wake-ups) is what bounds UDP throughput, so doing it once per run instead
// of once per datagram is the largest win there is. Both are invisible above this class: callers
// still send and receive individual datagrams, and SendOutcome counts datagrams.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "src/net/event_loop.h"
#include "src/net/fd.h"
#include "src/net/socket.h"

namespace chat::udp {

struct InboundDatagram {
  std::span<const uint8_t> bytes;  // valid until the next receive()
  net::SocketAddress from;
  uint64_t received_ns = 0;  // arrival time on the CLOCK_MONOTONIC scale of now_ns()
  bool truncated = false;    // longer than our buffer: the tail is gone
};

// Sent as one datagram: head then body (gathered, so a broadcast can share one body).
struct OutboundDatagram {
  std::span<const uint8_t> head;
  std::span<const uint8_t> body;
  const net::SocketAddress* to = nullptr;  // nullptr on a connected socket
};

struct SendOutcome {
  size_t sent = 0;  // datagrams at the front of the batch that the kernel took
  int error = 0;    // errno for datagram `sent` when it was refused; 0 when all went
};

struct ReceiveOutcome {
  std::span<const InboundDatagram> datagrams;
  int error = 0;  // 0, EAGAIN when drained, or an errno (ECONNREFUSED on a connected socket)
  // Kernel receive buffers filled (at most the batch). One coalesced (GRO) buffer yields many
  // datagrams, so this, not datagrams.size(), tells whether the socket may hold more.
  size_t buffers = 0;
  // Datagrams the kernel has dropped so far because the socket's buffer was full (SO_RXQ_OVFL,
  // cumulative, as of the newest datagram read; 0 where the kernel does not say).
  uint32_t overflowed = 0;
};

class DatagramIo {
 public:
  virtual ~DatagramIo() = default;
  // Calls `on_readable` on the loop whenever receive() may have something.
  virtual void watch(net::EventLoop& loop, std::function<void()> on_readable) = 0;
  virtual void unwatch() = 0;
  virtual ReceiveOutcome receive() = 0;
  virtual SendOutcome send(std::span<const OutboundDatagram> batch) = 0;
  virtual net::SocketAddress local_address() const = 0;
  // Whether datagrams wait that receive() has not taken yet (one system call).
  virtual bool unread() const = 0;
};

struct DatagramSocketOptions {
  size_t batch = 32;            // datagrams per recvmmsg
  size_t max_datagram = 65507;  // receive buffer per datagram (anything longer is truncated)
  int buffer_bytes = 0;         // SO_RCVBUF/SO_SNDBUF request; 0 asks for kDefaultBuffer
};

class DatagramSocket final : public DatagramIo {
 public:
  static constexpr int kDefaultBuffer = 4 * 1024 * 1024;
  static constexpr size_t kMaxSendBatch = 256;  // msghdrs per sendmmsg
  // Datagrams per sendmmsg: bounds the iovec scratch (two per datagram: head and body).
  static constexpr size_t kMaxSendDatagrams = 1024;
  // One GSO send: the kernel's own limit is 64 segments (128 on newer kernels) and a UDP length
  // of 65,535; we stay below both.
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxSegmentBytes = 64000;
  // A coalesced receive buffer is at most one maximal UDP payload.
  static constexpr size_t kGroBuffer = 65536;
  // Receive buffers are split into at most this many datagrams each before rx_ has to grow.
  static constexpr size_t kGroSegments = 64;

  DatagramSocket(net::Fd fd, DatagramSocketOptions options);
  ~DatagramSocket() override;
  DatagramSocket(const DatagramSocket&) = delete;
  DatagramSocket& operator=(const DatagramSocket&) = delete;

  void watch(net::EventLoop& loop, std::function<void()> on_readable) override;
  void unwatch() override;
  ReceiveOutcome receive() override;
  SendOutcome send(std::span<const OutboundDatagram> batch) override;
  net::SocketAddress local_address() const override { return net::local_address(fd_.get()); }
  bool unread() const override {
    return loop_ ? loop_->has_unread(fd_.get()) : net::has_bytes_waiting(fd_.get());
  }

  int fd() const { return fd_.get(); }
  int receive_buffer() const { return receive_buffer_; }
  int send_buffer() const { return send_buffer_; }
  // Whether sends still try segmentation offload (cleared once the kernel refuses it).
  bool gso_enabled() const { return gso_; }
  // Whether the kernel agreed to hand us coalesced buffers.
  bool gro_enabled() const { return gro_; }
  // Test hook: send one datagram per msghdr (the pre-GSO behaviour).
  void disable_gso() { gso_ = false; }

 private:
  void allocate();
  // recvmmsg's work, datagram by datagram, when the loop reads this socket ahead.
  int receive_through_loop(size_t n);
  // Fills tx_headers_ from batch[first...]; returns how many headers were built.
  size_t build_send_vector(std::span<const OutboundDatagram> batch, size_t first);

  net::Fd fd_;
  DatagramSocketOptions options_;
  net::EventLoop* loop_ = nullptr;
  int receive_buffer_ = 0;
  int send_buffer_ = 0;
  bool gso_ = true;
  bool gro_ = false;
  size_t slot_bytes_ = 0;  // receive buffer per recvmmsg slot

  // Receive slots, allocated on the first receive and never zeroed: pages a small datagram never
  // touches are never made resident, so a client idle on receive costs little memory.
  std::unique_ptr<uint8_t[]> storage_;
  std::vector<mmsghdr> rx_headers_;
  size_t rx_touched_ = 0;  // headers of rx_headers_ the last receive may have written to
  std::vector<iovec> rx_iovecs_;
  std::vector<net::SocketAddress> rx_from_;  // one per slot: recvmmsg writes the source here
  std::vector<InboundDatagram> rx_;          // one per datagram after GRO buffers are split
  std::vector<uint8_t> rx_control_;

  std::vector<mmsghdr> tx_headers_;
  std::vector<iovec> tx_iovecs_;
  std::vector<uint32_t> tx_counts_;  // datagrams each msghdr carries
  std::vector<uint8_t> tx_control_;  // one UDP_SEGMENT cmsg per msghdr
};

}  // namespace chat::udp
