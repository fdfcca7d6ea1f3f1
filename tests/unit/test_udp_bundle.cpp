// UdpTransport's bundles on loopback: what one loop turn sends a member leaves in few datagrams,
// no larger than the configured size, and arrives in order with per-message sequence accounting;
// a lost bundle counts every message it carried; a bad bundle is dropped alone. A relay between
// client and hub sees (and may drop) each datagram. Every wait is bounded.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/net/event_loop.h"
#include "src/net/socket.h"
#include "src/wire/bundle_codec.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"
#include "tests/support/transport_harness.h"
#include "transports/udp/udp_transport.h"

namespace chat {
namespace {

using testing::run_until;
using wire::FrameType;

// A UDP socket on 127.0.0.1 whose datagrams go to `on_datagram`.
class Socket {
 public:
  Socket(net::EventLoop& loop, std::function<void(std::string, const net::SocketAddress&)> on)
      : loop_(loop), on_(std::move(on)) {
    auto fd = net::bind_udp("127.0.0.1", 0);
    EXPECT_TRUE(fd.ok());
    fd_ = std::move(*fd);
    loop_.add(fd_.get(), EPOLLIN, [this](uint32_t) {
      std::vector<char> buf(70000);
      for (;;) {
        net::SocketAddress from;
        socklen_t len = sizeof from.storage;
        const ssize_t n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0,
                                     reinterpret_cast<sockaddr*>(&from.storage), &len);
        if (n < 0) break;
        from.length = len;
        on_(std::string(buf.data(), static_cast<size_t>(n)), from);
      }
    });
  }
  ~Socket() { loop_.remove(fd_.get()); }
  void send_to(const net::SocketAddress& to, std::string_view bytes) {
    ASSERT_EQ(::sendto(fd_.get(), bytes.data(), bytes.size(), 0, to.get(), to.length),
              static_cast<ssize_t>(bytes.size()));
  }
  net::SocketAddress address() const { return net::local_address(fd_.get()); }

 private:
  net::EventLoop& loop_;
  std::function<void(std::string, const net::SocketAddress&)> on_;
  net::Fd fd_;
};

// Client ⇄ relay ⇄ hub. Records what the hub sends the client and drops what `drop` picks.
class Relay {
 public:
  Relay(net::EventLoop& loop, net::SocketAddress hub)
      : hub_(hub),
        front_(loop,
               [this](std::string d, const net::SocketAddress& from) {
                 client_ = from;
                 back_.send_to(hub_, d);
               }),
        back_(loop, [this](std::string d, const net::SocketAddress&) {
          if (drop && drop(d)) {
            dropped.push_back(std::move(d));
            return;
          }
          to_client.push_back(d);
          front_.send_to(client_, d);
        }) {}
  uint16_t port() const { return front_.address().port(); }

  std::function<bool(const std::string&)> drop;
  std::vector<std::string> to_client;
  std::vector<std::string> dropped;

 private:
  net::SocketAddress hub_;
  net::SocketAddress client_;
  Socket front_;
  Socket back_;
};

// Every message frame in a datagram, whether it came alone or bundled.
std::vector<wire::Frame> frames_in(const std::string& d) {
  std::vector<wire::Frame> out;
  std::vector<std::span<const uint8_t>> inner;
  if (wire::looks_like_bundle(wire::as_bytes(d))) {
    if (wire::decode_bundle(wire::as_bytes(d), wire::kMaxUdpFramePayload, inner).status !=
        wire::DecodeStatus::kOk)
      return out;
  } else {
    inner.push_back(wire::as_bytes(d));
  }
  for (auto bytes : inner) {
    wire::Frame f;
    if (wire::decode_datagram(bytes, wire::kMaxUdpFramePayload, f).status ==
        wire::DecodeStatus::kOk)
      out.push_back(std::move(f));
  }
  return out;
}

std::string data_frame(uint32_t seq, std::string text, uint64_t token = 0) {
  std::string out;
  wire::encode_message_frame(Message::chat(std::move(text)), 0, seq, 1000 + seq, out);
  wire::stamp_token(reinterpret_cast<uint8_t*>(out.data()), token);
  return out;
}

std::string frame(FrameType type, uint32_t seq, std::string payload = {}, uint64_t token = 0) {
  wire::Frame f;
  f.type = type;
  f.seq = seq;
  f.token = token;
  f.payload = std::move(payload);
  return wire::encode_frame(f);
}

// The token of the first frame of `type` among `datagrams` (0 if none came yet).
uint64_t token_of(const std::vector<std::string>& datagrams, FrameType type) {
  for (const auto& d : datagrams)
    for (const auto& f : frames_in(d))
      if (f.type == type) return f.token;
  return 0;
}

class UdpBundleTest : public ::testing::Test {
 protected:
  struct Peer {
    std::unique_ptr<UdpTransport> transport;
    std::vector<Message> messages;
    bool up = false;
    std::vector<std::string> texts() const {
      std::vector<std::string> out;
      for (const auto& m : messages) out.push_back(m.text);
      return out;
    }
  };

