// HubCore: the hub's rules the threads, select and poll servers share, over bytes in and out.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/iomodels/hub_core.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"

namespace chat::iomodels {
namespace {

std::string frame(wire::FrameType type, std::string_view payload, uint32_t seq = 0,
                  uint64_t ns = 0) {
  std::string out;
  wire::encode_header(type, 0, seq, ns, static_cast<uint32_t>(payload.size()), out);
  out.append(payload);
  return out;
}

std::string join(std::string_view name) {
  return frame(wire::FrameType::kJoin, name);
}

std::string data_frame(std::string_view text) {
  std::string out;
  wire::encode_message_frame(Message::chat(std::string(text)), 0, 0, 0, out);
  return out;
}

// Decodes and removes every whole frame queued for `id`.
std::vector<wire::Frame> frames_for(HubCore& hub, int id) {
  std::vector<wire::Frame> out;
  std::string* bytes = hub.output(id);
  size_t used = 0;
  for (;;) {
    wire::Frame f;
    const auto r =
        wire::decode_stream(wire::as_bytes(std::string_view(*bytes).substr(used)), 1 << 20, f);
    if (r.status != wire::DecodeStatus::kOk) break;
    used += r.consumed;
    out.push_back(std::move(f));
  }
  bytes->erase(0, used);
  return out;
}

TEST(HubCore, JoinIsWelcomedWithTheMemberIdAndAnnouncedToOthers) {
  HubCore hub;
  hub.add(7, "a");
  ASSERT_TRUE(hub.feed(7, join("alice")));
  auto f = frames_for(hub, 7);
  ASSERT_GE(f.size(), 2u);
  EXPECT_EQ(f[0].type, wire::FrameType::kWelcome);
  EXPECT_EQ(f[0].sender, 7u);
  EXPECT_EQ(f[1].type, wire::FrameType::kNotice);
  EXPECT_EQ(f[1].payload, "welcome alice (1 here)");
  hub.add(9, "b");
  ASSERT_TRUE(hub.feed(9, join("alice")));  // a taken name is made unique
  f = frames_for(hub, 7);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].payload, "alice#2 joined (2 here)");
  EXPECT_EQ(hub.members(), 2u);
}

TEST(HubCore, RelaysToEveryoneButTheSenderInEachOnesTongue) {
  HubCore hub;
  hub.add(1, "a");
  hub.add(2, "127.0.0.1:5000");
  ASSERT_TRUE(hub.feed(1, join("alice")));
  ASSERT_TRUE(hub.feed(2, "hi from nc\n"));  // a text peer: its first byte is not the magic
  frames_for(hub, 1);
  hub.output(2)->clear();
  // A frame split across two reads is put back together.
  const std::string d = data_frame("hello");
  ASSERT_TRUE(hub.feed(1, d.substr(0, 10)));
  EXPECT_TRUE(hub.output(2)->empty());
  ASSERT_TRUE(hub.feed(1, d.substr(10)));
  EXPECT_EQ(*hub.output(2), "alice: hello\n");
  EXPECT_TRUE(frames_for(hub, 1).empty()) << "the sender never hears itself";
  ASSERT_TRUE(hub.feed(2, "back\n"));
  auto f = frames_for(hub, 1);
  ASSERT_EQ(f.size(), 1u);
  auto m = wire::frame_to_message(f[0]);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->from, "127.0.0.1:5000");
  EXPECT_EQ(m->text, "back");
}

TEST(HubCore, PingIsAnsweredWithItsSeqAndTimestamp) {
  HubCore hub;
  hub.add(1, "a");
  ASSERT_TRUE(hub.feed(1, join("alice")));
  frames_for(hub, 1);
  ASSERT_TRUE(hub.feed(1, frame(wire::FrameType::kPing, "", 42, 123456)));
  auto f = frames_for(hub, 1);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, wire::FrameType::kPong);
  EXPECT_EQ(f[0].seq, 42u);
  EXPECT_EQ(f[0].timestamp_ns, 123456u);
}

TEST(HubCore, QuitLeaveAndBadFramesEndOnlyThatClient) {
  HubCore hub;
  for (int id : {1, 2, 3, 4}) hub.add(id, "x");
  ASSERT_TRUE(hub.feed(1, join("a")));
  ASSERT_TRUE(hub.feed(2, join("b")));
  EXPECT_FALSE(hub.feed(3, "q\n")) << "the course's q leaves";
  EXPECT_FALSE(hub.feed(2, frame(wire::FrameType::kLeave, "")));
  EXPECT_FALSE(hub.feed(4, std::string("\xF7\x43\x09\x01", 4) + std::string(20, '\0')))
      << "a version this hub does not speak";
  hub.remove(2, "left");
  hub.remove(3, "left");
  hub.remove(4, "bad frame");
  EXPECT_EQ(hub.members(), 1u);
  EXPECT_FALSE(hub.feed(9, "nobody")) << "an unknown id is refused, not created";
}

TEST(HubCore, DataBeforeJoinIsAProtocolError) {
  HubCore hub;
  hub.add(1, "a");
  EXPECT_FALSE(hub.feed(1, data_frame("too early")));
}

TEST(HubCore, AClientPastTheHighWaterMarkIsGivenUp) {
  HubCore hub({.max_payload = 1 << 16, .high_water_bytes = 4096});
  hub.add(1, "a");
  hub.add(2, "b");
  ASSERT_TRUE(hub.feed(1, join("talker")));
  ASSERT_TRUE(hub.feed(2, join("sleeper")));  // never reads: nothing is taken from its output
  hub.take_closing();
  const std::string d = data_frame(std::string(1000, 'x'));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(hub.feed(1, d));
  EXPECT_EQ(hub.take_closing(), std::vector<int>{2});
  EXPECT_TRUE(hub.output(2)->empty()) << "its queue is dropped, not kept";
}

TEST(HubCore, ASilentConnectionJoinsAsText) {
  HubCore hub;
  hub.add(1, "127.0.0.1:1");
  hub.admit_silent(1);
  EXPECT_EQ(hub.members(), 1u);
  EXPECT_EQ(*hub.output(1), "*** welcome 127.0.0.1:1 (1 here)\n");
  hub.admit_silent(1);  // once only
  EXPECT_EQ(hub.members(), 1u);
}

}  // namespace
}  // namespace chat::iomodels
