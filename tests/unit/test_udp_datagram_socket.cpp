// DatagramSocket over 127.0.0.1: segmentation offload on send (runs of equal datagrams leave as one
// msghdr) and GRO on receive (coalesced buffers are split again) must be invisible to callers:
// every datagram arrives separately, in order, byte for byte, and SendOutcome counts datagrams.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/net/socket.h"
#include "transports/udp/datagram_socket.h"

namespace chat::udp {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<DatagramSocket> bound_socket() {
  auto fd = net::bind_udp("127.0.0.1", 0);
  EXPECT_TRUE(fd.ok());
  return std::make_unique<DatagramSocket>(std::move(*fd), DatagramSocketOptions{});
}

// Distinct bytes per datagram and position, so a misplaced split or reordering shows.
std::string pattern(size_t index, size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('A' + (index * 7 + i) % 53);
  return s;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Received {
  std::vector<std::string> datagrams;
  size_t buffers = 0;  // kernel buffers they came in
  bool truncated = false;
};

// Receives until `count` datagrams arrived or a second passed.
Received receive_all(DatagramSocket& socket, size_t count) {
  Received out;
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  while (out.datagrams.size() < count && std::chrono::steady_clock::now() < deadline) {
    const ReceiveOutcome r = socket.receive();
    if (r.error == EAGAIN) {
      pollfd p{socket.fd(), POLLIN, 0};
      ::poll(&p, 1, 10);
      continue;
    }
    EXPECT_EQ(r.error, 0);
    out.buffers += r.buffers;
    for (const InboundDatagram& d : r.datagrams) {
      out.datagrams.emplace_back(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size());
      out.truncated |= d.truncated;
      EXPECT_GT(d.from.length, 0u);  // every split datagram keeps its source
    }
  }
  return out;
}

// Sends `payloads` to `to` (nullptr on a connected socket) as body-only datagrams.
SendOutcome send_all(DatagramSocket& socket, const std::vector<std::string>& payloads,
                     const net::SocketAddress* to) {
  std::vector<OutboundDatagram> batch;
  for (const std::string& p : payloads) batch.push_back(OutboundDatagram{{}, bytes(p), to});
  return socket.send(batch);
}

TEST(DatagramSocketGso, EqualRunWithAShorterLastArrivesAsSeparateDatagrams) {
  auto rx = bound_socket();
  auto tx = bound_socket();
  const net::SocketAddress to = rx->local_address();
  std::vector<std::string> payloads;
  for (size_t i = 0; i < 5; ++i) payloads.push_back(pattern(i, 1000));
  payloads.push_back(pattern(5, 300));

  const SendOutcome s = send_all(*tx, payloads, &to);
  EXPECT_EQ(s.sent, payloads.size());  // datagrams, not msghdrs
  EXPECT_EQ(s.error, 0);
  const Received r = receive_all(*rx, payloads.size());
  EXPECT_EQ(r.datagrams, payloads);
  EXPECT_FALSE(r.truncated);
  EXPECT_TRUE(tx->gso_enabled());
  // On a kernel with both offloads the run travels and is read as one coalesced buffer.
  if (rx->gro_enabled()) {
    EXPECT_EQ(r.buffers, 1u);
  }
}

TEST(DatagramSocketGso, HeadAndBodyDatagramsAndAConnectedSocket) {
  auto rx = bound_socket();
  const net::SocketAddress to = rx->local_address();
  auto fd = net::open_udp_for(to);
  ASSERT_TRUE(fd.ok());
  DatagramSocket tx(std::move(*fd), DatagramSocketOptions{});
  // Like a broadcast: per-datagram heads sharing one body.
  const std::string body = pattern(99, 500);
  std::vector<std::string> heads;
  std::vector<std::string> expected;
  for (size_t i = 0; i < 8; ++i) {
    heads.push_back(pattern(i, 24));
    expected.push_back(heads.back() + body);
  }
  std::vector<OutboundDatagram> batch;
  for (const std::string& h : heads)
    batch.push_back(OutboundDatagram{bytes(h), bytes(body), nullptr});
  const SendOutcome s = tx.send(batch);
  EXPECT_EQ(s.sent, batch.size());
  EXPECT_EQ(receive_all(*rx, expected.size()).datagrams, expected);
}

TEST(DatagramSocketGso, MixedSizesAndDestinationsArriveIntact) {
  auto a = bound_socket();
  auto b = bound_socket();
  auto tx = bound_socket();
  const net::SocketAddress to_a = a->local_address();
  const net::SocketAddress to_b = b->local_address();
  // Sizes change, an empty datagram sits inside a would-be run, a longer one follows a shorter,
  // and destinations interleave; equal copies of an address (not the same pointer) still group.
  const std::vector<size_t> sizes = {100,  100,  100, 40, 100, 0,     100,  100, 200, 1400,
                                     1400, 1400, 1,   1,  1,   65000, 1400, 700, 700, 1400};
  std::vector<net::SocketAddress> targets;
  for (size_t i = 0; i < sizes.size(); ++i) targets.push_back(i % 7 == 3 ? to_b : to_a);
  std::vector<std::string> payloads;
  std::vector<OutboundDatagram> batch;
  std::vector<std::string> want_a;
  std::vector<std::string> want_b;
  for (size_t i = 0; i < sizes.size(); ++i) payloads.push_back(pattern(i, sizes[i]));
  for (size_t i = 0; i < sizes.size(); ++i) {
    batch.push_back(OutboundDatagram{{}, bytes(payloads[i]), &targets[i]});
    (i % 7 == 3 ? want_b : want_a).push_back(payloads[i]);
  }
  const SendOutcome s = tx->send(batch);
  EXPECT_EQ(s.sent, batch.size());
  EXPECT_EQ(s.error, 0);
  EXPECT_EQ(receive_all(*a, want_a.size()).datagrams, want_a);
  EXPECT_EQ(receive_all(*b, want_b.size()).datagrams, want_b);
}

TEST(DatagramSocketGso, LongRunsSplitAtTheSegmentAndByteLimits) {
  auto rx = bound_socket();
  auto tx = bound_socket();
  const net::SocketAddress to = rx->local_address();
  std::vector<std::string> payloads;
  // 300 small ones cross the 64-segment limit; 100 of 1,424 bytes cross the 64,000-byte limit.
  for (size_t i = 0; i < 300; ++i) payloads.push_back(pattern(i, 64));
  for (size_t i = 0; i < 100; ++i) payloads.push_back(pattern(i, 1424));
  const SendOutcome s = send_all(*tx, payloads, &to);
  EXPECT_EQ(s.sent, payloads.size());
  const Received r = receive_all(*rx, payloads.size());
  EXPECT_EQ(r.datagrams, payloads);
  if (rx->gro_enabled()) {
    EXPECT_LT(r.buffers, 20u);
  }
}

TEST(DatagramSocketGso, WithoutGsoEveryDatagramIsItsOwnBuffer) {
  auto rx = bound_socket();
  auto tx = bound_socket();
  tx->disable_gso();
  const net::SocketAddress to = rx->local_address();
  std::vector<std::string> payloads;
  for (size_t i = 0; i < 10; ++i) payloads.push_back(pattern(i, 800));
  EXPECT_EQ(send_all(*tx, payloads, &to).sent, payloads.size());
  const Received r = receive_all(*rx, payloads.size());
  EXPECT_EQ(r.datagrams, payloads);
  EXPECT_EQ(r.buffers, payloads.size());
}

TEST(DatagramSocketGso, APlainSocketWithoutGroStillSeesSeparateDatagrams) {
  // What nc -u (a text member) sees: the kernel splits the run before it reaches the socket.
  auto fd = net::bind_udp("127.0.0.1", 0);
  ASSERT_TRUE(fd.ok());
  const int plain = fd->get();
  const net::SocketAddress to = net::local_address(plain);
  auto tx = bound_socket();
  std::vector<std::string> payloads;
  for (size_t i = 0; i < 4; ++i) payloads.push_back(pattern(i, 600));
  payloads.push_back(pattern(4, 20));
  EXPECT_EQ(send_all(*tx, payloads, &to).sent, payloads.size());
  for (const std::string& want : payloads) {
    pollfd p{plain, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 1000), 1);
    std::string got(2000, '\0');
    const ssize_t n = ::recv(plain, got.data(), got.size(), MSG_DONTWAIT);
    ASSERT_GE(n, 0);
    got.resize(static_cast<size_t>(n));
    EXPECT_EQ(got, want);
  }
}

TEST(DatagramSocketGso, FallsBackWhenTheKernelRefusesSegmentation) {
  auto rx = bound_socket();
  auto tx = bound_socket();
  // Without UDP checksums the kernel refuses to segment (EINVAL) but sends single datagrams.
  int one = 1;
  ASSERT_EQ(::setsockopt(tx->fd(), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
  const net::SocketAddress to = rx->local_address();
  std::vector<std::string> payloads;
  for (size_t i = 0; i < 6; ++i) payloads.push_back(pattern(i, 900));
  const SendOutcome s = send_all(*tx, payloads, &to);
  EXPECT_EQ(s.sent, payloads.size());
  EXPECT_EQ(s.error, 0);
  EXPECT_FALSE(tx->gso_enabled());
  EXPECT_EQ(receive_all(*rx, payloads.size()).datagrams, payloads);
}

TEST(DatagramSocketGso, ARefusedSendCountsDatagramsBeforeIt) {
  auto tx = bound_socket();
  auto rx = bound_socket();
  const net::SocketAddress to = rx->local_address();
  // An IPv6 destination on an IPv4 socket is refused: the run before it still counts in full.
  net::SocketAddress bad;
  bad.storage.ss_family = AF_INET6;
  bad.length = sizeof(sockaddr_in6);
  std::vector<std::string> payloads = {pattern(0, 300), pattern(1, 300), pattern(2, 300),
                                       pattern(3, 300)};
  std::vector<OutboundDatagram> batch = {{{}, bytes(payloads[0]), &to},
                                         {{}, bytes(payloads[1]), &to},
                                         {{}, bytes(payloads[2]), &to},
                                         {{}, bytes(payloads[3]), &bad}};
  const SendOutcome s = tx->send(batch);
  EXPECT_EQ(s.sent, 3u);
  EXPECT_NE(s.error, 0);
  EXPECT_TRUE(tx->gso_enabled());  // a single datagram's refusal says nothing about GSO
  EXPECT_EQ(receive_all(*rx, 3).datagrams,
            std::vector<std::string>(payloads.begin(), payloads.begin() + 3));
}

}  // namespace
}  // namespace chat::udp
