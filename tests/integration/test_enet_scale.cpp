// ENet at the sizes a room reaches: a burst from every member of a 200-member room arrives whole
// and in order, and a room larger than one ENet host can hold (4,095 peers) is refused up front
// with the reason, by the server and by the fanout bench, instead of found by timeouts.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/transport_harness.h"
#include "transports/transport.h"

namespace chat::testing {
namespace {

const std::string kChat = CHAT_BINARY;

TEST(EnetScale, CapsSayHowManyMembersOneHostHolds) {
  auto enet = transport_caps("enet", TransportConfig{});
  ASSERT_TRUE(enet);
  EXPECT_EQ(enet->max_members, 4095u);
  for (const auto name : {"tcp", "udp"}) {
    auto caps = transport_caps(name, TransportConfig{});
    ASSERT_TRUE(caps);
    EXPECT_EQ(caps->max_members, 0u) << name;
  }
}

TEST(EnetScale, ServerRefusesMoreMembersThanOneHostHolds) {
  ChildProcess p({kChat, "server", "--mode", "hub", "--transport", "enet", "--bind", "127.0.0.1",
                  "--port", "0", "--max-clients", "5000", "-q"});
  p.close_stdin();
  const auto line = p.wait_for_err_line("at most 4095 members", 5000ms);
  ASSERT_TRUE(line) << "no reason given";
  EXPECT_NE(line->find("5000"), std::string::npos) << *line;
  EXPECT_EQ(p.wait_exit(5000ms), 1);
}

TEST(EnetScale, FanoutSaysUpFrontWhenARoomIsLargerThanEnetHolds) {
  char dir_template[] = "/tmp/chat-enet-scale-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  {
    ChildProcess p(
        {kChat, "bench", "fanout", "-t", "enet", "-c", "5000", "-m", "1", "-o", dir.string()});
    p.close_stdin();
    // Refused before any client starts: 5,000 joins would take far longer than this.
    const auto line =
        p.wait_for_line("enet holds at most 4095 members per server; 5000 asked for", 10000ms);
    EXPECT_TRUE(line) << "no line says why the point was skipped";
    EXPECT_EQ(p.wait_exit(10000ms), 0);
  }
  std::filesystem::remove_all(dir);
}

// 200 members each send 3 messages at once through a relay that hands every message to everyone
// else: 119,400 deliveries in one burst, each of which a reliable wire owes.
TEST(EnetScale, EveryDeliveryOfABurstArrivesInOrder) {
  constexpr size_t kMembers = 200;
  constexpr size_t kEach = 3;
  net::EventLoop loop;
  auto server = make_transport("enet", loop, loopback_server_config());
  ASSERT_TRUE(server);
  Transport& hub = **server;
  std::vector<std::string> downs;
  TransportCallbacks hub_cb;
  hub_cb.on_message = [&](PeerId from, Message&& m) { hub.broadcast(m, from); };
  hub_cb.on_peer_down = [&](PeerId id, DownReason r, const std::string& why) {
    downs.push_back(fmt::format("hub lost {}: {} {}", id, down_reason_name(r), why));
  };
  ASSERT_TRUE(hub.start(std::move(hub_cb)));
  const uint16_t port = hub.local_address().port();

  struct Member {
    std::unique_ptr<Transport> link;
    PeerId server = kNoPeer;
    std::vector<int> next;  // per sender: the index of the message expected next
    size_t received = 0;
    size_t out_of_order = 0;
  };
  std::vector<Member> members(kMembers);
  size_t up = 0;
  size_t received = 0;
  for (size_t i = 0; i < kMembers; ++i) {
    Member& m = members[i];
    m.next.assign(kMembers, 0);
    auto made = make_transport("enet", loop, loopback_client_config(fmt::format("m{}", i), port));
    ASSERT_TRUE(made);
    m.link = std::move(*made);
    TransportCallbacks cb;
    cb.on_peer_up = [&, i](const PeerInfo& info) {
      members[i].server = info.id;
      ++up;
    };
    cb.on_message = [&, i](PeerId, Message&& msg) {
      size_t sender = 0;
      size_t index = 0;
      if (std::sscanf(msg.text.c_str(), "%zu:%zu", &sender, &index) != 2 || sender >= kMembers)
        return;
      Member& me = members[i];
      if (static_cast<int>(index) != me.next[sender]) ++me.out_of_order;
      me.next[sender] = static_cast<int>(index) + 1;
      ++me.received;
      ++received;
    };
    cb.on_peer_down = [&, i](PeerId, DownReason r, const std::string& why) {
      downs.push_back(fmt::format("member {} down: {} {}", i, down_reason_name(r), why));
    };
    ASSERT_TRUE(m.link->start(std::move(cb)));
  }
  ASSERT_TRUE(run_until(
      loop, [&] { return up == kMembers || !downs.empty(); }, 30000ms))
      << up << " of " << kMembers << " joined";
  ASSERT_TRUE(downs.empty()) << downs.front();

  for (size_t k = 0; k < kEach; ++k)
    for (size_t i = 0; i < kMembers; ++i)
      ASSERT_TRUE(
          members[i].link->send(members[i].server, Message::chat(fmt::format("{}:{}", i, k))));
  constexpr size_t kExpected = kMembers * (kMembers - 1) * kEach;
  const bool all = run_until(
      loop, [&] { return received == kExpected || !downs.empty(); }, 60000ms);
  EXPECT_TRUE(downs.empty()) << downs.size() << " went down, first: " << downs.front();
  EXPECT_TRUE(all) << received << " of " << kExpected << " delivered";
  for (size_t i = 0; i < kMembers; ++i) {
    EXPECT_EQ(members[i].received, (kMembers - 1) * kEach) << "member " << i;
    EXPECT_EQ(members[i].out_of_order, 0u) << "member " << i;
  }
}

}  // namespace
}  // namespace chat::testing
