// The p2p operator's terminal, through a real pseudo-terminal: readline is on, and a log line that
// arrives while the operator is half-way through a line must not be printed into it.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>

#include "tests/support/raw_peer.h"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kChat = CHAT_BINARY;

// `chat server --mode p2p` on the slave side of a pty; everything it writes (stdout and stderr)
// is read back from the master side.
class PtyServer {
 public:
  PtyServer() {
    pid_ = ::forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      ::setenv("TERM", "xterm", 1);
      const char* argv[] = {kChat.c_str(), "server", "--mode", "p2p", "--port", "0", nullptr};
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
    }
  }
  ~PtyServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }
  bool started() const { return pid_ > 0; }
  void type(const std::string& keys) { (void)!::write(master_, keys.data(), keys.size()); }
  // Reads until `needle` shows up at or after `from` in everything read so far (bounded).
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 5000ms,
                size_t from = 0) {
    const auto deadline = Clock::now() + timeout;
    while (seen_.find(needle, from) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{master_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::read(master_, buf, sizeof buf);
      if (n <= 0) return false;
      seen_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& seen() const { return seen_; }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  std::string seen_;
};

TEST(P2pTerminal, ALogLineIsPrintedAboveTheHalfTypedLineNotIntoIt) {
  PtyServer s;
  ASSERT_TRUE(s.started());
  ASSERT_TRUE(s.wait_for("listening on"));
  ASSERT_TRUE(s.wait_for("\n"));
  std::smatch m;
  const std::string head = s.seen();
  ASSERT_TRUE(std::regex_search(head, m, std::regex(R"(listening on tcp \S+:(\d+))")));
  const uint16_t port = static_cast<uint16_t>(std::stoi(m[1]));

  RawPeer peer = RawPeer::tcp(port);
  ASSERT_TRUE(peer.valid());
  peer.send("hi\n");
  ASSERT_TRUE(s.wait_for(": hi"));
  s.type("half typ");
  ASSERT_TRUE(s.wait_for("half typ"));
  // A second client is refused, and the server logs that while the operator is typing.
  RawPeer second = RawPeer::tcp(port);
  ASSERT_TRUE(second.valid());
  second.send("me too\n");
  ASSERT_TRUE(s.wait_for("refusing"));
  const size_t log_at = s.seen().rfind("refusing");
  // The log line starts on a line of its own...
  const size_t line_start = s.seen().rfind("half typ", log_at);
  ASSERT_NE(line_start, std::string::npos);
  const std::string between = s.seen().substr(line_start + 8, log_at - line_start - 8);
  EXPECT_NE(between.find_first_of("\r\n"), std::string::npos)
      << "log printed into the typed line: " << s.seen().substr(line_start, 80);
  // ...and the half-typed line comes back below it, intact.
  EXPECT_TRUE(s.wait_for("> half typ", 3000ms, log_at)) << s.seen().substr(log_at);
}

}  // namespace
}  // namespace chat::testing
