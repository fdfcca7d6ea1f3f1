// TcpConnection's queue is cut only between messages: at shutdown the goodbye skips what a peer
// that stopped reading would never read, and the stream it then reads is still whole messages.
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "src/net/event_loop.h"
#include "src/net/fd.h"
#include "transports/tcp/tcp_connection.h"

namespace chat {
namespace {

class TcpBacklog : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    const int small = 16 * 1024;
    ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    conn_ = std::make_unique<TcpConnection>(loop_, 1, net::Fd(fds[0]), "pair", 1024);
    peer_ = net::Fd(fds[1]);
  }

  // Reads what the connection sends, flushing it meanwhile, until it has nothing left queued.
  std::string read_all() {
    std::string got;
    char chunk[64 * 1024];
    for (int i = 0; i < 100000; ++i) {
      EXPECT_EQ(conn_->flush(), 0);
      const ssize_t n = ::read(peer_.get(), chunk, sizeof chunk);
      if (n > 0) got.append(chunk, static_cast<size_t>(n));
      if (n <= 0 && conn_->queued() == 0) break;
    }
    return got;
  }

  static std::string message(char c, size_t size) { return std::string(size - 1, c) + "\n"; }

  net::EventLoop loop_;
  std::unique_ptr<TcpConnection> conn_;
  net::Fd peer_;
};

TEST_F(TcpBacklog, KeepsTheMessageInFlightAndTheLastOneAndDropsWhatIsBetween) {
  const std::string a = message('a', 300 * 1024);  // more than the socket takes: sent in part
  ASSERT_EQ(conn_->write(a), 0);
  ASSERT_GT(conn_->queued(), 0u);
  ASSERT_LT(conn_->queued(), a.size());
  const size_t rest_of_a = conn_->queued();
  const std::string b = message('b', 1000);
  const std::string c = message('c', 2000);
  const std::string bye = message('z', 30);
  conn_->append(b);
  conn_->append(c);
  ASSERT_EQ(conn_->write(bye), 0);  // queued behind the others

  EXPECT_EQ(conn_->drop_backlog(), 2u);
  EXPECT_EQ(conn_->queued(), rest_of_a + bye.size());
  // The peer reads the whole of a, then the goodbye: no message is torn.
  EXPECT_EQ(read_all(), a + bye);
}

TEST_F(TcpBacklog, BoundariesStayRightAfterTheQueueDrainedAndFilledAgain) {
  const std::string a = message('a', 300 * 1024);
  ASSERT_EQ(conn_->write(a), 0);
  ASSERT_EQ(read_all(), a);  // the queue drained
  const std::string fill = message('f', 300 * 1024);
  ASSERT_EQ(conn_->write(fill), 0);
  const std::string b = message('b', 1000);
  const std::string c = message('c', 1000);
  const std::string d = message('d', 1000);
  conn_->append(b);
  conn_->append(c);
  conn_->append(d);
  EXPECT_EQ(conn_->drop_backlog(), 2u);
  EXPECT_EQ(read_all(), fill + d);
}

TEST_F(TcpBacklog, NothingToDropWithTwoMessagesOrFewer) {
  const std::string a = message('a', 300 * 1024);
  ASSERT_EQ(conn_->write(a), 0);
  const std::string bye = message('z', 30);
  conn_->append(bye);
  EXPECT_EQ(conn_->drop_backlog(), 0u);
  EXPECT_EQ(read_all(), a + bye);
}

}  // namespace
}  // namespace chat