  void start_server(size_t bundle_bytes = TransportConfig{}.udp_bundle_bytes) {
    TransportConfig c = testing::loopback_server_config();
    c.udp_bundle_bytes = bundle_bytes;
    server_ = std::make_unique<UdpTransport>(loop_, std::move(c));
    TransportCallbacks cb;
    cb.on_peer_up = [this](const PeerInfo& p) { ids_.push_back(p.id); };
    cb.on_message = [this](PeerId, Message&& m) { hub_got_.push_back(std::move(m)); };
    ASSERT_TRUE(server_->start(std::move(cb)).ok());
  }
  net::SocketAddress hub() const { return server_->local_address(); }

  Peer& join(uint16_t port) {
    peers_.push_back(std::make_unique<Peer>());
    Peer& p = *peers_.back();
    p.transport = std::make_unique<UdpTransport>(loop_, testing::loopback_client_config("c", port));
    TransportCallbacks cb;
    cb.on_peer_up = [&p](const PeerInfo&) { p.up = true; };
    cb.on_message = [&p](PeerId, Message&& m) { p.messages.push_back(std::move(m)); };
    EXPECT_TRUE(p.transport->start(std::move(cb)).ok());
    EXPECT_TRUE(run_until(loop_, [&] { return p.up; }));
    return p;
  }
  PeerStats client_stats(Peer& p) { return p.transport->stats(UdpTransport::kServerPeer); }

  net::EventLoop loop_;
  std::unique_ptr<UdpTransport> server_;
  std::vector<PeerId> ids_;
  std::vector<Message> hub_got_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

TEST_F(UdpBundleTest, ABurstToOneMemberTravelsInFewerDatagramsInOrder) {
  start_server();
  Relay relay(loop_, hub());
  Peer& alice = join(relay.port());
  const size_t before = relay.to_client.size();  // the WELCOME
  std::vector<std::string> sent;
  for (int i = 0; i < 40; ++i) {
    sent.push_back("message " + std::to_string(i) + std::string(40, '.'));
    ASSERT_TRUE(server_->send(ids_.at(0), Message::chat(sent.back(), "hub")).ok());
  }
  ASSERT_TRUE(run_until(loop_, [&] { return alice.messages.size() == sent.size(); }));
  EXPECT_EQ(alice.texts(), sent);
  for (size_t i = 1; i < alice.messages.size(); ++i)
    EXPECT_EQ(alice.messages[i].seq, alice.messages[i - 1].seq + 1);

  const size_t datagrams = relay.to_client.size() - before;
  EXPECT_LT(datagrams, sent.size() / 4);  // 40 frames of ~75 bytes: about 19 fit 1,472 bytes
  size_t bundles = 0;
  for (size_t i = before; i < relay.to_client.size(); ++i) {
    EXPECT_LE(relay.to_client[i].size(), 1472u);
    bundles += wire::looks_like_bundle(wire::as_bytes(relay.to_client[i]));
    // All but the last are padded to one size, so the kernel could send them as one.
    if (i > before && i + 1 < relay.to_client.size()) {
      EXPECT_EQ(relay.to_client[i].size(), relay.to_client[before].size());
    }
  }
  EXPECT_GE(bundles, 2u);

  const PeerStats s = client_stats(alice);
  EXPECT_EQ(s.messages_received, sent.size());
  EXPECT_EQ(s.lost, 0u);
  EXPECT_EQ(s.reordered, 0u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(s.datagrams_received, datagrams);
  EXPECT_EQ(server_->stats(ids_.at(0)).messages_sent, sent.size());
}

TEST_F(UdpBundleTest, ALoneMessageLeavesAsAPlainFrame) {
  start_server();
  Relay relay(loop_, hub());
  Peer& bob = join(relay.port());
  const size_t before = relay.to_client.size();
  ASSERT_TRUE(server_->send(ids_.at(0), Message::chat("just one", "hub")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return bob.messages.size() == 1; }));
  ASSERT_EQ(relay.to_client.size(), before + 1);
  wire::Frame f;
  EXPECT_EQ(
      wire::decode_datagram(wire::as_bytes(relay.to_client.back()), wire::kMaxUdpFramePayload, f)
          .status,
      wire::DecodeStatus::kOk);
  EXPECT_EQ(f.type, FrameType::kData);
  // The hub's own pings and their answers stay single frames as well, so RTT pays nothing.
  server_->ping(ids_.at(0));
  ASSERT_TRUE(run_until(loop_, [&] { return server_->stats(ids_.at(0)).rtt_samples == 1; }));
  EXPECT_FALSE(wire::looks_like_bundle(wire::as_bytes(relay.to_client.back())));
}

TEST_F(UdpBundleTest, BundlesNeverPassTheConfiguredSize) {
  start_server(600);
  Relay relay(loop_, hub());
  Peer& carol = join(relay.port());
  Peer& dave = join(hub().port());
  const size_t before = relay.to_client.size();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(server_->send(ids_.at(0), Message::chat(std::string(100, 'a' + i % 26))).ok());
    server_->broadcast(Message::notice("notice " + std::to_string(i)));
  }
  ASSERT_TRUE(
      run_until(loop_, [&] { return carol.messages.size() == 60 && dave.messages.size() == 30; }));
  size_t frames = 0;
  for (size_t i = before; i < relay.to_client.size(); ++i) {
    EXPECT_LE(relay.to_client[i].size(), 600u);
    frames += frames_in(relay.to_client[i]).size();
  }
  EXPECT_EQ(frames, 60u);
  EXPECT_LT(relay.to_client.size() - before, 60u);
  // Per-link order holds across send and broadcast interleaved.
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(carol.messages[2 * i].text, std::string(100, 'a' + i % 26));
    EXPECT_EQ(carol.messages[2 * i + 1].text, "notice " + std::to_string(i));
  }
  EXPECT_EQ(client_stats(carol).lost, 0u);
  EXPECT_EQ(client_stats(dave).lost, 0u);
}

