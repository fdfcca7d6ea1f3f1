#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
