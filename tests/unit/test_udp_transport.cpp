// UdpTransport in-process: a server and clients (and raw UDP sockets playing nc -u or a
// misbehaving peer) on one EventLoop over 127.0.0.1 with ephemeral ports. Every wait is bounded.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
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

using namespace std::chrono_literals;
using wire::FrameType;

using testing::run_until;

struct Recorder {
  std::vector<PeerInfo> up;
  std::vector<std::pair<PeerId, Message>> messages;
  std::vector<std::tuple<PeerId, DownReason, std::string>> down;
  std::function<void(PeerId, const Message&)> on_message;

  TransportCallbacks callbacks() {
    TransportCallbacks c;
    c.on_peer_up = [this](const PeerInfo& p) { up.push_back(p); };
    c.on_message = [this](PeerId id, Message&& m) {
      messages.emplace_back(id, m);
      if (on_message) on_message(id, m);
    };
    c.on_peer_down = [this](PeerId id, DownReason r, const std::string& why) {
      down.emplace_back(id, r, why);
    };
    return c;
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& [id, m] : messages) out.push_back(m.text);
    return out;
  }
};

// A plain UDP socket: nc -u, or a peer that speaks frames by hand.
class RawUdp {
 public:
  explicit RawUdp(net::EventLoop& loop) : loop_(loop) {
    auto fd = net::bind_udp("127.0.0.1", 0);
    EXPECT_TRUE(fd.ok());
    fd_ = std::move(*fd);
    loop_.add(fd_.get(), EPOLLIN, [this](uint32_t) {
      char buf[70000];
      for (;;) {
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const ssize_t n =
            ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) break;
        received.emplace_back(buf, static_cast<size_t>(n));
        last_from.length = len;
        std::memcpy(&last_from.storage, &from, len);
      }
    });
  }
  ~RawUdp() { loop_.remove(fd_.get()); }

  void send_to(const net::SocketAddress& to, std::string_view bytes) {
    ASSERT_EQ(::sendto(fd_.get(), bytes.data(), bytes.size(), 0, to.get(), to.length),
              static_cast<ssize_t>(bytes.size()));
  }
  net::SocketAddress address() const { return net::local_address(fd_.get()); }
  uint16_t port() const { return address().port(); }

  // Decoded frames among what arrived, bundles taken apart as the transport does.
  std::vector<wire::Frame> frames() const {
    std::vector<wire::Frame> out;
    std::vector<std::span<const uint8_t>> inner;
    for (const auto& d : received) {
      inner.assign(1, wire::as_bytes(d));
      if (wire::looks_like_bundle(inner[0]))
        (void)wire::decode_bundle(wire::as_bytes(d), wire::kMaxUdpFramePayload, inner);
      for (const auto bytes : inner) {
        wire::Frame f;
        if (wire::decode_datagram(bytes, wire::kMaxUdpFramePayload, f).status ==
            wire::DecodeStatus::kOk)
          out.push_back(f);
      }
    }
    return out;
  }
  size_t count(FrameType type) const {
    size_t n = 0;
    for (const auto& f : frames()) n += f.type == type;
    return n;
  }

  std::vector<std::string> received;
  net::SocketAddress last_from;

 private:
  net::EventLoop& loop_;
  net::Fd fd_;
};

std::string frame(FrameType type, uint32_t seq, std::string payload = {}, uint32_t sender = 0,
                  uint64_t token = 0) {
  wire::Frame f;
  f.type = type;
  f.seq = seq;
  f.sender = sender;
  f.timestamp_ns = 1000 + seq;
  f.token = token;
  f.payload = std::move(payload);
  return wire::encode_frame(f);
}

std::string data_frame(uint32_t seq, std::string text, uint64_t token = 0) {
  wire::Frame f = wire::message_to_frame(Message::chat(std::move(text)));
  f.seq = seq;
  f.token = token;
  return wire::encode_frame(f);
}

// The hub's admission by hand: a JOIN is answered with a CHALLENGE; returns its cookie.
uint64_t cookie_for(net::EventLoop& loop, RawUdp& raw, const net::SocketAddress& hub,
                    const std::string& name) {
  const size_t before = raw.count(FrameType::kChallenge);
  raw.send_to(hub, frame(FrameType::kJoin, 0, name));
  EXPECT_TRUE(run_until(loop, [&] { return raw.count(FrameType::kChallenge) > before; }));
  uint64_t cookie = 0;
  for (const auto& f : raw.frames())
    if (f.type == FrameType::kChallenge) cookie = f.token;
  return cookie;
}

