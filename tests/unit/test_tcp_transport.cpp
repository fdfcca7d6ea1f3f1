// TcpTransport in-process: one EventLoop, a server on 127.0.0.1 port 0, clients (real transports
// or raw sockets that misbehave on purpose) on the same loop. Every wait is bounded.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "src/net/event_loop.h"
#include "src/net/fd.h"
#include "src/util/clock.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"
#include "tests/support/transport_harness.h"
#include "transports/tcp/tcp_transport.h"

namespace chat {
namespace {

using namespace std::chrono_literals;

struct Down {
  PeerId id;
  DownReason reason;
  std::string why;
};

// Records every callback a transport makes.
struct Recorder {
  std::vector<PeerInfo> ups;
  std::vector<std::pair<PeerId, Message>> messages;
  std::vector<Down> downs;
  std::function<void(PeerId, const Message&)> on_message_hook;

  TransportCallbacks callbacks() {
    TransportCallbacks cb;
    cb.on_peer_up = [this](const PeerInfo& p) { ups.push_back(p); };
    cb.on_message = [this](PeerId id, Message&& m) {
      messages.emplace_back(id, std::move(m));
      if (on_message_hook) on_message_hook(id, messages.back().second);
    };
    cb.on_peer_down = [this](PeerId id, DownReason r, const std::string& why) {
      downs.push_back({id, r, why});
    };
    return cb;
  }
  const Down* down_of(PeerId id) const {
    for (const Down& d : downs)
      if (d.id == id) return &d;
    return nullptr;
  }
  size_t downs_of(PeerId id) const {
    size_t n = 0;
    for (const Down& d : downs) n += d.id == id;
    return n;
  }
  std::vector<std::string> texts_from(PeerId id) const {
    std::vector<std::string> out;
    for (const auto& [from, m] : messages)
      if (from == id) out.push_back(m.text);
    return out;
  }
};

// A deliberately dumb peer: a blocking connect, then non-blocking reads we poll.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port, int rcvbuf = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (rcvbuf > 0) ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::fcntl(fd_.get(), F_SETFL, O_NONBLOCK);
  }
  bool connected() const { return connected_; }
  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Reads what has arrived; true once EOF was seen.
  bool poll() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) {
        received_.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof_ = true;
      return eof_;
    }
  }
  const std::string& received() {
    poll();
    return received_;
  }
  bool eof() {
    poll();
    return eof_;
  }
  void shut_write() { ::shutdown(fd_.get(), SHUT_WR); }
  void close() { fd_.reset(); }

 private:
  net::Fd fd_;
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

std::string frame_bytes(wire::FrameType type, std::string payload, uint32_t seq = 1) {
  wire::Frame f;
  f.type = type;
  f.seq = seq;
  f.timestamp_ns = now_ns();
  f.payload = std::move(payload);
  return wire::encode_frame(f);
}

std::string data_bytes(const std::string& text, uint32_t seq = 1) {
  wire::Frame f = wire::message_to_frame(Message::chat(text));
  f.seq = seq;
  f.timestamp_ns = now_ns();
  return wire::encode_frame(f);
}

