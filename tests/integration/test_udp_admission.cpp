// The UDP hub against what an outsider can send: nobody joins without showing it receives at its
// address, an address that has not shown it gets at most three times the bytes it sent, and a
// datagram that only borrows a member's address (no secret token) changes nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_peer.h"
#include "tests/support/udp_peers.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;
using wire::FrameType;

ServerProcess hub(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--mode", "hub", "--transport", "udp"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto s = start_server(kChat, std::move(args));
  if (!s) ADD_FAILURE() << "server did not announce its port";
  return s ? std::move(*s) : ServerProcess{};
}

std::unique_ptr<ChildProcess> client(uint16_t port, const std::string& name) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      kChat, "client", "--transport", "udp", "--port", std::to_string(port), "--name", name});
}

std::string data_frame(const std::string& text, uint64_t token) {
  wire::Frame f = wire::message_to_frame(Message::chat(text));
  f.token = token;
  return wire::encode_frame(f);
}

TEST(UdpAdmission, ATextStrangerGetsAtMostThreeTimesItsBytesAndNoMembership) {
  auto s = hub();
  auto alice = client(s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  RawPeer raw = RawPeer::udp(s.port);
  ASSERT_TRUE(raw.valid());
  // One byte pays for three: too few for the code line, so nothing at all comes back (the hub
  // used to make it a member and send it every join notice and chat line from then on).
  ASSERT_TRUE(raw.send("x"));
  EXPECT_EQ(raw.read_bytes(1, 500ms), "");
  // A word pays for the line.
  ASSERT_TRUE(raw.send("hello\n"));
  auto line = raw.wait_for("to join", 5000ms);
  ASSERT_TRUE(line);
  EXPECT_TRUE(code_in(*line)) << *line;
  EXPECT_LE(line->size() + 1, 3u * (1 + 6)) << *line;  // the datagram's \n was taken off
  EXPECT_EQ(raw.read_bytes(1, 300ms), "");
  // Not a member: nobody was told it joined, and what the room says does not reach it.
  alice->write_stdin("only for members\n");
  EXPECT_EQ(raw.read_bytes(1, 700ms), "");
  EXPECT_FALSE(alice->wait_for_line("joined", 300ms));
}

TEST(UdpAdmission, AFramedJoinIsAnsweredWithABareChallengeUntilItEchoesTheCookie) {
  auto s = hub();
  auto alice = client(s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  FramedPeer bob("127.0.0.1", s.port);
  ASSERT_TRUE(bob.valid());
  ASSERT_TRUE(bob.send(FrameType::kJoin, "bob", 0));
  auto challenge = bob.wait_for(FrameType::kChallenge, 2000ms);
  ASSERT_TRUE(challenge);
  EXPECT_NE(challenge->token, 0u);
  EXPECT_TRUE(challenge->payload.empty());
  // The answer is no larger than the question: nothing to amplify.
  EXPECT_LE(bob.take_bytes_received(), wire::kHeaderSize + 3);
  // A wrong cookie is challenged again, never welcomed.
  ASSERT_TRUE(bob.send(FrameType::kJoin, "bob", challenge->token + 1));
  auto again = bob.wait_for(FrameType::kChallenge, 2000ms);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->token, challenge->token);
  EXPECT_FALSE(alice->wait_for_line("joined", 300ms));
  // Echoing the cookie admits it, with a secret of its own.
  ASSERT_TRUE(bob.send(FrameType::kJoin, "bob", challenge->token));
  auto welcome = bob.wait_for(FrameType::kWelcome, 2000ms);
  ASSERT_TRUE(welcome);
  EXPECT_NE(welcome->token, 0u);
  EXPECT_NE(welcome->token, challenge->token);
  EXPECT_TRUE(alice->wait_for_line("bob joined"));
}

TEST(UdpAdmission, APlainTextPeerTypesTheCodeItWasSentThenChats) {
  auto s = hub();
  auto alice = client(s.port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice"));
  RawPeer raw = RawPeer::udp(s.port);
  ASSERT_TRUE(raw.valid());
  ASSERT_TRUE(raw.send("hello\n"));
  auto line = raw.wait_for("to join", 5000ms);
  ASSERT_TRUE(line);
  const auto code = code_in(*line);
  ASSERT_TRUE(code) << *line;
  // A wrong code admits nobody.
  ASSERT_TRUE(raw.send(*code == "0000" ? "1111\n" : "0000\n"));
  EXPECT_FALSE(alice->wait_for_line("joined", 500ms));
  // The right one does (line ending or none, as the course's client sends it).
  ASSERT_TRUE(raw.send(*code));
  ASSERT_TRUE(raw.wait_for("welcome", 5000ms));
  ASSERT_TRUE(alice->wait_for_line("joined"));
  ASSERT_TRUE(raw.send("hi from nc -u\n"));
  EXPECT_TRUE(alice->wait_for_line(": hi from nc -u"));
  alice->write_stdin("hi raw\n");
  EXPECT_TRUE(raw.wait_for("alice: hi raw", 5000ms));
  // The code itself was never relayed as chat.
  for (const std::string& seen : alice->seen_lines())
    EXPECT_EQ(seen.find(": " + *code), std::string::npos) << seen;
}

TEST(UdpAdmission, ForgedDataAndLeaveFromAMembersAddressAreDroppedAndCounted) {
  auto s = hub();
  auto bob = client(s.port, "bob");
  ASSERT_TRUE(bob->wait_for_line("welcome bob"));
  FramedPeer alice("127.0.0.1", s.port);
  ASSERT_TRUE(alice.join("alice", 3000ms));
  ASSERT_TRUE(bob->wait_for_line("alice joined"));
  // Datagrams carrying alice's exact address and port, as a blind spoofer would write them.
  const sockaddr_in from = ipv4("127.0.0.1", alice.local_port());
  const sockaddr_in to = ipv4("127.0.0.1", s.port);
  std::string why;
  if (!send_forged_udp4(from, to, data_frame("forged without a token", 0), &why))
    GTEST_SKIP() << "cannot forge a source address here: " << why;
  ASSERT_TRUE(send_forged_udp4(from, to, data_frame("forged with a guess", alice.token() ^ 1)));
  wire::Frame leave;
  leave.type = FrameType::kLeave;
  ASSERT_TRUE(send_forged_udp4(from, to, wire::encode_frame(leave)));
  // Her own frame, sent after the forgeries, arrives after them: once bob has it, the hub has
  // judged all three.
  ASSERT_TRUE(alice.send(FrameType::kData, wire::message_to_frame(Message::chat("real")).payload));
  ASSERT_TRUE(bob->wait_for_line("alice: real"));
  for (const std::string& seen : bob->seen_lines()) {
    EXPECT_EQ(seen.find("forged"), std::string::npos) << seen;
    EXPECT_EQ(seen.find("alice left"), std::string::npos) << seen;
  }
  // Counted in the hub's once-a-second report (possibly over two reports).
  static const std::regex count_re(R"((\d+) without the member's token)");
  int counted = 0;
  const auto until = std::chrono::steady_clock::now() + 5000ms;
  while (counted < 3 && std::chrono::steady_clock::now() < until) {
    auto line = s.process->wait_for_err_line("without the member's token", 1000ms);
    std::smatch m;
    if (line && std::regex_search(*line, m, count_re)) counted += std::stoi(m[1]);
  }
  EXPECT_EQ(counted, 3);
  // She is still in the room and answered.
  EXPECT_TRUE(alice.ping(2000ms));
}

}  // namespace
}  // namespace chat::testing