// JOIN, CHALLENGE, JOIN echoing the cookie, WELCOME: returns the member's secret token.
uint64_t join_by_hand(net::EventLoop& loop, RawUdp& raw, const net::SocketAddress& hub,
                      const std::string& name) {
  const uint64_t cookie = cookie_for(loop, raw, hub, name);
  const size_t before = raw.count(FrameType::kWelcome);
  raw.send_to(hub, frame(FrameType::kJoin, 0, name, 0, cookie));
  EXPECT_TRUE(run_until(loop, [&] { return raw.count(FrameType::kWelcome) > before; }));
  uint64_t token = 0;
  for (const auto& f : raw.frames())
    if (f.type == FrameType::kWelcome) token = f.token;
  return token;
}

// nc -u joining: a first line is answered with "type NNNN to join"; typing NNNN admits it.
void type_the_code(net::EventLoop& loop, RawUdp& nc, const net::SocketAddress& hub) {
  nc.send_to(hub, "hello\n");
  ASSERT_TRUE(run_until(loop, [&] { return !nc.received.empty(); }));
  const std::string line = nc.received.back();
  ASSERT_EQ(line.rfind("type ", 0), 0u) << line;
  nc.send_to(hub, line.substr(5, 4) + "\n");
  nc.received.clear();
}

class UdpTransportTest : public ::testing::Test {
 protected:
  TransportConfig server_config() { return testing::loopback_server_config(); }
  TransportConfig client_config(std::string name, uint16_t port) {
    return testing::loopback_client_config(std::move(name), port);
  }

  UdpTransport& start_server(TransportConfig config) {
    server_ = std::make_unique<UdpTransport>(loop_, std::move(config));
    auto r = server_->start(server_rec_.callbacks());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return *server_;
  }
  uint16_t server_port() const { return server_->local_address().port(); }
  net::SocketAddress server_address() const { return server_->local_address(); }

  struct Client {
    std::unique_ptr<UdpTransport> transport;
    Recorder rec;
  };
  Client& add_client(TransportConfig config) {
    clients_.push_back(std::make_unique<Client>());
    Client& c = *clients_.back();
    c.transport = std::make_unique<UdpTransport>(loop_, std::move(config));
    auto r = c.transport->start(c.rec.callbacks());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return c;
  }
  Client& join_client(std::string name) {
    Client& c = add_client(client_config(std::move(name), server_port()));
    EXPECT_TRUE(run_until(loop_, [&] { return !c.rec.up.empty() || !c.rec.down.empty(); }));
    EXPECT_EQ(c.rec.up.size(), 1u);
    return c;
  }
  // A client with a 0.2 s expiry, joined by hand to `hub`, which welcomes it as member 7.
  Client& join_raw_hub(RawUdp& hub) {
    TransportConfig config = client_config("x", hub.port());
    config.expiry = 200ms;
    config.heartbeat = 50ms;
    Client& c = add_client(std::move(config));
    EXPECT_TRUE(run_until(loop_, [&] { return !hub.received.empty(); }));
    hub.send_to(hub.last_from, frame(FrameType::kWelcome, 0, {}, 7));
    EXPECT_TRUE(run_until(loop_, [&] { return !c.rec.up.empty(); }));
    return c;
  }
  PeerId server_id_of(const std::string& name) {
    for (const auto& p : server_rec_.up)
      if (p.name == name) return p.id;
    return kNoPeer;
  }

