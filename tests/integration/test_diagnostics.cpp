// What the binary says when something is wrong, and how it exits: one clear line each, naming
// the same things the rest of its output names.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "src/net/socket.h"
#include "tests/support/child_process.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

std::unique_ptr<ChildProcess> client(const std::string& transport, uint16_t port,
                                     const std::string& name) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      kChat, "client", "--transport", transport, "--host", "127.0.0.1", "--port",
      std::to_string(port), "--name", name, "--timeout", "2000"});
}

std::vector<std::string> err_lines(ChildProcess& p) {
  while (p.read_err_line(300ms)) {
  }
  return p.seen_err_lines();
}

TEST(Diagnostics, APipedClientExitsOneAndCountsWhatWasNotSent) {
  auto s = start_server(kChat, {"--mode", "echo", "--transport", "udp"});
  ASSERT_TRUE(s);
  auto c = client("udp", s->port, "alice");
  // The middle line cannot fit one UDP datagram.
  c->write_stdin("small\n" + std::string(70000, 'x') + "\nlast\n");
  c->close_stdin();
  EXPECT_TRUE(c->wait_for_line("small"));
  EXPECT_TRUE(c->wait_for_line("last"));
  EXPECT_EQ(c->wait_exit(5000ms), 1);
  const auto lines = err_lines(*c);
  bool counted = false;
  for (const auto& l : lines) counted |= l.find("not sent: 1 of 3 messages") != std::string::npos;
  EXPECT_TRUE(counted) << ::testing::PrintToString(lines);
}

TEST(Diagnostics, ATcpClientAtSomethingElseSaysOnceThatItDoesNotSpeakChat) {
  auto listener = net::listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  const uint16_t port = net::local_address(listener->get()).port();
  const int lfd = listener->get();
  // A web server, as far as the client can tell.
  std::thread web([lfd] {
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    net::Fd conn(::accept(lfd, nullptr, nullptr));
    const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    (void)!::send(conn.get(), reply, sizeof reply - 1, MSG_NOSIGNAL);
    char buf[256];
    p = {conn.get(), POLLIN, 0};
    ::poll(&p, 1, 3000);  // hold the line until the client has read and gone
    (void)!::recv(conn.get(), buf, sizeof buf, 0);
  });
  auto c = client("tcp", port, "alice");
  c->close_stdin();
  EXPECT_EQ(c->wait_exit(5000ms), 1);
  web.join();
  const auto lines = err_lines(*c);
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(lines);
  EXPECT_NE(lines[0].find("does not speak chat"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("HTTP/1.1 400"), std::string::npos) << lines[0];
}

TEST(Diagnostics, AUdpClientAtATcpOnlyPortIsAskedAboutTheTransport) {
  // The UDP port with the TCP server's number must be closed, or a UDP socket of a test running
  // beside this one answers instead of the kernel's port unreachable. So the number comes from a
  // UDP bind, held until the TCP server listens on it.
  std::unique_ptr<ChildProcess> s;
  uint16_t port = 0;
  for (int attempt = 0; attempt < 5 && !s; ++attempt) {
    auto udp = net::bind_udp("0.0.0.0", 0);
    ASSERT_TRUE(udp.ok());
    port = net::local_address(udp->get()).port();
    s = std::make_unique<ChildProcess>(std::vector<std::string>{
        kChat, "server", "--mode", "hub", "--transport", "tcp", "--port", std::to_string(port)});
    if (!s->wait_for_err_line("listening on", 5000ms)) s.reset();  // that TCP port was taken
  }
  ASSERT_TRUE(s);
  auto c = client("udp", port, "alice");
  c->close_stdin();
  EXPECT_EQ(c->wait_exit(5000ms), 1);
  auto err = c->wait_for_err_line("port unreachable", 1000ms);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("is the server running with --transport udp?"), std::string::npos) << *err;
}

TEST(Diagnostics, ABusyPortIsNamedAsTheListeningLineNamesIt) {
  auto first = start_server(kChat, {"--mode", "hub"});
  ASSERT_TRUE(first);
  const auto listening = first->process->seen_err_lines().back();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(listening, m, std::regex(R"(listening on tcp (\S+))")))
      << listening;
  const std::string address = m[1];
  ChildProcess second({kChat, "server", "--mode", "hub", "--port", std::to_string(first->port)});
  EXPECT_EQ(second.wait_exit(5000ms), 1);
  auto err = second.wait_for_err_line("cannot bind", 1000ms);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("cannot bind " + address), std::string::npos) << *err << " vs " << address;
}

TEST(Diagnostics, TheServerLogNamesEachPeerOnceWithOneReason) {
  for (const std::string wire : {"tcp", "udp"}) {
    auto s = start_server(kChat, {"--mode", "echo", "--transport", wire});
    ASSERT_TRUE(s);
    auto c = client(wire, s->port, "alice");
    c->write_stdin("hi\n");
    c->close_stdin();
    EXPECT_EQ(c->wait_exit(5000ms), 0);
    auto left = s->process->wait_for_err_line("left", 5000ms);
    ASSERT_TRUE(left) << wire;
    EXPECT_NE(left->find("alice left"), std::string::npos) << wire << ": " << *left;
    EXPECT_EQ(left->find("peer "), std::string::npos) << wire << ": " << *left;

    auto hub = start_server(kChat, {"--mode", "hub", "--transport", wire});
    ASSERT_TRUE(hub);
    auto bob = client(wire, hub->port, "bob");
    ASSERT_TRUE(bob->wait_for_line("welcome bob"));
    bob->write_stdin("q\n");
    EXPECT_EQ(bob->wait_exit(5000ms), 0);
    auto gone = hub->process->wait_for_err_line("bob left", 5000ms);
    ASSERT_TRUE(gone) << wire;
    EXPECT_EQ(gone->find('['), std::string::npos) << wire << ": " << *gone;
    EXPECT_EQ(gone->find("left: left"), std::string::npos) << wire << ": " << *gone;
  }
}

}  // namespace
}  // namespace chat::testing
