// Plain-text peers against the real `chat` binary: what nc, telnet and the course's Python client
// send and get back, byte for byte, over raw loopback sockets.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/wire/text_codec.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_peer.h"
#include "tests/support/udp_peers.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

ServerProcess server(std::vector<std::string> args) {
  auto s = start_server(kChat, std::move(args));
  if (!s) ADD_FAILURE() << "server did not announce its port";
  return s ? std::move(*s) : ServerProcess{};
}

std::unique_ptr<ChildProcess> client(uint16_t port, const std::string& name,
                                     const std::string& transport = "tcp") {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{kChat, "client", "--transport", transport, "--host", "127.0.0.1",
                               "--port", std::to_string(port), "--name", name});
}

std::string repeat(std::string_view piece, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += piece;
  return out;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

// After the expected bytes, nothing more may come: an echo adds no newline of its own.
void expect_nothing_more(RawPeer& raw) {
  EXPECT_EQ(raw.read_bytes(1, 400ms), "");
}

TEST(TextPeer, Utf8SplitAcrossTwoSegmentsIsEchoedWhole) {
  auto s = server({"--mode", "echo"});
  RawPeer raw = RawPeer::tcp(s.port);
  ASSERT_TRUE(raw.valid());
  // Twenty 中 (three bytes each), no newline, cut one byte into the eleventh character.
  const std::string text = repeat("中", 20);
  for (const auto gap : {1ms, 20ms}) {
    ASSERT_TRUE(raw.send(text.substr(0, 31)));
    std::this_thread::sleep_for(gap);
    ASSERT_TRUE(raw.send(text.substr(31)));
    const std::string back = raw.read_bytes(text.size(), 5000ms);
    EXPECT_EQ(back, text) << "gap " << gap.count() << " ms";
    EXPECT_TRUE(wire::is_valid_utf8(back));
  }
  expect_nothing_more(raw);
}

TEST(TextPeer, Utf8SplitAcrossTwoSegmentsReachesTheHubWhole) {
  auto s = server({"--mode", "hub"});
  auto alice = client(s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  RawPeer raw = RawPeer::tcp(s.port);
  ASSERT_TRUE(raw.valid());
  ASSERT_TRUE(raw.wait_for("welcome", 5000ms));
  const std::string text = repeat("中", 20);
  ASSERT_TRUE(raw.send(text.substr(0, 31)));
  std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(raw.send(text.substr(31)));
  auto heard = alice->wait_for_line("中");
  ASSERT_TRUE(heard);
  EXPECT_NE(heard->find(": " + text), std::string::npos) << *heard;
  EXPECT_EQ(heard->find("\xEF\xBF\xBD"), std::string::npos) << "U+FFFD in " << *heard;
}

TEST(TextPeer, LineLongerThanTheLimitIsEchoedWholeThroughNc) {
  // The command from the bug report, through netcat itself.
  auto s = server({"--mode", "echo"});
  ChildProcess sh({"/bin/sh", "-c",
                   "python3 -c \"print('z'*70000)\" | nc -q1 127.0.0.1 " + std::to_string(s.port) +
                       " | wc -c"});
  auto count = sh.read_line(15000ms);
  ASSERT_TRUE(count);
  EXPECT_EQ(std::stoul(*count), 70001u);
  EXPECT_EQ(sh.wait_exit(5000ms), 0);
}

TEST(TextPeer, LineLongerThanTheLimitIsEchoedByteForByte) {
  auto s = server({"--mode", "echo"});
  RawPeer raw = RawPeer::tcp(s.port);
  ASSERT_TRUE(raw.valid());
  // Multi-byte characters, so a cut at the limit would land inside one if it were careless.
  const std::string line = "a" + repeat("中", 30000) + "\n";
  ASSERT_TRUE(raw.send(line));
  const std::string back = raw.read_bytes(line.size(), 10000ms);
  EXPECT_EQ(back.size(), line.size());
  EXPECT_TRUE(back == line);
  expect_nothing_more(raw);
}

TEST(TextPeer, LineLongerThanTheLimitReachesTheHubInPiecesWithNothingLost) {
  auto s = server({"--mode", "hub"});
  auto alice = client(s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  RawPeer raw = RawPeer::tcp(s.port);
  ASSERT_TRUE(raw.valid());
  ASSERT_TRUE(raw.wait_for("welcome", 5000ms));
  ASSERT_TRUE(raw.send(std::string(70000, 'z') + "\n"));
  size_t zs = 0;
  while (zs < 70000) {
    auto line = alice->wait_for_line("zzz", 5000ms);
    if (!line) break;
    zs += line->size() - line->find_first_of('z');
  }
  EXPECT_EQ(zs, 70000u);
}

TEST(TextPeer, AUdpDatagramTooBigToRelayIsRefusedWithAReplyNotDroppedSilently) {
  auto s = server({"--mode", "hub", "--transport", "udp"});
  auto alice = client(s.port, "alice", "udp");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  RawPeer raw = RawPeer::udp(s.port);
  ASSERT_TRUE(raw.valid());
  ASSERT_TRUE(join_as_text(raw));
  ASSERT_TRUE(raw.send("hi\n"));
  ASSERT_TRUE(alice->wait_for_line(": hi"));
  // Fits one datagram from nc -u, but not once framed and labelled for alice.
  ASSERT_TRUE(raw.send(std::string(65470, 'y')));
  auto told = raw.wait_for("reached 0 of the 1 others", 5000ms);
  ASSERT_TRUE(told);
  EXPECT_NE(told->find("65470 bytes"), std::string::npos) << *told;
}

TEST(TextPeer, AMessageOfExactlyTheLimitIsNotRefused) {
  auto s = server({"--mode", "echo", "--max-payload", "65536"});
  auto c = client(s.port, "alice");
  const std::string line(65536, 'x');
  c->write_stdin(line + "\n");
  c->close_stdin();
  auto back = c->read_line(5000ms);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size(), line.size());
  EXPECT_EQ(c->wait_exit(5000ms), 0);
  EXPECT_FALSE(c->wait_for_err_line("exceeds", 200ms));
}

TEST(TextPeer, EchoGivesBackExactlyTheBytesItGot) {
  auto s = server({"--mode", "echo"});
  RawPeer raw = RawPeer::tcp(s.port);
  ASSERT_TRUE(raw.valid());
  // The course's client: no newline at all.
  ASSERT_TRUE(raw.send("hello"));
  EXPECT_EQ(raw.read_bytes(5, 5000ms), "hello");
  expect_nothing_more(raw);
  ASSERT_TRUE(raw.send("line\r\n"));
  EXPECT_EQ(raw.read_bytes(6, 5000ms), "line\r\n");
  ASSERT_TRUE(raw.send("one\ntwo\n"));
  EXPECT_EQ(raw.read_bytes(8, 5000ms), "one\ntwo\n");
  expect_nothing_more(raw);
}

TEST(TextPeer, EchoWithTheCoursesReplyPrefix) {
  auto s = server({"--mode", "echo", "--reply-prefix", "收到: "});
  RawPeer raw = RawPeer::tcp(s.port);
  ASSERT_TRUE(raw.valid());
  ASSERT_TRUE(raw.send("hello"));
  const std::string want = "收到: hello";
  EXPECT_EQ(raw.read_bytes(want.size(), 5000ms), want);
  expect_nothing_more(raw);
}

TEST(TextPeer, UdpEchoGivesBackTheDatagramAsItCame) {
  auto s = server({"--mode", "echo", "--transport", "udp"});
  RawPeer raw = RawPeer::udp(s.port);
  ASSERT_TRUE(raw.valid());
  // An echo that answered any address would bounce between two echo servers for ever, given one
  // forged datagram: the address is checked first, as in the hub.
  ASSERT_TRUE(join_as_text(raw, "hi echo\n"));
  ASSERT_TRUE(raw.send("hello"));
  EXPECT_EQ(raw.read_bytes(5, 5000ms), "hello");
  ASSERT_TRUE(raw.send("again\n"));
  EXPECT_EQ(raw.read_bytes(6, 5000ms), "again\n");
  expect_nothing_more(raw);
}

// --- a text peer in the hub: names, commands, leaving ---

class TextPeerInHub : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = server({"--mode", "hub"});
    ASSERT_NE(s_.port, 0);
    alice_ = client(s_.port, "alice");
    ASSERT_TRUE(alice_->wait_for_line("welcome alice"));
    raw_ = std::make_unique<RawPeer>(RawPeer::tcp(s_.port));
    ASSERT_TRUE(raw_->valid());
    ASSERT_TRUE(raw_->wait_for("welcome", 5000ms));
    ASSERT_TRUE(alice_->wait_for_line("joined"));
  }
  ServerProcess s_;
  std::unique_ptr<ChildProcess> alice_;
  std::unique_ptr<RawPeer> raw_;
};