  net::EventLoop loop_;
  std::unique_ptr<UdpTransport> server_;
  Recorder server_rec_;
  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(UdpTransportTest, JoinWelcomeAndMessagesBothWays) {
  start_server(server_config());
  ASSERT_NE(server_port(), 0);
  Client& alice = join_client("alice");
  ASSERT_EQ(server_rec_.up.size(), 1u);
  const PeerInfo& info = server_rec_.up[0];
  EXPECT_EQ(info.id, 1u);
  EXPECT_EQ(info.name, "alice");
  EXPECT_FALSE(info.text);
  EXPECT_EQ(info.address.rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(alice.rec.up[0].id, UdpTransport::kServerPeer);
  EXPECT_EQ(alice.rec.up[0].name, "server");

  ASSERT_TRUE(alice.transport->send(UdpTransport::kServerPeer, Message::chat("hi there")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == 1; }));
  EXPECT_EQ(server_rec_.messages[0].first, info.id);
  EXPECT_EQ(server_rec_.messages[0].second.text, "hi there");
  EXPECT_NE(server_rec_.messages[0].second.sent_ns, 0u);
  EXPECT_NE(server_rec_.messages[0].second.received_ns, 0u);

  ASSERT_TRUE(server_->send(info.id, Message::chat("hello alice", "hub")).ok());
  ASSERT_TRUE(server_->send(info.id, Message::notice("bob joined")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return alice.rec.messages.size() == 2; }));
  EXPECT_EQ(alice.rec.messages[0].second.from, "hub");
  EXPECT_EQ(alice.rec.messages[0].second.text, "hello alice");
  EXPECT_EQ(alice.rec.messages[1].second.kind, MessageKind::kNotice);

  const PeerStats s = server_->stats(info.id);
  EXPECT_EQ(s.messages_received, 1u);
  EXPECT_EQ(s.messages_sent, 2u);
  EXPECT_GT(s.bytes_sent, 0u);
  EXPECT_EQ(s.lost, 0u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(alice.transport->stats(UdpTransport::kServerPeer).messages_received, 2u);
  EXPECT_EQ(server_->peers().size(), 1u);
  EXPECT_FALSE(server_->send(99, Message::chat("x")).ok());
}

// Equal messages in one loop turn leave as segmentation-offload runs and come back as coalesced
// buffers: above the socket it must still be one message per datagram, in order, counted singly.
TEST_F(UdpTransportTest, BurstOfEqualMessagesArrivesInOrderAndCountsPerDatagram) {
  start_server(server_config());
  Client& alice = join_client("alice");
  const PeerId id = server_rec_.up.at(0).id;
  std::vector<std::string> sent;
  for (size_t i = 0; i < 200; ++i) {
    std::string text = fmt::format("m{:03}", i) + std::string(i == 199 ? 10 : 1200, '.');
    ASSERT_TRUE(alice.transport->send(UdpTransport::kServerPeer, Message::chat(text)).ok());
    sent.push_back(std::move(text));
  }
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == sent.size(); }));
  EXPECT_EQ(server_rec_.texts(), sent);
  EXPECT_EQ(alice.transport->stats(UdpTransport::kServerPeer).messages_sent, sent.size());
  EXPECT_EQ(server_->stats(id).messages_received, sent.size());
  EXPECT_EQ(server_->stats(id).lost, 0u);

  // A name longer than the frame allows is clipped the way message_to_frame clips it.
  const std::string long_name(40, 'n');
  ASSERT_TRUE(server_->send(id, Message::chat("named", long_name)).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return alice.rec.messages.size() == 1; }));
  EXPECT_EQ(alice.rec.messages[0].second.from, long_name.substr(0, wire::kMaxNameLength));
  EXPECT_EQ(alice.rec.messages[0].second.text, "named");
}

TEST_F(UdpTransportTest, BroadcastSkipsTheSender) {
  start_server(server_config());
  Client& a = join_client("a");
  Client& b = join_client("b");
  Client& c = join_client("c");
  EXPECT_EQ(server_->broadcast(Message::chat("from a", "a"), server_id_of("a")), 2u);
  EXPECT_EQ(server_->broadcast(Message::notice("to all")), 3u);
  ASSERT_TRUE(run_until(loop_, [&] {
    return a.rec.messages.size() == 1 && b.rec.messages.size() == 2 && c.rec.messages.size() == 2;
  }));
  // Per-link order holds on loopback: a's only message is the second broadcast.
  EXPECT_EQ(a.rec.texts(), std::vector<std::string>({"to all"}));
  EXPECT_EQ(b.rec.texts(), std::vector<std::string>({"from a", "to all"}));
  EXPECT_EQ(b.rec.messages[0].second.from, "a");
  EXPECT_EQ(c.transport->stats(UdpTransport::kServerPeer).lost, 0u);
}

