// The command line as scripts and people meet it: exit statuses, one-line errors that name the
// flag, suggestions, --version; every case runs the real binary.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

struct Outcome {
  std::optional<int> code;
  std::string err;  // every stderr line, joined
  std::string out;
};

Outcome run(std::vector<std::string> args, std::chrono::milliseconds limit = 10000ms) {
  args.insert(args.begin(), kChat);
  ChildProcess p(args);
  p.close_stdin();
  Outcome o;
  o.code = p.wait_exit(limit);
  for (const auto& l : p.drain_lines(1000ms)) o.out += l + "\n";
  while (auto l = p.read_err_line(200ms)) o.err += *l + "\n";
  return o;
}

// A usage error: status 2, as getopt-based tools give, and stderr names what was wrong.
void expect_usage_error(const std::vector<std::string>& args, const std::string& named) {
  const Outcome o = run(args);
  std::string cmd;
  for (const auto& a : args) cmd += " " + a;
  EXPECT_EQ(o.code, 2) << "chat" << cmd << "\n" << o.err;
  EXPECT_NE(o.err.find(named), std::string::npos) << "chat" << cmd << "\n" << o.err;
}

TEST(Cli, BadFlagsAndValuesExitTwoNamingTheFlag) {
  expect_usage_error({"server", "--port", "0", "--bogus"}, "--bogus");
  expect_usage_error({"server", "--port", "abc"}, "--port: 'abc' is not a port number");
  expect_usage_error({"server", "--mode", "relay"}, "--mode");
  expect_usage_error({"server", "--port", "0", "--max-clients", "-3"}, "--max-clients");
  expect_usage_error({"client", "--linger", "abc"}, "--linger");
  expect_usage_error({"client", "--port", "0"}, "--port");
}

TEST(Cli, AMisspeltSubcommandGetsTheNearestOne) {
  expect_usage_error({"clinet"}, "did you mean 'client'?");
  expect_usage_error({"bench", "rt"}, "did you mean 'rtt'?");
  expect_usage_error({"xyzzy"}, "server, client, link, bench, report, demo");
}

TEST(Cli, BareChatListsTheSubcommands) {
  const Outcome o = run({});
  EXPECT_EQ(o.code, 2);
  for (const char* sub : {"server", "client", "bench", "report"})
    EXPECT_NE(o.err.find(std::string("  ") + sub), std::string::npos) << sub << "\n" << o.err;
  const Outcome bench = run({"bench"});
  EXPECT_EQ(bench.code, 2);
  EXPECT_NE(bench.err.find("  rtt"), std::string::npos) << bench.err;
}

TEST(Cli, VersionNamesTheGitRevisionWhenBuiltFromACheckout) {
  const Outcome o = run({"--version"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out.rfind("chat 0.", 0), 0u) << o.out;
  const auto source = std::filesystem::path(CHAT_FIXTURES).parent_path().parent_path();
  if (std::filesystem::exists(source / ".git")) {
    EXPECT_NE(o.out.find("(git "), std::string::npos) << o.out;
  }
}

TEST(Cli, HelpStillExitsZero) {
  EXPECT_EQ(run({"--help"}).code, 0);
  EXPECT_EQ(run({"server", "--help"}).code, 0);
}

TEST(Cli, BenchValidatesTransportsUpFrontInAnyCase) {
  // Refused before anything starts, not after a 10 s wait for a server that could not.
  const Outcome bad = run({"bench", "rtt", "-t", "tcp,quic", "-n", "10"}, 5000ms);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--transport: 'quic' is not one of {tcp,udp,enet}"), std::string::npos)
      << bad.err;
  const auto dir =
      std::filesystem::temp_directory_path() / ("chat_cli_case_" + std::to_string(::getpid()));
  const Outcome upper =
      run({"bench", "rtt", "-t", "TCP", "-n", "50", "-s", "16", "-o", dir.string()}, 30000ms);
  EXPECT_EQ(upper.code, 0) << upper.err;
  EXPECT_NE(upper.out.find("tcp"), std::string::npos) << upper.out;
  std::filesystem::remove_all(dir);
}

TEST(Cli, BenchRefusesASizeOfZero) {
  expect_usage_error({"bench", "rtt", "-s", "0"}, "--size");
  expect_usage_error({"bench", "rtt", "-s", "16,,64"}, "--size");
  expect_usage_error({"bench", "stream", "-s", "abc"}, "--size");
}

}  // namespace
}  // namespace chat::testing
