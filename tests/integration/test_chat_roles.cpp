// End to end: the real `chat` binary on loopback, over each transport, the way a user runs it.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "src/net/socket.h"
#include "src/wire/frame.h"
#include "src/wire/frame_codec.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_peer.h"
#include "tests/support/udp_peers.h"
#include "transports/transport.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

std::unique_ptr<ChildProcess> client(const std::string& transport, uint16_t port,
                                     const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{kChat,       "client", "--transport",        transport, "--host",
                                "127.0.0.1", "--port", std::to_string(port), "--name",  name};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ChildProcess>(argv);
}

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

// Reads stdout until every needle has appeared on some line, in any order.
bool wait_for_all(ChildProcess& p, std::vector<std::string> needles) {
  while (!needles.empty()) {
    auto line = p.read_line(5000ms);
    if (!line) return false;
    std::erase_if(needles,
                  [&](const std::string& n) { return line->find(n) != std::string::npos; });
  }
  return true;
}

class ChatOver : public ::testing::TestWithParam<std::string> {
 protected:
  std::string transport() const { return GetParam(); }
  ServerProcess server(std::vector<std::string> args) {
    args.insert(args.end(), {"--transport", transport()});
    auto s = start_server(kChat, args);
    if (!s) ADD_FAILURE() << "server did not announce its port";
    return s ? std::move(*s) : ServerProcess{};
  }
};

TEST_P(ChatOver, EchoReturnsTheMessageAndTheClientExitsCleanlyAtEof) {
  auto s = server({"--mode", "echo"});
  ASSERT_NE(s.port, 0);
  auto c = client(transport(), s.port, "alice");
  c->write_stdin("hello\nsecond line\n");
  c->close_stdin();
  EXPECT_EQ(c->read_line(), "hello");
  EXPECT_EQ(c->read_line(), "second line");
  EXPECT_EQ(c->wait_exit(5000ms), 0);
  s.process->signal(SIGTERM);
  EXPECT_EQ(s.process->wait_exit(5000ms), 0);
}