TEST_F(UdpTransportTest, MaxPeersRefusesWithTheRoleReason) {
  TransportConfig config = server_config();
  config.max_peers = 1;
  config.full_reason = "the room is full (1 max)";
  start_server(std::move(config));
  join_client("first");
  Client& second = add_client(client_config("second", server_port()));
  ASSERT_TRUE(run_until(loop_, [&] { return !second.rec.down.empty(); }));
  EXPECT_TRUE(second.rec.up.empty());
  EXPECT_EQ(std::get<1>(second.rec.down[0]), DownReason::kRefused);
  EXPECT_EQ(std::get<2>(second.rec.down[0]), "the room is full (1 max)");
  EXPECT_EQ(server_rec_.up.size(), 1u);
  EXPECT_FALSE(second.transport->send(UdpTransport::kServerPeer, Message::chat("x")).ok());
}

TEST_F(UdpTransportTest, DefaultRefusalNamesTheLimit) {
  TransportConfig config = server_config();
  config.max_peers = 1;
  start_server(std::move(config));
  join_client("first");
  RawUdp raw(loop_);
  const uint64_t cookie = cookie_for(loop_, raw, server_address(), "late");
  raw.send_to(server_address(), frame(FrameType::kJoin, 0, "late", 0, cookie));
  ASSERT_TRUE(run_until(loop_, [&] { return raw.count(FrameType::kRefuse) == 1; }));
  EXPECT_EQ(raw.frames().back().payload, "server full: 1 members max");
}

TEST_F(UdpTransportTest, RepeatedJoinGetsWelcomeAgainButNoSecondPeerUp) {
  start_server(server_config());
  RawUdp raw(loop_);
  const uint64_t token = join_by_hand(loop_, raw, server_address(), "raw");
  EXPECT_NE(token, 0u);
  // Our WELCOME was lost, say: the JOIN comes again, with the cookie or with the token.
  raw.send_to(server_address(), frame(FrameType::kJoin, 1, "raw", 0, token));
  ASSERT_TRUE(run_until(loop_, [&] { return raw.count(FrameType::kWelcome) == 2; }));
  EXPECT_EQ(server_rec_.up.size(), 1u);
  std::vector<wire::Frame> frames;
  for (const auto& f : raw.frames())
    if (f.type == FrameType::kWelcome) frames.push_back(f);
  EXPECT_EQ(frames[1].token, token);                  // the same secret: the same member
  EXPECT_EQ(frames[0].sender, server_rec_.up[0].id);  // the member id rides in the sender field
  EXPECT_EQ(frames[1].sender, server_rec_.up[0].id);
  EXPECT_EQ(frames[1].seq, frames[0].seq + 1);  // per-link sequence numbers
}

TEST_F(UdpTransportTest, PlainTextDatagramsMakeATextMember) {
  start_server(server_config());
  Client& framed = join_client("framed");
  RawUdp nc(loop_);
  type_the_code(loop_, nc, server_address());
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.up.size() == 2; }));
  EXPECT_TRUE(server_rec_.messages.empty());  // the code is not a message
  nc.send_to(server_address(), "hello from nc\n");
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == 1; }));
  ASSERT_EQ(server_rec_.up.size(), 2u);
  const PeerInfo& text_peer = server_rec_.up[1];
  EXPECT_TRUE(text_peer.text);
  EXPECT_EQ(text_peer.name, nc.address().to_string());
  EXPECT_EQ(server_rec_.messages[0].second.text, "hello from nc");

  // Several lines in one datagram are several messages; \r\n and a missing final newline too.
  nc.send_to(server_address(), "one\r\ntwo\nthree");
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == 4; }));
  EXPECT_EQ(server_rec_.texts(),
            std::vector<std::string>({"hello from nc", "one", "two", "three"}));

  // A text member is sent lines, never frames: not even heartbeats.
  ASSERT_TRUE(server_->send(text_peer.id, Message::chat("hi nc", "bob")).ok());
  EXPECT_EQ(server_->broadcast(Message::notice("hello all")), 2u);
  ASSERT_TRUE(run_until(loop_, [&] { return nc.received.size() == 2; }));
  EXPECT_EQ(nc.received[0], "bob: hi nc\n");
  EXPECT_EQ(nc.received[1], "*** hello all\n");
  ASSERT_TRUE(run_until(loop_, [&] { return framed.rec.messages.size() == 1; }));

  server_->close(text_peer.id, "bye");
  ASSERT_TRUE(run_until(loop_, [&] { return nc.received.size() == 3; }));
  EXPECT_EQ(nc.received[2], "bye\n");
  ASSERT_EQ(server_rec_.down.size(), 1u);
  EXPECT_EQ(std::get<1>(server_rec_.down[0]), DownReason::kClosed);
}

