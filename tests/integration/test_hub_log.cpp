// The server's own log against hostile peers: what they chose is shown, never obeyed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

TEST(HubLog, WhatAPeerChoseIsNeutralisedBeforeItReachesTheLog) {
  // The transport logs a refused joiner's name as the JOIN carried it: the log itself must make
  // an escape sequence harmless, or a name retitles and clears the operator's terminal.
  auto started = start_server(kChat, {"--mode", "hub", "--max-clients", "1"});
  ASSERT_TRUE(started);
  ServerProcess s = std::move(*started);
  ChildProcess first({kChat, "client", "--transport", "tcp", "--host", "127.0.0.1", "--port",
                      std::to_string(s.port), "--name", "first"});
  ASSERT_TRUE(first.wait_for_line("welcome first", 10000ms));
  ChildProcess hostile({kChat, "client", "--transport", "tcp", "--host", "127.0.0.1", "--port",
                        std::to_string(s.port), "--name", "\x1b]0;LOGPWN\x07\x1b[2Jlogger"});
  const auto line = s.process->wait_for_err_line("refusing", 10000ms);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->find('\x1b'), std::string::npos) << *line;
  EXPECT_EQ(line->find('\x07'), std::string::npos) << *line;
  EXPECT_NE(line->find("^[]0;LOGPWN^G^[[2Jlogger"), std::string::npos) << *line;
}

}  // namespace
}  // namespace chat::testing