TEST_F(TextPeerInHub, ChoosesANameWithSlashNameOrSlashNick) {
  raw_->send("/name carol\n");
  EXPECT_TRUE(alice_->wait_for_line("is now known as carol"));
  EXPECT_TRUE(raw_->wait_for("is now known as carol", 5000ms));
  raw_->send("hi from carol\n");
  EXPECT_TRUE(alice_->wait_for_line("carol: hi from carol"));
  raw_->send("/nick dave\n");
  EXPECT_TRUE(alice_->wait_for_line("carol is now known as dave"));
  raw_->send("/who\n");
  auto who = raw_->wait_for("here:", 5000ms);
  ASSERT_TRUE(who);
  EXPECT_NE(who->find("alice, dave"), std::string::npos) << *who;
  // A name already taken gets a suffix rather than two people answering to it.
  raw_->send("/name alice\n");
  EXPECT_TRUE(alice_->wait_for_line("dave is now known as alice#2"));
}

TEST_F(TextPeerInHub, HelpAndStatsAreAnsweredNotBroadcast) {
  raw_->send("/help\n");
  auto help = raw_->wait_for("/name", 5000ms);
  ASSERT_TRUE(help);
  EXPECT_NE(help->find("/stats"), std::string::npos) << *help;
  raw_->send("/stats\n");
  auto stats = raw_->wait_for("you sent", 5000ms);
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->find("2 in the room"), std::string::npos) << *stats;
  raw_->send("after the commands\n");
  ASSERT_TRUE(alice_->wait_for_line("after the commands"));
  EXPECT_FALSE(any_contains(alice_->seen_lines(), "/help"));
  EXPECT_FALSE(any_contains(alice_->seen_lines(), "/stats"));
}