TEST_F(UdpTransportTest, GarbageAndTruncatedDatagramsAreDroppedAlone) {
  start_server(server_config());
  Client& good = join_client("good");
  RawUdp raw(loop_);
  const uint64_t token = join_by_hand(loop_, raw, server_address(), "raw");
  const PeerId raw_id = server_id_of("raw");

  const std::string valid = data_frame(1, "after the garbage", token);
  raw.send_to(server_address(), valid.substr(0, 10));                // truncated header
  raw.send_to(server_address(), valid.substr(0, valid.size() - 3));  // truncated payload
  raw.send_to(server_address(), valid + "xx");                       // trailing bytes
  std::string bad_version = valid;
  bad_version[2] = 99;
  raw.send_to(server_address(), bad_version);
  raw.send_to(server_address(), "not a frame at all");  // from a framed member: not text
  std::string bad_name = frame(FrameType::kData, 2, std::string(1, '\x7f') + "x", 0, token);
  raw.send_to(server_address(), bad_name);  // decodes as a frame, fails as a message
  raw.send_to(server_address(), valid);
  RawUdp stranger(loop_);
  stranger.send_to(server_address(), std::string("\xF7\x43garbage", 9));  // magic, not a frame
  stranger.send_to(server_address(), frame(FrameType::kData, 5, "x"));    // not joined

  ASSERT_TRUE(good.transport->send(UdpTransport::kServerPeer, Message::chat("still here")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == 2; }));
  // Let the stranger's datagrams be processed too: a ping round trip comes after them.
  server_->ping(server_id_of("good"));
  ASSERT_TRUE(run_until(loop_, [&] { return server_->stats(server_id_of("good")).rtt_samples; }));
  std::vector<std::string> texts = server_rec_.texts();
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(texts, std::vector<std::string>({"after the garbage", "still here"}));
  EXPECT_EQ(server_rec_.up.size(), 2u);  // the stranger never became a member
  EXPECT_TRUE(server_rec_.down.empty());
  EXPECT_EQ(server_->peers().size(), 2u);
  EXPECT_EQ(server_->stats(raw_id).messages_received, 1u);
}

TEST_F(UdpTransportTest, SequenceStatsCountLossDuplicatesAndReordering) {
  start_server(server_config());
  RawUdp raw(loop_);
  const uint64_t token = join_by_hand(loop_, raw, server_address(), "seq");
  const PeerId id = server_id_of("seq");
  for (uint32_t seq : {1u, 3u, 3u, 2u, 6u})
    raw.send_to(server_address(), data_frame(seq, "m", token));
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == 4; }));
  // A heartbeat after the data: once it is counted, every datagram before it was processed.
  raw.send_to(server_address(), frame(FrameType::kHeartbeat, 7, {}, 0, token));
  ASSERT_TRUE(run_until(loop_, [&] {
    return server_->stats(id).bytes_received > 0 && server_->stats(id).lost == 2;
  }));
  const PeerStats s = server_->stats(id);
  EXPECT_EQ(s.lost, 2u);  // 4 and 5
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.reordered, 1u);
  EXPECT_EQ(s.messages_received, 4u);  // the duplicate is counted, not delivered
  std::vector<uint32_t> seqs;
  for (const auto& [peer, m] : server_rec_.messages) seqs.push_back(m.seq);
  EXPECT_EQ(seqs, std::vector<uint32_t>({1, 3, 2, 6}));
}

TEST_F(UdpTransportTest, OversizedSendNamesTheDatagramLimit) {
  start_server(server_config());
  Client& c = join_client("big");
  auto r = c.transport->send(UdpTransport::kServerPeer, Message::chat(std::string(70000, 'x')));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("70000 bytes"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("65,507"), std::string::npos) << r.error().message;
  auto s = server_->send(server_id_of("big"), Message::chat(std::string(65500, 'x')));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("65,507"), std::string::npos);
  EXPECT_EQ(server_->broadcast(Message::chat(std::string(70000, 'x'))), 0u);
  // The largest message that fits goes through whole.
  const size_t largest = wire::kMaxUdpFramePayload - 1;
  ASSERT_TRUE(
      c.transport->send(UdpTransport::kServerPeer, Message::chat(std::string(largest, 'y'))).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == 1; }));
  EXPECT_EQ(server_rec_.messages[0].second.text.size(), largest);
}