TEST_P(ChatOver, HubRelaysToEveryoneElseNeverTheSenderAndAnnouncesJoinsAndLeaves) {
  auto s = server({"--mode", "hub"});
  ASSERT_NE(s.port, 0);
  auto alice = client(transport(), s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  auto bob = client(transport(), s.port, "bob");
  ASSERT_TRUE(bob->wait_for_line("welcome bob"));
  ASSERT_TRUE(alice->wait_for_line("bob joined"));
  auto carol = client(transport(), s.port, "carol");
  ASSERT_TRUE(carol->wait_for_line("welcome carol"));
  ASSERT_TRUE(alice->wait_for_line("carol joined"));
  ASSERT_TRUE(bob->wait_for_line("carol joined"));

  alice->write_stdin("hi from alice\n");
  bob->write_stdin("hi from bob\n");
  carol->write_stdin("hi from carol\n");
  // The three speak at once, so each hears the other two in either order.
  EXPECT_TRUE(wait_for_all(*alice, {"bob: hi from bob", "carol: hi from carol"}));
  EXPECT_TRUE(wait_for_all(*bob, {"alice: hi from alice", "carol: hi from carol"}));
  EXPECT_TRUE(wait_for_all(*carol, {"alice: hi from alice", "bob: hi from bob"}));

  carol->write_stdin("q\n");
  EXPECT_EQ(carol->wait_exit(5000ms), 0);
  EXPECT_TRUE(alice->wait_for_line("carol left"));
  EXPECT_TRUE(bob->wait_for_line("carol left"));

  alice->close_stdin();
  bob->close_stdin();
  EXPECT_EQ(alice->wait_exit(5000ms), 0);
  EXPECT_EQ(bob->wait_exit(5000ms), 0);
  for (auto* c : {alice.get(), bob.get(), carol.get()}) c->drain_lines(1000ms);
  EXPECT_FALSE(any_contains(alice->seen_lines(), "alice: "));
  EXPECT_FALSE(any_contains(bob->seen_lines(), "bob: "));
  EXPECT_FALSE(any_contains(carol->seen_lines(), "carol: "));
  s.process->signal(SIGINT);
  EXPECT_EQ(s.process->wait_exit(5000ms), 0);
}

TEST_P(ChatOver, HubRefusesClientsPastMaxClients) {
  auto s = server({"--mode", "hub", "--max-clients", "1"});
  auto alice = client(transport(), s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  auto bob = client(transport(), s.port, "bob");
  bob->close_stdin();
  EXPECT_EQ(bob->wait_exit(8000ms), 1);
  EXPECT_TRUE(bob->wait_for_err_line("full", 1000ms));
}

TEST_P(ChatOver, P2pOperatorChatsWithOneClientAndASecondIsRefused) {
  auto s = server({"--mode", "p2p"});
  auto alice = client(transport(), s.port, "alice");
  ASSERT_TRUE(s.process->wait_for_line("alice connected"));
  s.process->write_stdin("hello from the operator\n");
  EXPECT_TRUE(alice->wait_for_line("hello from the operator"));
  alice->write_stdin("hi operator\n");
  EXPECT_TRUE(s.process->wait_for_line("alice: hi operator"));

  auto bob = client(transport(), s.port, "bob");
  bob->close_stdin();
  EXPECT_EQ(bob->wait_exit(8000ms), 1);
  EXPECT_TRUE(bob->wait_for_err_line("busy", 1000ms));

  alice->write_stdin("q\n");
  EXPECT_EQ(alice->wait_exit(5000ms), 0);
  EXPECT_TRUE(s.process->wait_for_line("alice left"));
  s.process->write_stdin("q\n");
  EXPECT_EQ(s.process->wait_exit(5000ms), 0);
}

TEST_P(ChatOver, P2pOperatorIsNamedHasCommandsAndTheClientSeesTwoMembers) {
  auto s = server({"--mode", "p2p", "--name", "bob"});
  auto alice = client(transport(), s.port, "alice");
  ASSERT_TRUE(s.process->wait_for_line("alice connected"));
  s.process->write_stdin("hello from the operator\n");
  // Labelled like the hub labels a member, so the client knows who spoke.
  EXPECT_TRUE(alice->wait_for_line("bob: hello from the operator"));
  // The operator's commands are answered on the operator's terminal, never sent as chat.
  s.process->write_stdin("/who\n");
  auto who = s.process->wait_for_line("here:");
  ASSERT_TRUE(who);
  EXPECT_NE(who->find("bob, alice (2 here)"), std::string::npos) << *who;
  s.process->write_stdin("/stats\n");
  auto stats = s.process->wait_for_line("received");
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->find("alice over " + transport()), std::string::npos) << *stats;
  alice->write_stdin("/stats\n");
  auto client_stats = alice->wait_for_line("members");
  ASSERT_TRUE(client_stats);
  EXPECT_NE(client_stats->find("members 2"), std::string::npos) << *client_stats;
  s.process->write_stdin("after the commands\n");
  ASSERT_TRUE(alice->wait_for_line("bob: after the commands"));
  EXPECT_FALSE(any_contains(alice->seen_lines(), "/who"));
  EXPECT_FALSE(any_contains(alice->seen_lines(), "/stats"));
  s.process->write_stdin("/quit\n");
  EXPECT_EQ(s.process->wait_exit(5000ms), 0);
  EXPECT_EQ(alice->wait_exit(5000ms), 1);  // the server went away under it
}

TEST_P(ChatOver, PlainTextPeerSharesTheHubWithFramedClients) {
  if (!transport_caps(transport(), {})->text_peers)
    GTEST_SKIP() << "no plain-text peers on this wire";
  auto s = server({"--mode", "hub"});
  auto alice = client(transport(), s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  RawPeer raw = transport() == "tcp" ? RawPeer::tcp(s.port) : RawPeer::udp(s.port);
  ASSERT_TRUE(raw.valid());
  // On UDP the hub first checks the address is real: it sends a code, which nc's user types.
  if (transport() == "udp") {
    ASSERT_TRUE(join_as_text(raw));
  }
  // The course's Python client sends each message with no newline.
  raw.send("hello from nc\n");
  auto heard = alice->wait_for_line("hello from nc");
  ASSERT_TRUE(heard);
  EXPECT_NE(heard->find("127.0.0.1:"), std::string::npos) << *heard;
  alice->write_stdin("hi raw\n");
  EXPECT_TRUE(raw.wait_for("alice: hi raw", 5000ms));
  raw.send("no newline");
  EXPECT_TRUE(alice->wait_for_line(": no newline"));
  // Escape sequences from a peer never reach a terminal raw.
  raw.send("evil \x1b[2J\x07 bytes\n");
  auto evil = alice->wait_for_line("evil");
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->find('\x1b'), std::string::npos);
  EXPECT_NE(evil->find("^[[2J^G"), std::string::npos) << *evil;
}

TEST_P(ChatOver, ClientReportsAMissingServerAndExitsNonZero) {
  // Bind then close a socket to get a port with nobody behind it.
  uint16_t port = 0;
  {
    auto s = server({"--mode", "echo"});
    port = s.port;
    s.process->signal(SIGKILL);
    s.process->wait_exit(2000ms);
  }
  auto c = client(transport(), port, "alice", {"--timeout", "1500"});
  c->write_stdin("hello\n");
  EXPECT_EQ(c->wait_exit(8000ms), 1);
  EXPECT_TRUE(c->wait_for_err_line("chat:", 1000ms));
}

TEST_P(ChatOver, ClientLeavesCleanlyOnSigint) {
  auto s = server({"--mode", "hub"});
  auto alice = client(transport(), s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  auto bob = client(transport(), s.port, "bob");
  ASSERT_TRUE(bob->wait_for_line("welcome bob"));
  bob->signal(SIGINT);
  EXPECT_EQ(bob->wait_exit(5000ms), 0);
  EXPECT_TRUE(alice->wait_for_line("bob left"));
}

TEST(Client, GivesUpOnASilentUdpHubWithinItsTimeout) {
  // A bound socket that never answers: the JOIN goes nowhere, yet no ICMP error comes back.
  auto silent = net::bind_udp("127.0.0.1", 0);
  ASSERT_TRUE(silent.ok());
  const uint16_t port = net::local_address(silent->get()).port();
  auto c = client("udp", port, "alice", {"--timeout", "700"});
  c->close_stdin();
  EXPECT_EQ(c->wait_exit(5000ms), 1);
  auto err = c->wait_for_err_line("chat:", 1000ms);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("timed out"), std::string::npos) << *err;
}

TEST(Client, NamesAnUnknownHost) {
  auto c = std::make_unique<ChildProcess>(std::vector<std::string>{
      kChat, "client", "--host", "no-such-host.invalid", "--port", "10000"});
  c->close_stdin();
  EXPECT_NE(c->wait_exit(10000ms).value_or(0), 0);
  auto err = c->wait_for_err_line("no-such-host.invalid", 1000ms);
  EXPECT_TRUE(err);
}

TEST_P(ChatOver, ClientNoticesAVanishedServerAndExitsNonZero) {
  auto s = server({"--mode", "hub", "--heartbeat-ms", "200", "--expiry-ms", "1000"});
  auto alice = client(transport(), s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  s.process->signal(SIGKILL);  // no goodbye: TCP sees the reset/EOF, UDP a port unreachable
  EXPECT_EQ(alice->wait_exit(10000ms), 1);
  EXPECT_TRUE(alice->wait_for_err_line("chat:", 1000ms));
}

std::vector<std::string> wires() {
  std::vector<std::string> out;
  for (auto name : transport_names()) out.emplace_back(name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Transports, ChatOver, ::testing::ValuesIn(wires()),
                         [](const auto& info) { return info.param; });

// --- TCP-only: what a stream peer can do wrong ---

std::string frame_bytes(wire::FrameType type, std::string payload) {
  wire::Frame f;
  f.type = type;
  f.payload = std::move(payload);
  return wire::encode_frame(f);
}

class TcpBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = start_server(kChat, {"--mode", "hub", "--transport", "tcp"});
    ASSERT_TRUE(st);
    s_ = std::move(*st);
    alice_ = client("tcp", s_.port, "alice");
    ASSERT_TRUE(alice_->wait_for_line("welcome alice"));
    bob_ = client("tcp", s_.port, "bob");
    ASSERT_TRUE(bob_->wait_for_line("welcome bob"));
  }
  // After the bad peer is gone, the room still works for everyone else.
  void expect_room_still_works() {
    alice_->write_stdin("still here?\n");
    EXPECT_TRUE(bob_->wait_for_line("alice: still here?"));
  }
  ServerProcess s_;
  std::unique_ptr<ChildProcess> alice_, bob_;
};

TEST_F(TcpBadInput, GarbageAfterJoinDropsOnlyThatPeerWithALoggedReason) {
  RawPeer bad = RawPeer::tcp(s_.port);
  bad.send(frame_bytes(wire::FrameType::kJoin, "mallory"));
  ASSERT_TRUE(alice_->wait_for_line("mallory joined"));
  bad.send("\xF7garbage that is not a frame");
  EXPECT_TRUE(bad.wait_closed(5000ms));
  EXPECT_TRUE(s_.process->wait_for_err_line("magic", 5000ms));
  EXPECT_TRUE(alice_->wait_for_line("mallory was dropped"));
  expect_room_still_works();
}

TEST_F(TcpBadInput, FourGigabyteLengthPrefixIsRefusedBeforeAnyAllocation) {
  RawPeer bad = RawPeer::tcp(s_.port);
  bad.send(frame_bytes(wire::FrameType::kJoin, "mallory"));
  ASSERT_TRUE(alice_->wait_for_line("mallory joined"));
  std::string header = frame_bytes(wire::FrameType::kData, "");
  for (size_t i = wire::kHeaderSize - 4; i < wire::kHeaderSize; ++i) header[i] = '\xFF';
  bad.send(header);
  EXPECT_TRUE(bad.wait_closed(5000ms));
  EXPECT_TRUE(s_.process->wait_for_err_line("4294967295", 5000ms));
  expect_room_still_works();
}

TEST_F(TcpBadInput, PeerThatVanishesMidFrameIsDroppedAndTheHubGoesOn) {
  RawPeer bad = RawPeer::tcp(s_.port);
  bad.send(frame_bytes(wire::FrameType::kJoin, "mallory"));
  ASSERT_TRUE(alice_->wait_for_line("mallory joined"));
  const std::string whole =
      frame_bytes(wire::FrameType::kData, std::string("\0", 1) + "half a message");
  bad.send(whole.substr(0, whole.size() / 2));
  bad.close();
  EXPECT_TRUE(alice_->wait_for_line("mallory was dropped"));
  EXPECT_TRUE(s_.process->wait_for_err_line("mid-frame", 5000ms));
  expect_room_still_works();
}

}  // namespace
}  // namespace chat::testing