TEST_F(UdpBundleTest, AnIpv6MemberGetsTwentyBytesLess) {
  // The same link carries 20 fewer bytes of UDP payload under an IPv6 header.
  TransportConfig c = testing::loopback_server_config();
  c.bind = "::1";
  c.udp_bundle_bytes = 600;
  server_ = std::make_unique<UdpTransport>(loop_, std::move(c));
  TransportCallbacks cb;
  cb.on_peer_up = [this](const PeerInfo& p) { ids_.push_back(p.id); };
  if (!server_->start(std::move(cb)).ok()) GTEST_SKIP() << "no IPv6 loopback here";
  auto fd = net::bind_udp("::1", 0);
  ASSERT_TRUE(fd.ok());
  const net::Fd six = std::move(*fd);
  const net::SocketAddress to = hub();
  std::vector<std::string> datagrams;
  size_t frames = 0;
  auto take = [&] {
    char buf[2048];
    for (ssize_t n; (n = ::recv(six.get(), buf, sizeof buf, MSG_DONTWAIT)) >= 0;) {
      datagrams.emplace_back(buf, static_cast<size_t>(n));
      frames += frames_in(datagrams.back()).size();
    }
  };
  // The hub admits an address only once it has echoed the cookie of the hub's CHALLENGE.
  const std::string join = frame(FrameType::kJoin, 0, "six");
  ASSERT_EQ(::sendto(six.get(), join.data(), join.size(), 0, to.get(), to.length),
            static_cast<ssize_t>(join.size()));
  ASSERT_TRUE(run_until(loop_, [&] {
    take();
    return token_of(datagrams, FrameType::kChallenge) != 0;
  }));
  const std::string echo =
      frame(FrameType::kJoin, 0, "six", token_of(datagrams, FrameType::kChallenge));
  ASSERT_EQ(::sendto(six.get(), echo.data(), echo.size(), 0, to.get(), to.length),
            static_cast<ssize_t>(echo.size()));
  ASSERT_TRUE(run_until(loop_, [&] { return !ids_.empty(); }));
  datagrams.clear();
  frames = 0;
  // Frames of a size of which five fit 600 bytes with the bundle header, but only four fit 580.
  const size_t frame_bytes = (600 - wire::kBundleOverhead) / 5;
  const size_t text = frame_bytes - wire::kHeaderSize - 1;  // 1: the empty name's length byte
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(server_->send(ids_[0], Message::chat(std::string(text, 'x'))).ok());
  ASSERT_TRUE(run_until(loop_, [&] {
    take();
    return frames == 21;  // the WELCOME and 20 messages
  }));
  for (const auto& d : datagrams) EXPECT_LE(d.size(), 580u);
  EXPECT_LT(datagrams.size(), 21u);
}