class TcpTransportTest : public ::testing::Test {
 protected:
  // Runs the loop until `done` holds or `timeout` passes; returns `done()`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3000ms) {
    return testing::run_until(loop_, done, timeout);
  }
  // Runs the loop for a while to show that something does NOT happen.
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  TransportConfig server_config() { return testing::loopback_server_config(); }

  void start_server(TransportConfig c) {
    server_ = std::make_unique<TcpTransport>(loop_, std::move(c));
    ASSERT_TRUE(server_->start(server_events_.callbacks()).ok());
    port_ = server_->local_address().port();
    ASSERT_NE(port_, 0);
  }
  void start_server() { start_server(server_config()); }

  struct Client {
    std::unique_ptr<TcpTransport> transport;
    Recorder events;
  };

  TransportConfig client_config(const std::string& name) {
    return testing::loopback_client_config(name, port_);
  }

  Client& add_client(TransportConfig c) {
    clients_.push_back(std::make_unique<Client>());
    Client& client = *clients_.back();
    client.transport = std::make_unique<TcpTransport>(loop_, std::move(c));
    EXPECT_TRUE(client.transport->start(client.events.callbacks()).ok());
    return client;
  }
  Client& add_client(const std::string& name) { return add_client(client_config(name)); }

  // A client that is up on both ends; returns the server's id for it.
  PeerId join(Client& c) {
    const size_t before = server_events_.ups.size();
    EXPECT_TRUE(
        run_until([&] { return !c.events.ups.empty() && server_events_.ups.size() > before; }));
    if (server_events_.ups.size() <= before) return kNoPeer;
    return server_events_.ups.back().id;
  }

  // A raw framed peer that has joined; returns its id on the server.
  PeerId raw_join(RawSocket& raw, const std::string& nick) {
    const size_t before = server_events_.ups.size();
    raw.write(frame_bytes(wire::FrameType::kJoin, nick));
    EXPECT_TRUE(run_until([&] { return server_events_.ups.size() > before; }));
    if (server_events_.ups.size() <= before) return kNoPeer;
    return server_events_.ups.back().id;
  }

  net::EventLoop loop_;
  std::unique_ptr<TcpTransport> server_;
  Recorder server_events_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(TcpTransportTest, JoinWelcomeAndMessagesBothWays) {
  start_server();
  Client& alice = add_client("alice");
  const PeerId id = join(alice);
  ASSERT_NE(id, kNoPeer);

  const PeerInfo& seen = server_events_.ups.back();
  EXPECT_EQ(seen.name, "alice");
  EXPECT_FALSE(seen.text);
  EXPECT_EQ(seen.address, alice.transport->local_address().to_string());
  EXPECT_EQ(alice.transport->member_id(), id);
  ASSERT_EQ(alice.events.ups.size(), 1u);
  EXPECT_EQ(alice.events.ups[0].id, TcpTransport::kServerPeer);
  EXPECT_EQ(alice.events.ups[0].name, "server");
  EXPECT_EQ(alice.events.ups[0].address, server_->local_address().to_string());

  ASSERT_TRUE(alice.transport->send(TcpTransport::kServerPeer, Message::chat("hi there")).ok());
  ASSERT_TRUE(run_until([&] { return !server_events_.messages.empty(); }));
  const auto& [from, m] = server_events_.messages[0];
  EXPECT_EQ(from, id);
  EXPECT_EQ(m.text, "hi there");
  EXPECT_EQ(m.kind, MessageKind::kChat);
  EXPECT_NE(m.received_ns, 0u);
  EXPECT_NE(m.sent_ns, 0u);
  EXPECT_LE(m.sent_ns, m.received_ns);

  ASSERT_TRUE(server_->send(id, Message::chat("hello", "bob")).ok());
  ASSERT_TRUE(server_->send(id, Message::notice("carol joined")).ok());
  ASSERT_TRUE(run_until([&] { return alice.events.messages.size() == 2; }));
  EXPECT_EQ(alice.events.messages[0].second.from, "bob");
  EXPECT_EQ(alice.events.messages[0].second.text, "hello");
  EXPECT_EQ(alice.events.messages[1].second.kind, MessageKind::kNotice);
  EXPECT_EQ(alice.events.messages[1].second.text, "carol joined");
  EXPECT_LT(alice.events.messages[0].second.seq, alice.events.messages[1].second.seq);

  const PeerStats s = server_->stats(id);
  EXPECT_EQ(s.messages_received, 1u);
  EXPECT_EQ(s.messages_sent, 2u);
  EXPECT_GT(s.bytes_received, 0u);
  EXPECT_GT(s.bytes_sent, 0u);
  EXPECT_EQ(server_->peers().size(), 1u);
  EXPECT_TRUE(server_events_.downs.empty());
}

TEST_F(TcpTransportTest, FrameSplitByteByByteAcrossReads) {
  start_server();
  RawSocket raw(port_);
  ASSERT_TRUE(raw.connected());
  const std::string bytes = frame_bytes(wire::FrameType::kJoin, "slow") + data_bytes("piecewise");
  const PeerId id = 1;  // the first connection the server accepts
  for (size_t i = 0; i < bytes.size(); ++i) {
    raw.write(bytes.substr(i, 1));
    // Wait until the server has read this byte, so every byte is its own read.
    ASSERT_TRUE(run_until([&] { return server_->stats(id).bytes_received == i + 1; }))
        << "byte " << i;
  }
  ASSERT_TRUE(run_until([&] { return !server_events_.messages.empty(); }));
  ASSERT_EQ(server_events_.ups.size(), 1u);
  EXPECT_EQ(server_events_.ups[0].name, "slow");
  EXPECT_EQ(server_events_.messages[0].second.text, "piecewise");
}