TEST_F(TextPeerInHub, QuitGetsByeAndTheConnectionIsClosedNotLeftHalfOpen) {
  raw_->send("q\n");
  EXPECT_TRUE(raw_->wait_for("bye", 5000ms));
  EXPECT_TRUE(raw_->wait_closed(5000ms));
  // Closed for good: what we write now is answered with a reset at once (a half-open link
  // would take it silently until its linger ran out, a second later).
  raw_->send("still there?\n");
  EXPECT_TRUE(raw_->wait_reset(700ms));
  EXPECT_TRUE(alice_->wait_for_line("left"));
}

TEST(TextPeerUdp, ASilentTextMemberExpiresAfterTextExpiryMs) {
  auto s = server(
      {"--mode", "hub", "--transport", "udp", "--text-expiry-ms", "300", "--heartbeat-ms", "100"});
  ASSERT_NE(s.port, 0);
  auto alice = client(s.port, "alice", "udp");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  RawPeer raw = RawPeer::udp(s.port);
  ASSERT_TRUE(raw.valid());
  ASSERT_TRUE(join_as_text(raw));
  raw.send("hello from nc -u\n");
  ASSERT_TRUE(alice->wait_for_line("hello from nc -u"));
  auto gone = alice->wait_for_line("timed out", 5000ms);
  ASSERT_TRUE(gone);
  EXPECT_NE(gone->find("127.0.0.1:"), std::string::npos) << *gone;
}

TEST(ServerHelp, DocumentsTheTextExpiryFlag) {
  ChildProcess help({kChat, "server", "--help"});
  EXPECT_TRUE(help.wait_for_line("--text-expiry-ms"));
  EXPECT_EQ(help.wait_exit(5000ms), 0);
}

}  // namespace
}  // namespace chat::testing
