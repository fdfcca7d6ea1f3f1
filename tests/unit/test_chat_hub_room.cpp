#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "src/chat/chat_command.h"
#include "src/chat/client_session.h"
#include "src/chat/hub_room.h"
#include "tests/support/memory_transport.h"

namespace chat {
namespace {

using ::testing::Contains;
using testing::MemoryTransport;

class HubRoomTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(transport_.start(room_.callbacks()).ok()); }
  MemoryTransport transport_;
  HubRoom room_{transport_};
};

TEST_F(HubRoomTest, WelcomesAndAnnouncesWithTheRoomSize) {
  transport_.connect(1, "alice");
  transport_.connect(2, "bob");
  EXPECT_EQ(transport_.lines_to(1),
            (std::vector<std::string>{"*** welcome alice (1 here)", "*** bob joined (2 here)"}));
  EXPECT_EQ(transport_.lines_to(2),
            (std::vector<std::string>{"*** welcome bob; with alice (2 here)"}));
}

TEST_F(HubRoomTest, ALargeRoomStopsAnnouncingArrivalsAndShortensTheWelcome) {
  for (PeerId id = 1; id <= 1000; ++id) transport_.connect(id, "m" + std::to_string(id));
  EXPECT_THAT(transport_.lines_to(1), Contains("*** m1000 joined (1000 here)"));
  transport_.sent.clear();
  transport_.connect(1001, "late");
  EXPECT_TRUE(transport_.lines_to(1).empty());
  const auto welcome = transport_.lines_to(1001);
  ASSERT_EQ(welcome.size(), 1u);
  EXPECT_NE(welcome[0].find("m20 and 980 more (1001 here)"), std::string::npos) << welcome[0];
  transport_.say(1001, "hello");
  EXPECT_EQ(transport_.lines_to(1), (std::vector<std::string>{"late: hello"}));
}

TEST_F(HubRoomTest, RelaysToEveryoneButTheSenderLabelledWithTheName) {
  transport_.connect(1, "alice");
  transport_.connect(2, "bob");
  transport_.connect(3, "carol");
  transport_.sent.clear();
  transport_.say(1, "hi all");
  EXPECT_TRUE(transport_.lines_to(1).empty());
  EXPECT_EQ(transport_.lines_to(2), (std::vector<std::string>{"alice: hi all"}));
  EXPECT_EQ(transport_.lines_to(3), (std::vector<std::string>{"alice: hi all"}));
}

TEST_F(HubRoomTest, QuitClosesThePeerAndTellsTheOthers) {
  transport_.connect(1, "alice");
  transport_.connect(2, "bob");
  transport_.sent.clear();
  transport_.say(2, "q");
  EXPECT_EQ(room_.members(), 1u);
  EXPECT_EQ(transport_.lines_to(1), (std::vector<std::string>{"*** bob left (1 here)"}));
}

TEST_F(HubRoomTest, TimeoutsAndErrorsAreNamedInTheNotice) {
  transport_.connect(1, "alice");
  transport_.connect(2, "bob");
  transport_.connect(3, "carol");
  transport_.sent.clear();
  transport_.drop(2, DownReason::kTimedOut, "silent for 5 s");
  transport_.drop(3, DownReason::kError, "bad magic byte 0x41");
  EXPECT_EQ(transport_.lines_to(1),
            (std::vector<std::string>{"*** bob timed out (2 here)",
                                      "*** carol was dropped (bad magic byte 0x41) (1 here)"}));
}

TEST_F(HubRoomTest, DuplicateAndHostileNamesAreMadeSafe) {
  transport_.connect(1, "alice");
  transport_.connect(2, "alice");
  transport_.connect(3, "\x1b[31mred");
  transport_.sent.clear();
  transport_.say(2, "who am i");
  transport_.say(3, "x\x1b]0;pwned\x07");
  EXPECT_THAT(transport_.lines_to(1), Contains("alice#2: who am i"));
  EXPECT_THAT(transport_.lines_to(1), Contains("^[[31mred: x^[]0;pwned^G"));
}

TEST_F(HubRoomTest, ANameAtTheLabelLimitKeepsItsSuffix) {
  // A label carries at most 32 bytes: the suffix must fit inside them or two members look alike.
  const std::string full(32, 'n');
  transport_.connect(1, full);
  transport_.connect(2, full);
  transport_.connect(3, full + "more");
  transport_.sent.clear();
  transport_.say(2, "hi");
  transport_.say(3, "yo");
  const std::string second = std::string(30, 'n') + "#2";
  const std::string third = std::string(30, 'n') + "#3";
  EXPECT_THAT(transport_.lines_to(1), Contains(second + ": hi"));
  EXPECT_THAT(transport_.lines_to(1), Contains(third + ": yo"));
  transport_.sent.clear();
  transport_.say(1, "/who");
  EXPECT_EQ(transport_.lines_to(1), (std::vector<std::string>{"*** here: " + full + ", " + second +
                                                              ", " + third + " (3 here)"}));
}