TEST_F(TcpTransportTest, LargeFramesInUnevenPiecesArriveWholeAndInOrder) {
  start_server();
  RawSocket raw(port_);
  ASSERT_TRUE(raw.connected());
  // Large frames are read straight into room made for them; headers, payloads and frame
  // boundaries here fall anywhere inside a piece.
  const std::vector<std::string> texts = {std::string(60000, 'a'), "b", std::string(40000, 'c'),
                                          std::string(65000, 'd'), "eee"};
  std::string bytes = frame_bytes(wire::FrameType::kJoin, "big");
  for (size_t i = 0; i < texts.size(); ++i) bytes += data_bytes(texts[i], i + 2);
  const PeerId id = 1;
  for (size_t at = 0; at < bytes.size(); at += 7919) {
    raw.write(bytes.substr(at, 7919));
    const size_t sent = std::min(bytes.size(), at + 7919);
    ASSERT_TRUE(run_until([&] { return server_->stats(id).bytes_received == sent; })) << at;
  }
  ASSERT_TRUE(run_until([&] { return server_events_.messages.size() == texts.size(); }));
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(server_events_.messages[i].second.text, texts[i]) << i;
    EXPECT_EQ(server_events_.messages[i].second.seq, i + 2);
  }
  EXPECT_TRUE(server_events_.downs.empty());
}

TEST_F(TcpTransportTest, LargeMessagesLeaveInTwoPartsAndArriveWholeThroughSmallBuffers) {
  // A large message's header and text go to the kernel as two iovecs; with 8 KiB socket buffers
  // the kernel takes a part (sometimes inside the header's bytes, sometimes inside the text's) and
  // the rest queues, with small messages queued behind it.
  TransportConfig config = server_config();
  config.socket_buffer = 8 * 1024;
  config.high_water_bytes = 8 * 1024 * 1024;
  start_server(config);
  TransportConfig small = client_config("a");
  small.socket_buffer = 8 * 1024;
  Client& a = add_client(small);
  const PeerId a_id = join(a);
  small.name = "b";
  Client& b = add_client(small);
  join(b);

  std::vector<std::string> texts;
  for (size_t i = 0; i < 12; ++i) {
    const size_t size = i % 3 == 0 ? 16 * 1024 : i % 3 == 1 ? 60'001 : 7;
    texts.push_back(std::string(size, static_cast<char>('a' + i)));
  }
  for (const auto& t : texts) ASSERT_TRUE(server_->send(a_id, Message::chat(t, "hub")).ok());
  const std::string shout(50'001, '!');
  EXPECT_EQ(server_->broadcast(Message::chat(shout, "hub")), 2u);

  ASSERT_TRUE(run_until([&] {
    return a.events.messages.size() == texts.size() + 1 && b.events.messages.size() == 1;
  }));
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(a.events.messages[i].second.text, texts[i]) << i;
    EXPECT_EQ(a.events.messages[i].second.from, "hub") << i;
    if (i > 0) {
      EXPECT_EQ(a.events.messages[i].second.seq, a.events.messages[i - 1].second.seq + 1) << i;
    }
  }
  EXPECT_EQ(a.events.messages.back().second.text, shout);
  EXPECT_EQ(b.events.messages.back().second.text, shout);
  EXPECT_TRUE(a.events.downs.empty());
  EXPECT_TRUE(b.events.downs.empty());
}

TEST_F(TcpTransportTest, ManyFramesInOneWrite) {
  start_server();
  RawSocket raw(port_);
  std::string bytes = frame_bytes(wire::FrameType::kJoin, "burst");
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) bytes += data_bytes("m" + std::to_string(i), i + 2);
  raw.write(bytes);
  ASSERT_TRUE(run_until([&] { return server_events_.messages.size() == kCount; }));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(server_events_.messages[i].second.text, "m" + std::to_string(i));
    EXPECT_EQ(server_events_.messages[i].second.seq, static_cast<uint32_t>(i + 2));
  }
}

