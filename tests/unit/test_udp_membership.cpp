#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <set>

#include "transports/udp/membership.h"

namespace chat::udp {
namespace {

using namespace std::chrono_literals;

net::SocketAddress v4(uint32_t host, uint16_t port) {
  net::SocketAddress a;
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(host);
  in->sin_port = htons(port);
  a.length = sizeof(sockaddr_in);
  return a;
}

const TimePoint t0 = TimePoint{} + 1000s;

TEST(UdpMembership, JoinAssignsIdsFromOne) {
  Membership m;
  auto a = m.join(v4(0x7F000001, 1000), "alice", false, t0);
  auto b = m.join(v4(0x7F000001, 1001), "bob", false, t0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, 1u);
  EXPECT_EQ(*b, 2u);
  EXPECT_EQ(m.size(), 2u);
}

TEST(UdpMembership, RepeatedJoinKeepsTheMember) {
  Membership m;
  auto a = m.join(v4(0x7F000001, 1000), "alice", false, t0);
  auto again = m.join(v4(0x7F000001, 1000), "alice", false, t0 + 1s);
  EXPECT_EQ(*a, *again);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.find(*a)->last_heard, t0 + 1s);
}

TEST(UdpMembership, RefusesPastTheLimit) {
  Membership m({.max_members = 2});
  EXPECT_TRUE(m.join(v4(1, 1), "a", false, t0));
  EXPECT_TRUE(m.join(v4(1, 2), "b", false, t0));
  EXPECT_TRUE(m.full());
  EXPECT_FALSE(m.join(v4(1, 3), "c", false, t0));
  // A member already in is not refused by a repeated join.
  EXPECT_TRUE(m.join(v4(1, 1), "a", false, t0));
  m.leave(1);
  EXPECT_TRUE(m.join(v4(1, 3), "c", false, t0));
}

TEST(UdpMembership, HeartbeatKeepsAlive) {
  Membership m({.expiry = 5000ms});
  const PeerId id = *m.join(v4(1, 1), "a", false, t0);
  EXPECT_TRUE(m.touch(id, t0 + 4s));
  EXPECT_TRUE(m.expire(t0 + 8s).empty());
  EXPECT_EQ(m.next_expiry(), t0 + 9s);
  auto gone = m.expire(t0 + 9s);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].id, id);
  EXPECT_EQ(gone[0].name, "a");
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.touch(id, t0 + 10s));
}

TEST(UdpMembership, ExpiryUsesTextExpiryForTextMembers) {
  Membership m({.expiry = 5000ms, .text_expiry = 60000ms});
  const PeerId framed = *m.join(v4(1, 1), "a", false, t0);
  const PeerId text = *m.join(v4(1, 2), "1.0.0.1:2", true, t0);
  auto gone = m.expire(t0 + 6s);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].id, framed);
  EXPECT_NE(m.find(text), nullptr);
  gone = m.expire(t0 + 61s);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].id, text);
}

TEST(UdpMembership, NoSilenceCountsFromBeforeTheHeardByFloor) {
  // The hub passes the moment the kernel last dropped datagrams for want of buffer: what a
  // member sent before then may be among them.
  Membership m({.expiry = 5000ms});
  const PeerId id = *m.join(v4(1, 1), "a", false, t0);
  EXPECT_TRUE(m.expire(t0 + 6s, t0 + 2s).empty());
  auto gone = m.expire(t0 + 7s, t0 + 2s);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].id, id);
}

TEST(UdpMembership, LeaveRemovesBothIndexes) {
  Membership m;
  const PeerId a = *m.join(v4(1, 1), "a", false, t0);
  const PeerId b = *m.join(v4(1, 2), "b", false, t0);
  const PeerId c = *m.join(v4(1, 3), "c", false, t0);
  auto left = m.leave(a);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->name, "a");
  EXPECT_FALSE(m.leave(a));
  EXPECT_EQ(m.find(a), nullptr);
  EXPECT_EQ(m.find(v4(1, 1)), nullptr);
  // The member moved into the freed slot is still found both ways.
  EXPECT_EQ(m.find(c)->name, "c");
  EXPECT_EQ(m.find(v4(1, 3))->id, c);
  EXPECT_EQ(m.find(v4(1, 2))->id, b);
}

TEST(UdpMembership, IdsAreNeverReused) {
  Membership m;
  std::set<PeerId> seen;
  for (int round = 0; round < 100; ++round) {
    const PeerId id = *m.join(v4(1, 1), "a", false, t0);
    EXPECT_TRUE(seen.insert(id).second);
    m.leave(id);
  }
  const PeerId id = *m.join(v4(1, 1), "a", false, t0);
  EXPECT_EQ(id, 101u);
}

TEST(UdpMembership, LookupsAtTenThousandMembers) {
  Membership m;
  for (uint32_t i = 0; i < 10000; ++i)
    ASSERT_TRUE(m.join(v4(0x0A000000 + i, static_cast<uint16_t>(i)), "m", false, t0));
  // Remove every third to exercise the moved-slot bookkeeping, then check every survivor.
  for (PeerId id = 1; id <= 10000; id += 3) ASSERT_TRUE(m.leave(id));
  for (uint32_t i = 0; i < 10000; ++i) {
    const PeerId id = i + 1;
    const Member* by_addr = m.find(v4(0x0A000000 + i, static_cast<uint16_t>(i)));
    if ((id - 1) % 3 == 0) {
      EXPECT_EQ(by_addr, nullptr);
      EXPECT_EQ(m.find(id), nullptr);
    } else {
      ASSERT_NE(by_addr, nullptr);
      EXPECT_EQ(by_addr->id, id);
      EXPECT_EQ(m.find(id), by_addr);
    }
  }
}

}  // namespace
}  // namespace chat::udp