TEST_F(HubRoomTest, InvisibleAndDirectionOverrideCharactersAreShownVisibly) {
  transport_.connect(1, "watcher");
  transport_.connect(2, "watcher\u200b");
  transport_.connect(3, "\u202egnp.exe");
  transport_.connect(4, "a\u2066b\ufeffc\u200fd");
  transport_.sent.clear();
  transport_.say(1, "/who");
  EXPECT_EQ(transport_.lines_to(1),
            (std::vector<std::string>{"*** here: watcher, watcher<U+200B>, <U+202E>gnp.exe, "
                                      "a<U+2066>b<U+FEFF>c<U+200F>d (4 here)"}));
  transport_.say(1, "/name watcher\u200d");
  EXPECT_THAT(transport_.lines_to(4),
              Contains("*** watcher is now known as watcher<U+200D> (4 here)"));
}

TEST_F(HubRoomTest, ThousandsOfJoinsUnderOneNameAllGetDistinctNames) {
  // Each join once scanned every member for every suffix tried: cubic in the joins. The times are
  // reported, not checked; the names are.
  constexpr PeerId kJoins = 2500;
  const auto join_all = [&](bool same) {
    MemoryTransport transport;
    HubRoom room{transport};
    EXPECT_TRUE(transport.start(room.callbacks()).ok());
    const auto start = std::chrono::steady_clock::now();
    for (PeerId id = 1; id <= kJoins; ++id)
      transport.connect(id, same ? std::string("x") : "m" + std::to_string(id));
    const auto took = std::chrono::steady_clock::now() - start;
    transport.sent.clear();
    transport.say(1, "/who");
    const auto who = transport.lines_to(1);
    EXPECT_EQ(who.size(), 1u);
    if (same && who.size() == 1) {
      EXPECT_NE(who[0].find("x, x#2, x#3"), std::string::npos);
      EXPECT_NE(who[0].find(", x#2500 (2500 here)"), std::string::npos);
    }
    return std::chrono::duration<double, std::milli>(took).count();
  };
  const double same_ms = join_all(true);
  const double distinct_ms = join_all(false);
  std::printf("%u joins: %.1f ms under one name, %.1f ms under distinct names\n",
              static_cast<unsigned>(kJoins), same_ms, distinct_ms);
}

TEST_F(HubRoomTest, WhoListsTheRoomToTheAskerOnly) {
  transport_.connect(1, "alice");
  transport_.connect(2, "bob");
  transport_.sent.clear();
  transport_.say(2, "/who");
  EXPECT_TRUE(transport_.lines_to(1).empty());
  EXPECT_EQ(transport_.lines_to(2), (std::vector<std::string>{"*** here: alice, bob (2 here)"}));
}

TEST_F(HubRoomTest, RenamesAreAnnouncedAndUsedForWhatFollows) {
  transport_.connect(1, "alice");
  transport_.connect(2, "127.0.0.1:41256", true);
  transport_.sent.clear();
  transport_.say(2, "/name carol");
  transport_.say(2, "hi");
  transport_.say(2, "/nick alice");  // taken: a suffix, not a second alice
  transport_.say(2, "/name " + std::string(40, 'x'));
  EXPECT_EQ(transport_.lines_to(1),
            (std::vector<std::string>{"*** 127.0.0.1:41256 is now known as carol (2 here)",
                                      "carol: hi", "*** carol is now known as alice#2 (2 here)"}));
  EXPECT_THAT(transport_.lines_to(2), Contains("*** a name is at most 32 bytes; you are still "
                                               "alice#2"));
}

TEST_F(HubRoomTest, CommandsAreAnsweredToTheAskerAndNeverRelayed) {
  transport_.connect(1, "alice");
  transport_.connect(2, "bob");
  transport_.sent.clear();
  for (const char* c : {"/help", "/stats", "/frobnicate", " /who "}) transport_.say(2, c);
  EXPECT_TRUE(transport_.lines_to(1).empty());
  const auto to_bob = transport_.lines_to(2);
  ASSERT_EQ(to_bob.size(), 4u);
  EXPECT_NE(to_bob[0].find("/name NICK"), std::string::npos) << to_bob[0];
  EXPECT_NE(to_bob[1].find("you are bob on memory | 2 in the room"), std::string::npos)
      << to_bob[1];
  EXPECT_EQ(to_bob[2], "*** unknown command /frobnicate; /help lists them");
  EXPECT_EQ(to_bob[3], "*** here: alice, bob (2 here)");
  // Slashes that are not commands are chat.
  transport_.say(2, "/usr/bin is big");
  transport_.say(2, "/ shrug");
  EXPECT_EQ(transport_.lines_to(1),
            (std::vector<std::string>{"bob: /usr/bin is big", "bob: / shrug"}));
}

TEST(ChatCommand, ParsesOnlyASlashFollowedByLetters) {
  auto c = parse_chat_command("  /name   bob smith ");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "name");
  EXPECT_EQ(c->arg, "bob smith");
  EXPECT_TRUE(is_rename(*parse_chat_command("/nick x")));
  EXPECT_FALSE(parse_chat_command("/usr/bin"));
  EXPECT_FALSE(parse_chat_command("/"));
  EXPECT_FALSE(parse_chat_command("hello /who"));
  EXPECT_EQ(parse_chat_command("/who\r")->name, "who");
}

TEST(ClientSession, ReadsTheRoomSizeFromNotices) {
  EXPECT_EQ(members_from_notice("bob joined (3 here)"), 3);
  EXPECT_EQ(members_from_notice("welcome alice; with bob (12 here)"), 12);
  EXPECT_EQ(members_from_notice("hello (not a count)"), -1);
  EXPECT_EQ(members_from_notice("nothing"), -1);
}

}  // namespace
}  // namespace chat