TEST_F(TcpTransportTest, MaxPeersRefusesFramedAndTextJoiners) {
  TransportConfig config = server_config();
  config.max_peers = 1;
  config.full_reason = "room full: 1 member max";
  start_server(config);
  Client& first = add_client("first");
  ASSERT_NE(join(first), kNoPeer);

  Client& second = add_client("second");
  ASSERT_TRUE(run_until([&] { return !second.events.downs.empty(); }));
  EXPECT_TRUE(second.events.ups.empty());
  EXPECT_EQ(second.events.downs[0].reason, DownReason::kRefused);
  EXPECT_EQ(second.events.downs[0].why, "room full: 1 member max");

  RawSocket text(port_);
  text.write("hello?\n");
  ASSERT_TRUE(run_until([&] { return text.eof(); }));
  EXPECT_EQ(text.received(), "error: room full: 1 member max\n");

  EXPECT_EQ(server_events_.ups.size(), 1u);
  EXPECT_TRUE(server_events_.downs.empty());
  EXPECT_TRUE(server_events_.messages.empty());
  EXPECT_EQ(server_->peers().size(), 1u);
}

TEST_F(TcpTransportTest, TextPeerGetsLinesAndPartialBursts) {
  start_server();
  RawSocket raw(port_);
  raw.write("hello\n");
  ASSERT_TRUE(run_until([&] { return server_events_.messages.size() == 1; }));
  ASSERT_EQ(server_events_.ups.size(), 1u);
  const PeerInfo& info = server_events_.ups[0];
  EXPECT_TRUE(info.text);
  EXPECT_EQ(info.name, info.address);
  raw.write("no newline");
  ASSERT_TRUE(run_until([&] { return server_events_.messages.size() == 2; }));
  EXPECT_EQ(server_events_.texts_from(info.id), (std::vector<std::string>{"hello", "no newline"}));
  EXPECT_EQ(server_events_.messages[0].second.from, "");

  ASSERT_TRUE(server_->send(info.id, Message::chat("hi", "bob")).ok());
  ASSERT_TRUE(server_->send(info.id, Message::notice("alice joined")).ok());
  ASSERT_TRUE(run_until([&] { return raw.received() == "bob: hi\n*** alice joined\n"; }))
      << raw.received();

  raw.close();
  ASSERT_TRUE(run_until([&] { return !server_events_.downs.empty(); }));
  EXPECT_EQ(server_events_.downs[0].reason, DownReason::kLeft);
}

TEST_F(TcpTransportTest, SilentPeerBecomesTextAfterSniffTimeout) {
  TransportConfig config = server_config();
  config.sniff_timeout = 50ms;
  start_server(config);
  RawSocket raw(port_);  // telnet-like: waits to be spoken to
  ASSERT_TRUE(run_until([&] { return !server_events_.ups.empty(); }));
  EXPECT_TRUE(server_events_.ups[0].text);
  ASSERT_TRUE(server_->send(server_events_.ups[0].id, Message::notice("welcome")).ok());
  ASSERT_TRUE(run_until([&] { return raw.received() == "*** welcome\n"; }));
  raw.write("typed\r\n");
  ASSERT_TRUE(run_until([&] { return server_events_.messages.size() == 1; }));
  EXPECT_EQ(server_events_.messages[0].second.text, "typed");
}

// Misbehaving framed peers: each must go down with kError while a good client keeps working.
class BadInputTest : public TcpTransportTest {
 protected:
  void expect_only_bad_peer_dropped(RawSocket& raw, PeerId bad, const std::string& reason_part) {
    ASSERT_TRUE(run_until([&] { return server_events_.down_of(bad) != nullptr; }));
    const Down* d = server_events_.down_of(bad);
    EXPECT_EQ(d->reason, DownReason::kError);
    EXPECT_NE(d->why.find(reason_part), std::string::npos) << d->why;
    EXPECT_TRUE(run_until([&] { return raw.eof(); }));

    ASSERT_TRUE(
        good_->transport->send(TcpTransport::kServerPeer, Message::chat("still here")).ok());
    ASSERT_TRUE(run_until([&] { return !server_events_.texts_from(good_id_).empty(); }));
    EXPECT_EQ(server_events_.texts_from(good_id_)[0], "still here");
    EXPECT_EQ(server_events_.downs.size(), 1u);
    EXPECT_TRUE(good_->events.downs.empty());
  }

  void SetUp() override {
    start_server();
    good_ = &add_client("good");
    good_id_ = join(*good_);
    ASSERT_NE(good_id_, kNoPeer);
  }

  Client* good_ = nullptr;
  PeerId good_id_ = kNoPeer;
};