TEST_F(UdpTransportTest, SilentMemberExpires) {
  TransportConfig config = server_config();
  config.expiry = 200ms;
  config.heartbeat = 50ms;
  start_server(std::move(config));
  TransportConfig live = client_config("live", server_port());
  live.heartbeat = 50ms;
  live.expiry = 1000ms;
  Client& alive = add_client(std::move(live));
  ASSERT_TRUE(run_until(loop_, [&] { return !alive.rec.up.empty(); }));
  RawUdp raw(loop_);
  join_by_hand(loop_, raw, server_address(), "quiet");
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.down.size() == 1; }));
  EXPECT_EQ(std::get<0>(server_rec_.down[0]), server_id_of("quiet"));
  EXPECT_EQ(std::get<1>(server_rec_.down[0]), DownReason::kTimedOut);
  EXPECT_EQ(std::get<2>(server_rec_.down[0]), "silent for 0.2 s");
  // The server heartbeats a silent member too, until it gives up.
  EXPECT_GE(raw.count(FrameType::kHeartbeat), 1u);
  // The heartbeating client outlives several expiry periods.
  bool waited = false;
  loop_.run_after(600ms, [&] { waited = true; });
  ASSERT_TRUE(run_until(loop_, [&] { return waited; }));
  EXPECT_EQ(server_rec_.down.size(), 1u);
  EXPECT_TRUE(alive.rec.down.empty());
  EXPECT_EQ(server_->peers().size(), 1u);
}

TEST_F(UdpTransportTest, OnlyFramesWithTheMembersTokenKeepItAlive) {
  TransportConfig config = server_config();
  config.expiry = 300ms;
  config.heartbeat = 50ms;
  start_server(std::move(config));
  RawUdp raw(loop_);
  const uint64_t token = join_by_hand(loop_, raw, server_address(), "m");
  const PeerId id = server_id_of("m");
  // Heartbeats and data from its address, but without its secret: anyone could send these.
  bool forged_enough = false;
  const net::TimerId forge = loop_.run_every(20ms, [&] {
    raw.send_to(server_address(), frame(FrameType::kHeartbeat, 9, {}, 0, token + 1));
    raw.send_to(server_address(), data_frame(10, "forged", 0));
  });
  loop_.run_after(100ms, [&] { forged_enough = true; });
  ASSERT_TRUE(run_until(loop_, [&] { return forged_enough; }));
  EXPECT_TRUE(server_rec_.messages.empty());
  EXPECT_TRUE(server_rec_.down.empty());
  ASSERT_TRUE(run_until(loop_, [&] { return !server_rec_.down.empty(); }));
  loop_.cancel(forge);
  EXPECT_EQ(std::get<0>(server_rec_.down[0]), id);
  EXPECT_EQ(std::get<1>(server_rec_.down[0]), DownReason::kTimedOut);
  EXPECT_TRUE(server_rec_.messages.empty());
  // With it, one frame is enough to be heard.
  RawUdp real(loop_);
  const uint64_t real_token = join_by_hand(loop_, real, server_address(), "real");
  real.send_to(server_address(), data_frame(1, "mine", real_token));
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.messages.size() == 1; }));
  EXPECT_EQ(server_rec_.messages[0].second.text, "mine");
}

TEST_F(UdpTransportTest, ClientTimesOutAgainstASilentSocket) {
  RawUdp silent(loop_);
  TransportConfig config = client_config("x", silent.port());
  config.connect_timeout = 600ms;
  Client& c = add_client(std::move(config));
  ASSERT_TRUE(run_until(loop_, [&] { return !c.rec.down.empty(); }));
  EXPECT_EQ(std::get<1>(c.rec.down[0]), DownReason::kTimedOut);
  EXPECT_EQ(std::get<2>(c.rec.down[0]), "no answer from udp hub at 127.0.0.1:" +
                                            std::to_string(silent.port()) + " within 0.6 s");
  EXPECT_GE(silent.count(FrameType::kJoin), 2u);  // JOIN is retransmitted while waiting
  EXPECT_EQ(silent.frames()[0].payload, "x");
}

