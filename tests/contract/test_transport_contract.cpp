// The transport contract: every case runs for every wire the factory knows, through
// make_transport(name) alone. A new wire passes it with no change here but one entry in
// contract_malformed.cpp (how to speak its protocol badly).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "src/wire/message_codec.h"
#include "tests/contract/contract_support.h"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> wires() {
  std::vector<std::string> out;
  for (auto name : transport_names()) out.emplace_back(name);
  return out;
}

class TransportContract : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Endpoint> make(TransportConfig config) {
    auto e = std::make_unique<Endpoint>();
    auto made = make_transport(GetParam(), loop_, std::move(config));
    EXPECT_TRUE(made) << (made ? "" : made.error().message);
    if (!made) return nullptr;
    e->transport = std::move(*made);
    return e;
  }

  // Short expiry and heartbeat, so a vanished peer is noticed quickly; a case that needs a silent
  // member to stay passes a longer expiry.
  std::unique_ptr<Endpoint> serve(TransportConfig config = loopback_server_config(),
                                  std::chrono::milliseconds expiry = 1000ms) {
    config.expiry = expiry;
    config.heartbeat = 100ms;
    auto s = make(std::move(config));
    EXPECT_TRUE(s->transport->start(s->callbacks()));
    port_ = s->transport->local_address().port();
    EXPECT_NE(port_, 0);
    return s;
  }

  // A client started and, unless `wait` is false, admitted.
  std::unique_ptr<Endpoint> join(const std::string& name, bool wait = true) {
    TransportConfig c = loopback_client_config(name, port_);
    c.expiry = 1000ms;
    c.heartbeat = 100ms;
    c.connect_timeout = 2000ms;
    auto e = make(std::move(c));
    EXPECT_TRUE(e->transport->start(e->callbacks()));
    if (wait) {
      EXPECT_TRUE(run_until(loop_, [&] { return !e->ups.empty() || !e->downs.empty(); }));
    }
    return e;
  }

  // The server echoes whatever it is sent back to its sender.
  static void echo(Endpoint& server) {
    server.on_message = [&server](PeerId id, const Message& m) {
      (void)server.transport->send(id, Message::chat(m.text));
    };
  }

  net::EventLoop loop_;
  uint16_t port_ = 0;
};

TEST_P(TransportContract, AJoinerIsWelcomedAndSeenByNameOnTheServer) {
  auto server = serve();
  auto alice = join("alice");
  ASSERT_EQ(alice->ups.size(), 1u);
  ASSERT_TRUE(run_until(loop_, [&] { return !server->ups.empty(); }));
  EXPECT_EQ(server->ups[0].name, "alice");
  EXPECT_FALSE(server->ups[0].text);
  EXPECT_EQ(server->transport->peers().size(), 1u);
  EXPECT_EQ(alice->transport->peers().size(), 1u);
}

TEST_P(TransportContract, EchoReturnsTheSameText) {
  auto server = serve();
  echo(*server);
  auto alice = join("alice");
  ASSERT_TRUE(alice->transport->send(alice->first_peer(), Message::chat("hello")));
  ASSERT_TRUE(run_until(loop_, [&] { return alice->got("hello"); }));
  EXPECT_EQ(server->messages.size(), 1u);
  EXPECT_EQ(alice->transport->stats(alice->first_peer()).messages_received, 1u);
}

TEST_P(TransportContract, BroadcastReachesEveryMemberButTheOneExcepted) {
  auto server = serve();
  auto a = join("a");
  auto b = join("b");
  auto c = join("c");
  ASSERT_TRUE(run_until(loop_, [&] { return server->ups.size() == 3; }));
  EXPECT_EQ(server->transport->broadcast(Message::notice("first"), server->ups[0].id), 2u);
  EXPECT_EQ(server->transport->broadcast(Message::notice("second")), 3u);
  ASSERT_TRUE(
      run_until(loop_, [&] { return a->got("second") && b->got("second") && c->got("second"); }));
  EXPECT_TRUE(b->got("first"));
  EXPECT_TRUE(c->got("first"));
  EXPECT_FALSE(a->got("first"));
}

TEST_P(TransportContract, AClientThatLeavesIsReportedLeft) {
  auto server = serve();
  auto alice = join("alice");
  ASSERT_TRUE(run_until(loop_, [&] { return !server->ups.empty(); }));
  bool done = false;
  alice->transport->shutdown(300ms, [&] { done = true; });
  ASSERT_TRUE(run_until(loop_, [&] { return done && !server->downs.empty(); }));
  EXPECT_EQ(std::get<1>(server->downs[0]), DownReason::kLeft);
  EXPECT_TRUE(server->transport->peers().empty());
  // The leaver hears its own close at most once (UDP's shutdown does not report it at all).
  EXPECT_LE(alice->downs.size(), 1u);
}

TEST_P(TransportContract, AClientThatVanishesGoesDownWithoutAGoodbye) {
  auto server = serve();
  auto alice = join("alice");
  ASSERT_TRUE(run_until(loop_, [&] { return !server->ups.empty(); }));
  alice.reset();  // no LEAVE, no shutdown: a crashed process
  ASSERT_TRUE(run_until(
      loop_, [&] { return !server->downs.empty(); }, 5000ms));
  const DownReason r = std::get<1>(server->downs[0]);
  // A stream sees the kernel close it; a datagram wire can only notice the silence.
  EXPECT_TRUE(r == DownReason::kTimedOut || r == DownReason::kLeft || r == DownReason::kError)
      << down_reason_name(r);
  EXPECT_TRUE(server->transport->peers().empty());
}