TEST_F(UdpBundleTest, SizeZeroSendsOneDatagramPerMessage) {
  start_server(0);
  Relay relay(loop_, hub());
  Peer& erin = join(relay.port());
  const size_t before = relay.to_client.size();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(server_->send(ids_.at(0), Message::chat("m" + std::to_string(i))).ok());
  server_->broadcast(Message::notice("everyone"));
  ASSERT_TRUE(run_until(loop_, [&] { return erin.messages.size() == 11; }));
  EXPECT_EQ(relay.to_client.size() - before, 11u);
  for (size_t i = before; i < relay.to_client.size(); ++i)
    EXPECT_FALSE(wire::looks_like_bundle(wire::as_bytes(relay.to_client[i])));
}

TEST_F(UdpBundleTest, ALostBundleCountsEveryMessageItCarriedAsLost) {
  start_server();
  Relay relay(loop_, hub());
  Peer& fay = join(relay.port());
  relay.drop = [](const std::string& d) { return wire::looks_like_bundle(wire::as_bytes(d)); };
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(server_->send(ids_.at(0), Message::chat("lost " + std::to_string(i))).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return !relay.dropped.empty(); }));
  relay.drop = nullptr;
  ASSERT_EQ(relay.dropped.size(), 1u);
  const size_t carried = frames_in(relay.dropped[0]).size();
  EXPECT_EQ(carried, 12u);
  // The gap shows once something after it arrives.
  ASSERT_TRUE(server_->send(ids_.at(0), Message::chat("after")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return fay.messages.size() == 1; }));
  EXPECT_EQ(fay.messages[0].text, "after");
  const PeerStats s = client_stats(fay);
  EXPECT_EQ(s.lost, carried);
  EXPECT_EQ(s.messages_received, 1u);
}

TEST_F(UdpBundleTest, TheHubTakesBundlesApartAndDropsABadOneWhole) {
  start_server();
  std::vector<std::string> got;
  Socket raw(loop_, [&](std::string d, const net::SocketAddress&) { got.push_back(d); });
  raw.send_to(hub(), frame(FrameType::kJoin, 0, "raw"));
  ASSERT_TRUE(run_until(loop_, [&] { return token_of(got, FrameType::kChallenge) != 0; }));
  raw.send_to(hub(), frame(FrameType::kJoin, 0, "raw", token_of(got, FrameType::kChallenge)));
  ASSERT_TRUE(run_until(loop_, [&] { return !ids_.empty(); }));
  const PeerId id = ids_[0];
  ASSERT_TRUE(run_until(loop_, [&] { return token_of(got, FrameType::kWelcome) != 0; }));
  const uint64_t token = token_of(got, FrameType::kWelcome);  // every frame must carry it

  auto bundle = [token](uint32_t first, size_t count, bool spoil) {
    std::string out;
    const size_t start = wire::begin_bundle(out);
    for (size_t i = 0; i < count; ++i) {
      std::string f =
          data_frame(first + static_cast<uint32_t>(i), "b" + std::to_string(first + i), token);
      if (spoil && i == count - 1) f[0] = 'X';
      out += f;
    }
    wire::finish_bundle(out, start, 0, 5, static_cast<uint32_t>(count));
    return out;
  };
  raw.send_to(hub(), bundle(1, 3, false));
  raw.send_to(hub(), bundle(4, 3, true));  // its last frame is garbage: none of it counts
  raw.send_to(hub(), data_frame(7, "b7", token));
  ASSERT_TRUE(run_until(loop_, [&] { return hub_got_.size() == 4; }));
  std::vector<std::string> texts;
  for (const auto& m : hub_got_) texts.push_back(m.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"b1", "b2", "b3", "b7"}));
  const PeerStats s = server_->stats(id);
  EXPECT_EQ(s.messages_received, 4u);
  EXPECT_EQ(s.lost, 3u);                // 4, 5 and 6 went down with their bundle
  EXPECT_EQ(s.datagrams_received, 3u);  // the JOINs came before the member existed
  EXPECT_EQ(server_->peers().size(), 1u);
}

TEST_F(UdpBundleTest, ABroadcastBurstReachesEveryMemberInOrder) {
  start_server();
  std::vector<Peer*> room;
  for (int i = 0; i < 3; ++i) room.push_back(&join(hub().port()));
  std::vector<std::string> sent;
  for (int i = 0; i < 30; ++i) {
    sent.push_back("all " + std::to_string(i));
    EXPECT_EQ(server_->broadcast(Message::chat(sent.back(), "hub")), 3u);
  }
  ASSERT_TRUE(run_until(loop_, [&] {
    for (Peer* p : room)
      if (p->messages.size() < sent.size()) return false;
    return true;
  }));
  for (Peer* p : room) {
    EXPECT_EQ(p->texts(), sent);
    const PeerStats s = client_stats(*p);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_LT(s.datagrams_received, s.messages_received);
  }
}

}  // namespace
}  // namespace chat
