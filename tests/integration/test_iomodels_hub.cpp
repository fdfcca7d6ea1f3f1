// The teaching servers (`chat server --io threads|select|poll`) and the lockstep client, as the
// real binary: the same clients as the epoll hub, framed and plain text, in one room.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/raw_peer.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

std::unique_ptr<ChildProcess> client(uint16_t port, const std::string& name) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      kChat, "client", "--port", std::to_string(port), "--name", name, "--linger", "300", "-q"});
}

class HubUnder : public ::testing::TestWithParam<std::string> {};

TEST_P(HubUnder, FramedAndTextPeersShareTheRoom) {
  auto s = start_server(kChat, {"--io", GetParam(), "--bind", "127.0.0.1"});
  ASSERT_TRUE(s) << "server did not announce its port";
  auto alice = client(s->port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice", 5000ms));
  RawPeer nc = RawPeer::tcp(s->port);
  ASSERT_TRUE(nc.valid());
  // A silent text peer is admitted after the sniff timeout, like telnet on the epoll hub.
  ASSERT_TRUE(nc.wait_for("welcome", 3000ms));
  ASSERT_TRUE(alice->wait_for_line("joined (2 here)", 3000ms));
  alice->write_stdin("hello from alice\n");
  auto heard = nc.wait_for("hello from alice", 3000ms);
  ASSERT_TRUE(heard);
  EXPECT_NE(heard->find("alice: "), std::string::npos) << *heard;
  ASSERT_TRUE(nc.send("hi from nc\n"));
  EXPECT_TRUE(alice->wait_for_line("hi from nc", 3000ms));
  // The course's `q` leaves; the room hears it.
  ASSERT_TRUE(nc.send("q\n"));
  EXPECT_TRUE(alice->wait_for_line("left (1 here)", 3000ms));
  EXPECT_TRUE(nc.wait_closed(3000ms));
  alice->close_stdin();
  EXPECT_EQ(alice->wait_exit(5000ms), 0);
  s->process->signal(SIGTERM);
  EXPECT_EQ(s->process->wait_exit(5000ms), 0);
}

TEST_P(HubUnder, MalformedFrameDropsOnlyThatPeer) {
  auto s = start_server(kChat, {"--io", GetParam(), "--bind", "127.0.0.1"});
  ASSERT_TRUE(s);
  auto alice = client(s->port, "alice");
  ASSERT_TRUE(alice->wait_for_line("welcome alice", 5000ms));
  RawPeer bad = RawPeer::tcp(s->port);
  // The magic, then a version this hub does not speak.
  ASSERT_TRUE(bad.send(std::string("\xF7\x43\x63\x03", 4) + std::string(20, '\0')));
  EXPECT_TRUE(bad.wait_closed(3000ms));
  alice->write_stdin("/who\n");
  EXPECT_TRUE(alice->wait_for_line("here: alice (1 here)", 3000ms));
  alice->close_stdin();
  EXPECT_EQ(alice->wait_exit(5000ms), 0);
}

INSTANTIATE_TEST_SUITE_P(Models, HubUnder, ::testing::Values("threads", "select", "poll"));

TEST(IoModels, OtherThanEpollIsTcpOnlyAndSaysSo) {
  ChildProcess p({kChat, "server", "--io", "select", "--transport", "udp", "--port", "0"});
  auto line = p.wait_for_err_line("TCP only", 5000ms);
  EXPECT_TRUE(line);
  EXPECT_EQ(p.wait_exit(5000ms), 2);
}

TEST(IoModels, OtherThanEpollServesTheHubOnly) {
  ChildProcess p({kChat, "server", "--io", "poll", "--mode", "echo", "--port", "0"});
  EXPECT_TRUE(p.wait_for_err_line("hub only", 5000ms));
  EXPECT_EQ(p.wait_exit(5000ms), 2);
}

TEST(Lockstep, SendsALineThenPrintsWhatOneReceiveReturned) {
  auto s = start_server(kChat, {"--mode", "echo", "--bind", "127.0.0.1"});
  ASSERT_TRUE(s);
  ChildProcess c({kChat, "client", "--io", "lockstep", "--port", std::to_string(s->port)});
  c.write_stdin("hello\n");
  EXPECT_TRUE(c.wait_for_line("hello", 5000ms));
  c.close_stdin();
  EXPECT_EQ(c.wait_exit(5000ms), 0);
}

TEST(Lockstep, RefusedConnectionIsOneLineAndExitCode1) {
  // A port nobody listens on: bind one, note it, close it.
  auto s = start_server(kChat, {"--mode", "echo", "--bind", "127.0.0.1"});
  ASSERT_TRUE(s);
  const uint16_t port = s->port;
  s->process->signal(SIGTERM);
  ASSERT_TRUE(s->process->wait_exit(5000ms));
  ChildProcess c({kChat, "client", "--io", "lockstep", "--port", std::to_string(port)});
  EXPECT_TRUE(c.wait_for_err_line("refused", 5000ms));
  EXPECT_EQ(c.wait_exit(5000ms), 1);
}

}  // namespace
}  // namespace chat::testing