TEST_F(BadInputTest, GarbageAfterJoin) {
  RawSocket raw(port_);
  const PeerId bad = raw_join(raw, "mallory");
  raw.write("GET / HTTP/1.0\r\n\r\n");
  expect_only_bad_peer_dropped(raw, bad, "bad magic");
}

TEST_F(BadInputTest, HugeLengthPrefix) {
  RawSocket raw(port_);
  const PeerId bad = raw_join(raw, "mallory");
  std::string header = data_bytes("").substr(0, wire::kHeaderSize);
  header.replace(wire::kHeaderSize - 4, 4, "\xFF\xFF\xFF\xFF");  // the length field
  raw.write(header);
  expect_only_bad_peer_dropped(raw, bad, "4294967295");
}

TEST_F(BadInputTest, BadVersion) {
  RawSocket raw(port_);
  const PeerId bad = raw_join(raw, "mallory");
  std::string frame = data_bytes("x");
  frame[2] = 9;
  raw.write(frame);
  expect_only_bad_peer_dropped(raw, bad, "version");
}

TEST_F(BadInputTest, UnknownType) {
  RawSocket raw(port_);
  const PeerId bad = raw_join(raw, "mallory");
  std::string frame = data_bytes("x");
  frame[3] = 42;
  raw.write(frame);
  expect_only_bad_peer_dropped(raw, bad, "unknown frame type");
}

TEST_F(BadInputTest, BadNameLength) {
  RawSocket raw(port_);
  const PeerId bad = raw_join(raw, "mallory");
  raw.write(frame_bytes(wire::FrameType::kData, std::string("\x40", 1) + "short"));
  expect_only_bad_peer_dropped(raw, bad, "name length");
}

TEST_F(BadInputTest, TruncatedFrameThenEof) {
  RawSocket raw(port_);
  const PeerId bad = raw_join(raw, "mallory");
  raw.write(data_bytes("this frame never ends").substr(0, 30));
  raw.shut_write();
  expect_only_bad_peer_dropped(raw, bad, "connection closed mid-frame (30 bytes buffered)");
}

TEST_F(TcpTransportTest, EofAtFrameBoundaryIsLeft) {
  start_server();
  RawSocket raw(port_);
  const PeerId id = raw_join(raw, "polite");
  raw.write(data_bytes("bye"));
  // Read the WELCOME first: closing with unread bytes would send RST, not FIN.
  ASSERT_TRUE(run_until([&] { return raw.received().size() >= wire::kHeaderSize; }));
  raw.close();
  ASSERT_TRUE(run_until([&] { return server_events_.down_of(id) != nullptr; }));
  EXPECT_EQ(server_events_.down_of(id)->reason, DownReason::kLeft);
  EXPECT_EQ(server_events_.down_of(id)->why, "connection closed");
  EXPECT_EQ(server_events_.texts_from(id), std::vector<std::string>{"bye"});
}

