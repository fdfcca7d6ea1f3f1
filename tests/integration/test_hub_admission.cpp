// The hub against connections that never speak: they are timed out, and when descriptors run out
// the oldest of them makes room, so a silent crowd cannot lock a real client out.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/raw_peer.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

ServerProcess server(std::vector<std::string> args) {
  auto s = start_server(kChat, std::move(args));
  if (!s) ADD_FAILURE() << "server did not announce its port";
  return s ? std::move(*s) : ServerProcess{};
}

// A hub started under a low descriptor limit, as `ulimit -n` in the operator's shell would.
ServerProcess limited_hub(int nofile, const std::string& extra) {
  ServerProcess s;
  s.process = std::make_unique<ChildProcess>(std::vector<std::string>{
      "/bin/sh", "-c",
      "ulimit -n " + std::to_string(nofile) + " && exec \"$0\" server --port 0 --mode hub " + extra,
      kChat});
  auto line = s.process->wait_for_err_line("listening on", 5000ms);
  if (!line) {
    ADD_FAILURE() << "server did not announce its port";
    return s;
  }
  static const std::regex port_re(R"(:(\d+)\b)");
  for (auto it = std::sregex_iterator(line->begin(), line->end(), port_re);
       it != std::sregex_iterator(); ++it)
    s.port = static_cast<uint16_t>(std::stoi((*it)[1]));
  return s;
}

TEST(HubAdmission, ConnectionThatNeverSpeaksIsClosedAfterTheIdleTimeout) {
  auto s = server({"--mode", "hub", "--idle-timeout-ms", "800"});
  ASSERT_NE(s.port, 0);
  RawPeer silent = RawPeer::tcp(s.port);
  RawPeer talker = RawPeer::tcp(s.port);
  ASSERT_TRUE(silent.valid());
  ASSERT_TRUE(talker.valid());
  ASSERT_TRUE(talker.send("hello\n"));
  // The silent one becomes a plain-text member first (telnet waits to be spoken to)...
  ASSERT_TRUE(silent.wait_for("welcome", 5000ms));
  // ...and is closed once it has said nothing for the whole timeout.
  EXPECT_TRUE(silent.wait_closed(10000ms));
  // A peer that spoke is never idle-closed, however long it then listens.
  EXPECT_FALSE(talker.wait_closed(1500ms));
  EXPECT_TRUE(s.process->wait_for_err_line("sent nothing in 800 ms", 5000ms));
}

TEST(HubAdmission, ZeroTurnsTheIdleTimeoutOff) {
  auto s = server({"--mode", "hub", "--idle-timeout-ms", "0"});
  ASSERT_NE(s.port, 0);
  RawPeer silent = RawPeer::tcp(s.port);
  ASSERT_TRUE(silent.valid());
  ASSERT_TRUE(silent.wait_for("welcome", 5000ms));
  EXPECT_FALSE(silent.wait_closed(1500ms));
}

TEST(HubAdmission, SilentCrowdAtTheDescriptorLimitDoesNotLockOutARealClient) {
  // The timeout is off so only the shedding can let the client in.
  auto s = limited_hub(64, "--idle-timeout-ms 0");
  ASSERT_NE(s.port, 0);
  std::vector<RawPeer> crowd;
  for (int i = 0; i < 70; ++i) {
    crowd.push_back(RawPeer::tcp(s.port));
    ASSERT_TRUE(crowd.back().valid());
  }
  // Every descriptor the hub has is taken once the crowd has been accepted and sniffed.
  ASSERT_TRUE(s.process->wait_for_err_line("out of descriptors", 10000ms));

  const auto start = std::chrono::steady_clock::now();
  ChildProcess real({kChat, "client", "--transport", "tcp", "--host", "127.0.0.1", "--port",
                     std::to_string(s.port), "--name", "real"});
  // Without shedding the client waits until the crowd leaves, which here is never.
  ASSERT_TRUE(real.wait_for_line("welcome real", 10000ms));
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::printf("real client admitted %lld ms after it started, past %zu silent connections\n",
              static_cast<long long>(waited.count()), crowd.size());
  // The hub is still serving: the oldest silent connections were the ones closed.
  EXPECT_TRUE(crowd.front().wait_closed(5000ms));
}

}  // namespace
}  // namespace chat::testing