TEST_F(UdpTransportTest, ClientIsRefusedByAClosedPort) {
  uint16_t port = 0;
  {
    RawUdp gone(loop_);
    port = gone.port();
  }
  TransportConfig config = client_config("x", port);
  config.connect_timeout = 2000ms;
  Client& c = add_client(std::move(config));
  ASSERT_TRUE(run_until(loop_, [&] { return !c.rec.down.empty(); }));
  EXPECT_EQ(std::get<1>(c.rec.down[0]), DownReason::kRefused);
  EXPECT_EQ(std::get<2>(c.rec.down[0]),
            "nothing listening on udp 127.0.0.1:" + std::to_string(port) +
                " (port unreachable); is the server running with --transport udp?");
}

TEST_F(UdpTransportTest, ClientNoticesASilentServer) {
  RawUdp hub(loop_);
  Client& c = join_raw_hub(hub);
  ASSERT_FALSE(c.rec.up.empty());
  ASSERT_TRUE(run_until(loop_, [&] { return !c.rec.down.empty(); }));
  EXPECT_EQ(std::get<1>(c.rec.down[0]), DownReason::kTimedOut);
  EXPECT_EQ(std::get<2>(c.rec.down[0]), "server silent for 0.2 s");
  // It heartbeated meanwhile, with the id the hub gave it.
  ASSERT_GE(hub.count(FrameType::kHeartbeat), 1u);
  for (const auto& f : hub.frames())
    if (f.type == FrameType::kHeartbeat) {
      EXPECT_EQ(f.sender, 7u);
    }
}

TEST_F(UdpTransportTest, ClientBusyElsewhereDoesNotCallTheServerSilentWhileItsDatagramsWait) {
  RawUdp hub(loop_);
  Client& c = join_raw_hub(hub);
  ASSERT_FALSE(c.rec.up.empty());
  // Another fd's handler keeps the loop busy past the expiry, and the server speaks meanwhile: the
  // loop runs its timers before it waits again, so the client's tick comes before the read (one
  // loop serving thousands of members does this). Datagrams waiting unread are not silence.
  int busy[2];
  ASSERT_EQ(::pipe2(busy, O_NONBLOCK | O_CLOEXEC), 0);
  const net::Fd busy_read(busy[0]);
  const net::Fd busy_write(busy[1]);
  bool busy_done = false;
  loop_.add(busy_read.get(), EPOLLIN, [&](uint32_t) {
    loop_.remove(busy_read.get());
    hub.send_to(hub.last_from, data_frame(1, "still here"));
    const auto until = std::chrono::steady_clock::now() + 300ms;
    while (std::chrono::steady_clock::now() < until) {
    }
    busy_done = true;
  });
  ASSERT_EQ(::write(busy_write.get(), "x", 1), 1);
  ASSERT_TRUE(run_until(loop_, [&] { return !c.rec.messages.empty(); }));
  EXPECT_TRUE(busy_done);
  EXPECT_EQ(c.rec.messages[0].second.text, "still here");
  EXPECT_TRUE(c.rec.down.empty());
}

TEST_F(UdpTransportTest, LeaveAndCloseReportOnceEach) {
  start_server(server_config());
  Client& a = join_client("a");
  Client& b = join_client("b");
  a.transport->close(UdpTransport::kServerPeer, "bye");
  ASSERT_EQ(a.rec.down.size(), 1u);
  EXPECT_EQ(std::get<1>(a.rec.down[0]), DownReason::kClosed);
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.down.size() == 1; }));
  EXPECT_EQ(std::get<0>(server_rec_.down[0]), server_id_of("a"));
  EXPECT_EQ(std::get<1>(server_rec_.down[0]), DownReason::kLeft);
  EXPECT_EQ(std::get<2>(server_rec_.down[0]), "bye");

  server_->close(server_id_of("b"), "kicked");
  ASSERT_EQ(server_rec_.down.size(), 2u);
  EXPECT_EQ(std::get<1>(server_rec_.down[1]), DownReason::kClosed);
  ASSERT_TRUE(run_until(loop_, [&] { return !b.rec.down.empty(); }));
  EXPECT_EQ(std::get<1>(b.rec.down[0]), DownReason::kLeft);
  EXPECT_EQ(std::get<2>(b.rec.down[0]), "kicked");
  EXPECT_TRUE(server_->peers().empty());
  server_->close(server_id_of("b"), "again");  // unknown now: nothing happens
  EXPECT_EQ(server_rec_.down.size(), 2u);
}