TEST_F(TcpTransportTest, PayloadOverMaximumIsRefused) {
  start_server();
  Client& c = add_client("big");
  const PeerId id = join(c);
  const Message huge = Message::chat(std::string(70000, 'x'));
  Result<void> r = c.transport->send(TcpTransport::kServerPeer, huge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exceeds the maximum payload of 65536 bytes"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(server_->send(id, huge).ok());
  EXPECT_EQ(server_->broadcast(huge), 0u);
  EXPECT_FALSE(server_->send(12345, Message::chat("x")).ok());  // unknown peer

  // A message right at the limit still goes through.
  const Message at_limit = Message::chat(std::string(65536 - 1, 'y'));
  ASSERT_TRUE(c.transport->send(TcpTransport::kServerPeer, at_limit).ok());
  ASSERT_TRUE(run_until([&] { return !server_events_.messages.empty(); }));
  EXPECT_EQ(server_events_.messages[0].second.text.size(), 65535u);
}

TEST_F(TcpTransportTest, SlowReaderIsDisconnectedAtHighWater) {
  TransportConfig config = server_config();
  config.high_water_bytes = 64 * 1024;
  config.socket_buffer = 8 * 1024;
  config.overflow = OverflowPolicy::kDisconnect;
  start_server(config);
  RawSocket slow(port_, 4096);
  const PeerId slow_id = raw_join(slow, "slow");
  Client& fast = add_client("fast");
  const PeerId fast_id = join(fast);

  const Message m = Message::chat(std::string(4000, 'z'));
  int sent = 0;
  bool failed = false;
  for (; sent < 5000 && !failed; ++sent) failed = !server_->send(slow_id, m).ok();
  ASSERT_TRUE(failed) << "no back-pressure after " << sent << " messages";
  ASSERT_TRUE(run_until([&] { return server_events_.down_of(slow_id) != nullptr; }));
  EXPECT_EQ(server_events_.down_of(slow_id)->reason, DownReason::kOverflow);
  EXPECT_NE(server_events_.down_of(slow_id)->why.find("slow reader"), std::string::npos);

  // The others are not held up.
  ASSERT_TRUE(server_->send(fast_id, Message::chat("quick")).ok());
  ASSERT_TRUE(run_until([&] { return !fast.events.messages.empty(); }));
  EXPECT_EQ(server_->peers().size(), 1u);
}

TEST_F(TcpTransportTest, SlowReaderUnderDropPolicyLosesMessages) {
  TransportConfig config = server_config();
  config.high_water_bytes = 64 * 1024;
  config.socket_buffer = 8 * 1024;
  config.overflow = OverflowPolicy::kDrop;
  start_server(config);
  RawSocket slow(port_, 4096);
  const PeerId slow_id = raw_join(slow, "slow");

  const Message m = Message::chat(std::string(4000, 'z'));
  std::string error;
  for (int i = 0; i < 5000 && error.empty(); ++i) {
    if (Result<void> r = server_->send(slow_id, m); !r) error = r.error().message;
  }
  EXPECT_NE(error.find("queue full"), std::string::npos) << error;
  EXPECT_FALSE(server_->send(slow_id, m).ok());
  const PeerStats s = server_->stats(slow_id);
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_GT(s.queued_bytes, 0u);
  EXPECT_LE(s.queued_bytes, 64u * 1024);
  run_for(20ms);
  EXPECT_EQ(server_->peers().size(), 1u);
  EXPECT_TRUE(server_events_.downs.empty());
}

TEST_F(TcpTransportTest, BroadcastReachesEveryoneButTheSender) {
  start_server();
  Client& a = add_client("a");
  const PeerId a_id = join(a);
  Client& b = add_client("b");
  join(b);
  RawSocket text(port_);
  text.write("hi\n");
  ASSERT_TRUE(run_until([&] { return server_events_.ups.size() == 3; }));

  EXPECT_EQ(server_->broadcast(Message::chat("one", "a"), a_id), 2u);
  EXPECT_EQ(server_->broadcast(Message::chat("two", "a"), a_id), 2u);
  EXPECT_EQ(server_->broadcast(Message::notice("all")), 3u);
  ASSERT_TRUE(run_until([&] {
    return b.events.messages.size() == 3 && a.events.messages.size() == 1 &&
           text.received() == "a: one\na: two\n*** all\n";
  })) << text.received();
  // Each link has its own sequence although the frame was encoded once.
  EXPECT_EQ(b.events.messages[0].second.text, "one");
  EXPECT_EQ(b.events.messages[1].second.seq, b.events.messages[0].second.seq + 1);
  EXPECT_EQ(b.events.messages[2].second.seq, b.events.messages[1].second.seq + 1);
  EXPECT_EQ(a.events.messages[0].second.text, "all");
}

TEST_F(TcpTransportTest, ServerCloseSaysGoodbye) {
  start_server();
  Client& c = add_client("c");
  const PeerId id = join(c);
  RawSocket text(port_);
  text.write("x\n");
  ASSERT_TRUE(run_until([&] { return server_events_.ups.size() == 2; }));
  const PeerId text_id = server_events_.ups[1].id;

  server_->close(id, "kicked");
  server_->close(text_id, "bye now");
  server_->close(id, "again");  // a second close is a no-op
  ASSERT_TRUE(run_until([&] { return !c.events.downs.empty() && text.eof(); }));
  EXPECT_EQ(c.events.downs[0].reason, DownReason::kLeft);
  EXPECT_EQ(c.events.downs[0].why, "kicked");
  EXPECT_EQ(text.received(), "bye now\n");
  run_for(20ms);
  EXPECT_EQ(server_events_.downs_of(id), 1u);
  EXPECT_EQ(server_events_.down_of(id)->reason, DownReason::kClosed);
  EXPECT_EQ(server_events_.down_of(id)->why, "kicked");
  EXPECT_EQ(server_events_.downs_of(text_id), 1u);
  EXPECT_TRUE(server_->peers().empty());
}

TEST_F(TcpTransportTest, ClientCloseIsLeftOnTheServer) {
  start_server();
  Client& c = add_client("c");
  const PeerId id = join(c);
  c.transport->close(TcpTransport::kServerPeer, "done");
  ASSERT_TRUE(run_until([&] { return server_events_.down_of(id) && !c.events.downs.empty(); }));
  EXPECT_EQ(server_events_.down_of(id)->reason, DownReason::kLeft);
  EXPECT_EQ(server_events_.down_of(id)->why, "left");
  EXPECT_EQ(c.events.downs[0].reason, DownReason::kClosed);
}

TEST_F(TcpTransportTest, CallbacksMayCloseAndSendReentrantly) {
  start_server();
  Client& a = add_client("a");
  const PeerId a_id = join(a);
  Client& b = add_client("b");
  const PeerId b_id = join(b);
  // On a's message: answer a, tell b, then close a, all from inside the callback.
  server_events_.on_message_hook = [&](PeerId from, const Message& m) {
    EXPECT_TRUE(server_->send(from, Message::chat("echo " + m.text)).ok());
    EXPECT_EQ(server_->broadcast(Message::notice("a spoke"), from), 1u);
    server_->close(from, "one message only");
    EXPECT_FALSE(server_->send(from, Message::chat("too late")).ok());
  };
  ASSERT_TRUE(a.transport->send(TcpTransport::kServerPeer, Message::chat("x")).ok());
  ASSERT_TRUE(a.transport->send(TcpTransport::kServerPeer, Message::chat("y")).ok());
  ASSERT_TRUE(run_until([&] { return !a.events.downs.empty() && !b.events.messages.empty(); }));
  EXPECT_EQ(server_events_.texts_from(a_id), std::vector<std::string>{"x"});
  ASSERT_EQ(a.events.messages.size(), 1u);
  EXPECT_EQ(a.events.messages[0].second.text, "echo x");
  EXPECT_EQ(a.events.downs[0].why, "one message only");
  EXPECT_EQ(b.events.messages[0].second.text, "a spoke");
  EXPECT_EQ(server_events_.downs_of(a_id), 1u);
  EXPECT_EQ(server_events_.downs_of(b_id), 0u);
}

TEST_F(TcpTransportTest, ShutdownLeavesEveryoneThenCallsDone) {
  start_server();
  Client& a = add_client("a");
  const PeerId a_id = join(a);
  Client& b = add_client("b");
  join(b);
  bool done = false;
  server_->shutdown(1000ms, [&] { done = true; });
  EXPECT_FALSE(server_->send(a_id, Message::chat("x")).ok());
  ASSERT_TRUE(
      run_until([&] { return done && a.events.downs.size() == 1 && b.events.downs.size() == 1; }));
  EXPECT_EQ(a.events.downs[0].reason, DownReason::kLeft);
  EXPECT_EQ(a.events.downs[0].why, "server shutting down");
  EXPECT_EQ(b.events.downs[0].reason, DownReason::kLeft);
  EXPECT_EQ(server_events_.downs.size(), 2u);
  EXPECT_EQ(server_events_.downs[0].reason, DownReason::kClosed);

  // Nobody can connect any more, and no callback fires after done.
  const size_t downs = server_events_.downs.size();
  RawSocket late(port_);
  EXPECT_FALSE(late.connected());
  run_for(20ms);
  EXPECT_EQ(server_events_.downs.size(), downs);
}

TEST_F(TcpTransportTest, ConnectionRefusedIsReported) {
  uint16_t dead_port = 0;
  {
    // Learn a port nobody listens on: bind, read it back, close.
    net::Fd probe(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&a), &len);
    dead_port = ntohs(a.sin_port);
  }
  port_ = dead_port;
  Client& c = add_client("lonely");
  ASSERT_TRUE(run_until([&] { return !c.events.downs.empty(); }));
  EXPECT_EQ(c.events.downs[0].reason, DownReason::kRefused);
  EXPECT_EQ(c.events.downs[0].why, "connection refused by 127.0.0.1:" + std::to_string(dead_port));
  EXPECT_TRUE(c.events.ups.empty());
}