TEST_P(TransportContract, AJoinerPastTheLimitIsRefusedWithTheReason) {
  TransportConfig config = loopback_server_config();
  config.max_peers = 1;
  auto server = serve(config);
  auto alice = join("alice");
  auto bob = join("bob");
  ASSERT_EQ(bob->downs.size(), 1u);
  EXPECT_EQ(std::get<1>(bob->downs[0]), DownReason::kRefused);
  EXPECT_EQ(std::get<2>(bob->downs[0]), "server full: 1 members max");
  EXPECT_TRUE(bob->ups.empty());
  EXPECT_TRUE(alice->up());
  EXPECT_EQ(server->transport->peers().size(), 1u);
}

TEST_P(TransportContract, AMessageOverTheWiresOwnLimitIsRefusedAndOneAtItArrives) {
  auto server = serve();
  echo(*server);
  auto alice = join("alice");
  const size_t limit = alice->transport->caps().max_message;
  ASSERT_GT(limit, 0u);
  // caps() promises what always fits; past it by more than a sender's name could add, every wire
  // refuses, and says how big the message was.
  const size_t too_big = limit + wire::kMaxPayloadOverhead + 1;
  const auto refused =
      alice->transport->send(alice->first_peer(), Message::chat(std::string(too_big, 'x')));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(std::to_string(too_big)), std::string::npos)
      << refused.error().message;
  ASSERT_TRUE(alice->transport->send(alice->first_peer(), Message::chat(std::string(limit, 'y'))));
  ASSERT_TRUE(run_until(loop_, [&] { return !alice->messages.empty(); }));
  EXPECT_EQ(alice->messages[0].second.text.size(), limit);
}

TEST_P(TransportContract, PingFillsTheRoundTripOnBothSidesAndNeverSurfacesAsAMessage) {
  auto server = serve();
  auto alice = join("alice");
  ASSERT_TRUE(run_until(loop_, [&] { return !server->ups.empty(); }));
  const PeerId hub = alice->first_peer();
  const PeerId member = server->first_peer();
  EXPECT_EQ(alice->transport->stats(hub).rtt_samples, 0u);
  alice->transport->ping(hub);
  server->transport->ping(member);
  ASSERT_TRUE(run_until(loop_, [&] {
    return alice->transport->stats(hub).rtt_samples == 1 &&
           server->transport->stats(member).rtt_samples == 1;
  }));
  for (const PeerStats& s : {alice->transport->stats(hub), server->transport->stats(member)}) {
    EXPECT_GT(s.rtt_ns, 0u);
    EXPECT_LT(s.rtt_ns, 1'000'000'000u);
    EXPECT_EQ(s.lost, 0u);  // a PONG echoes the PING's numbers: it is never counted as a gap
  }
  EXPECT_TRUE(server->messages.empty());
  EXPECT_TRUE(alice->messages.empty());
}

TEST_P(TransportContract, ACallbackMayCloseThePeerItIsServing) {
  auto server = serve();
  server->on_message = [&](PeerId id, const Message& m) {
    if (m.text == "bye") server->transport->close(id, "closing you");
  };
  auto alice = join("alice");
  auto bob = join("bob");
  ASSERT_TRUE(alice->transport->send(alice->first_peer(), Message::chat("bye")));
  ASSERT_TRUE(run_until(loop_, [&] { return !alice->downs.empty() && !server->downs.empty(); }));
  EXPECT_EQ(std::get<1>(server->downs[0]), DownReason::kClosed);
  EXPECT_EQ(std::get<1>(alice->downs[0]), DownReason::kLeft);
  EXPECT_EQ(std::get<2>(alice->downs[0]), "closing you");
  // The other member is untouched and still served.
  EXPECT_EQ(server->transport->broadcast(Message::notice("still here")), 1u);
  ASSERT_TRUE(run_until(loop_, [&] { return bob->got("still here"); }));
  EXPECT_TRUE(bob->downs.empty());
}

TEST_P(TransportContract, ShutdownSaysGoodbyeToEveryoneThenCallsDone) {
  auto server = serve();
  auto a = join("a");
  auto b = join("b");
  ASSERT_TRUE(run_until(loop_, [&] { return server->ups.size() == 2; }));
  bool done = false;
  server->transport->shutdown(500ms, [&] { done = true; });
  ASSERT_TRUE(run_until(loop_, [&] { return done && !a->downs.empty() && !b->downs.empty(); }));
  EXPECT_EQ(std::get<1>(a->downs[0]), DownReason::kLeft);
  EXPECT_EQ(std::get<1>(b->downs[0]), DownReason::kLeft);
  EXPECT_FALSE(server->transport->send(server->ups[0].id, Message::chat("late")));
}

TEST_P(TransportContract, MalformedInputCostsOnlyItsSender) {
  // The malformed sender says nothing more: it must not expire while the case runs.
  auto server = serve(loopback_server_config(), 10000ms);
  echo(*server);
  auto alice = join("alice");
  MalformedPeer bad = send_malformed(GetParam(), loop_, port_);
  const bool reliable = server->transport->caps().reliable;
  if (reliable) {
    // A wire that promises delivery cannot skip a frame: the sender is cut off.
    ASSERT_TRUE(run_until(loop_, [&] { return bad.cut_off(); }));
  } else {
    // A datagram wire drops the datagram; its sender stays a member.
    run_until(
        loop_, [] { return false; }, 100ms);
  }
  ASSERT_TRUE(alice->transport->send(alice->first_peer(), Message::chat("after")));
  ASSERT_TRUE(run_until(loop_, [&] { return alice->got("after"); }));
  EXPECT_TRUE(alice->downs.empty());
  EXPECT_EQ(server->transport->peers().size(), reliable ? 1u : 2u);
}

INSTANTIATE_TEST_SUITE_P(Wires, TransportContract, ::testing::ValuesIn(wires()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace chat::testing