TEST_F(UdpTransportTest, CallbacksMayCloseAndSendReentrantly) {
  start_server(server_config());
  // Like the hub room: echo to everyone, and close a member that says q.
  server_rec_.on_message = [&](PeerId id, const Message& m) {
    if (m.text == "q") return server_->close(id, "bye");
    server_->broadcast(Message::chat(m.text, "echo"));
  };
  Client& a = join_client("a");
  Client& b = join_client("b");
  ASSERT_TRUE(a.transport->send(UdpTransport::kServerPeer, Message::chat("one")).ok());
  ASSERT_TRUE(a.transport->send(UdpTransport::kServerPeer, Message::chat("q")).ok());
  ASSERT_TRUE(a.transport->send(UdpTransport::kServerPeer, Message::chat("ignored")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return !a.rec.down.empty() && b.rec.messages.size() == 1; }));
  EXPECT_EQ(std::get<1>(a.rec.down[0]), DownReason::kLeft);
  EXPECT_EQ(b.rec.texts(), std::vector<std::string>({"one"}));
}

// A send schedules a flush on the loop for the end of the turn; a transport destroyed before that
// must take it back (the flush holds only `this`). ASan makes a leftover one fail loudly.
TEST_F(UdpTransportTest, DestroyedBeforeItsFlushLeavesNothingQueuedOnTheLoop) {
  start_server(server_config());
  Client& a = join_client("a");
  ASSERT_TRUE(server_->send(server_id_of("a"), Message::chat("never sent")).ok());
  server_.reset();
  EXPECT_TRUE(testing::run_one_turn(loop_));  // the turn the flush was queued for
  EXPECT_TRUE(a.rec.messages.empty());
}

TEST_F(UdpTransportTest, ShutdownSaysLeaveAndCallsDoneOnce) {
  start_server(server_config());
  Client& a = join_client("a");
  RawUdp nc(loop_);
  type_the_code(loop_, nc, server_address());
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.up.size() == 2; }));
  int done = 0;
  server_->shutdown(100ms, [&] { ++done; });
  EXPECT_FALSE(server_->send(server_id_of("a"), Message::chat("late")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return done == 1 && !a.rec.down.empty(); }));
  EXPECT_EQ(std::get<1>(a.rec.down[0]), DownReason::kLeft);
  EXPECT_TRUE(server_rec_.down.empty());  // no callbacks after shutdown
  EXPECT_EQ(done, 1);
  int client_done = 0;
  a.transport->shutdown(0ms, [&] { ++client_done; });
  ASSERT_TRUE(run_until(loop_, [&] { return client_done == 1; }));
}

TEST_F(UdpTransportTest, ManyMembersBroadcastInBatches) {
  TransportConfig config = server_config();
  start_server(std::move(config));
  std::vector<std::unique_ptr<RawUdp>> raws;
  for (int i = 0; i < 200; ++i) {
    raws.push_back(std::make_unique<RawUdp>(loop_));
    join_by_hand(loop_, *raws.back(), server_address(), "m" + std::to_string(i));
  }
  ASSERT_TRUE(run_until(loop_, [&] { return server_rec_.up.size() == 200; }));
  EXPECT_EQ(server_->broadcast(Message::chat("fan-out", "hub")), 200u);
  ASSERT_TRUE(run_until(loop_, [&] {
    for (const auto& r : raws)
      if (r->count(FrameType::kData) != 1) return false;
    return true;
  }));
  // Each link got its own next sequence number: WELCOME took 0, the broadcast 1.
  for (const auto& r : raws)
    for (const auto& f : r->frames())
      if (f.type == FrameType::kData) {
        EXPECT_EQ(f.seq, 1u);
      }
}

TEST_F(UdpTransportTest, ResolvesNamesAndStartFailsOnBadHost) {
  start_server(server_config());
  TransportConfig config = client_config("named", server_port());
  config.host = "localhost";
  Client& c = add_client(std::move(config));
  // localhost may resolve to ::1 first while the server listens on 127.0.0.1 only: refused
  // there, the client moves on to the next address.
  ASSERT_TRUE(run_until(loop_, [&] { return !c.rec.up.empty() || !c.rec.down.empty(); }));
  ASSERT_EQ(c.rec.up.size(), 1u);

  TransportConfig bad_config = client_config("x", 1);
  bad_config.host = "no-such-host.invalid";
  UdpTransport unresolvable(loop_, bad_config);
  Recorder rec;
  EXPECT_FALSE(unresolvable.start(rec.callbacks()).ok());
}

}  // namespace
}  // namespace chat