TEST_F(TcpTransportTest, NoWelcomeTimesOut) {
  // A listener that never answers: the kernel completes the handshake, nobody speaks.
  net::Fd mute(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(mute.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(mute.get(), 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(mute.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  TransportConfig config = client_config("patient");
  config.connect_timeout = 100ms;
  Client& c = add_client(config);
  ASSERT_TRUE(run_until([&] { return !c.events.downs.empty(); }));
  EXPECT_EQ(c.events.downs[0].reason, DownReason::kTimedOut);
  EXPECT_NE(c.events.downs[0].why.find("did not admit us within 100 ms"), std::string::npos)
      << c.events.downs[0].why;
}

TEST_F(TcpTransportTest, ClientResolvesHostNames) {
  start_server();
  TransportConfig config = client_config("named");
  config.host = "localhost";  // may resolve to ::1 first: the client tries each address
  Client& c = add_client(config);
  EXPECT_NE(join(c), kNoPeer);
}

TEST_F(TcpTransportTest, WorksOverIpv6) {
  TransportConfig config = server_config();
  config.bind = "::1";
  server_ = std::make_unique<TcpTransport>(loop_, config);
  if (!server_->start(server_events_.callbacks()).ok()) GTEST_SKIP() << "no IPv6 loopback here";
  port_ = server_->local_address().port();
  EXPECT_EQ(server_->local_address().family(), AF_INET6);
  TransportConfig cc = client_config("six");
  cc.host = "::1";
  Client& c = add_client(cc);
  const PeerId id = join(c);
  ASSERT_NE(id, kNoPeer);
  EXPECT_EQ(server_events_.ups[0].address.rfind("[::1]:", 0), 0u) << server_events_.ups[0].address;
  ASSERT_TRUE(server_->send(id, Message::chat("v6")).ok());
  ASSERT_TRUE(run_until([&] { return !c.events.messages.empty(); }));
}

TEST_F(TcpTransportTest, CloseGivesUpOnAStuckQueueAfterAboutASecond) {
  TransportConfig config = server_config();
  config.socket_buffer = 8 * 1024;
  start_server(config);
  RawSocket stuck(port_, 4096);
  const PeerId id = raw_join(stuck, "stuck");
  const Message m = Message::chat(std::string(4000, 'q'));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(server_->send(id, m).ok());
  ASSERT_GT(server_->stats(id).queued_bytes, 0u);
  const auto start = std::chrono::steady_clock::now();
  server_->close(id, "bye");
  ASSERT_TRUE(run_until([&] { return server_->stats(id).queued_bytes == 0; }, 3000ms));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 900ms);
  EXPECT_EQ(server_events_.downs_of(id), 1u);
  EXPECT_EQ(server_events_.down_of(id)->reason, DownReason::kClosed);
}

TEST_F(TcpTransportTest, FramedPeerThatNeverJoinsIsDroppedQuietly) {
  TransportConfig config = server_config();
  config.connect_timeout = 50ms;
  start_server(config);
  RawSocket raw(port_);
  raw.write(std::string(1, static_cast<char>(wire::kMagic0)));
  ASSERT_TRUE(run_until([&] { return raw.eof(); }));
  EXPECT_TRUE(server_events_.ups.empty());
  EXPECT_TRUE(server_events_.downs.empty());
}

// A send schedules a flush on the loop for the end of the turn; a transport destroyed before that
// must take it back (the flush holds only `this`). ASan makes a leftover one fail loudly.
TEST_F(TcpTransportTest, DestroyedBeforeItsFlushLeavesNothingQueuedOnTheLoop) {
  start_server();
  Client& c = add_client("c");
  const PeerId id = join(c);
  ASSERT_NE(id, kNoPeer);
  ASSERT_TRUE(server_->send(id, Message::chat("never sent")).ok());
  server_.reset();
  EXPECT_TRUE(testing::run_one_turn(loop_));  // the turn the flush was queued for
  EXPECT_TRUE(c.events.messages.empty());
}

TEST_F(TcpTransportTest, ServerVanishingIsReported) {
  start_server();
  Client& c = add_client("c");
  join(c);
  server_.reset();  // no LEAVE: the sockets just close
  ASSERT_TRUE(run_until([&] { return !c.events.downs.empty(); }));
  EXPECT_TRUE(c.events.downs[0].reason == DownReason::kLeft ||
              c.events.downs[0].reason == DownReason::kError);
  EXPECT_NE(c.events.downs[0].why.find("server"), std::string::npos) << c.events.downs[0].why;
}

}  // namespace
}  // namespace chat
