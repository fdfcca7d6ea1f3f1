#pragma once
// An in-memory Transport for role tests: peers are injected by the test, and everything the role
// sends is recorded. No sockets, no loop.
#include <map>
#include <string>
#include <vector>

#include "transports/transport.h"

namespace chat::testing {

class MemoryTransport final : public Transport {
 public:
  struct Sent {
    PeerId to;
    Message message;
  };

  std::string_view name() const override { return "memory"; }
  TransportCaps caps() const override { return {1 << 20, true, true, true, false}; }
  Result<void> start(TransportCallbacks callbacks) override {
    callbacks_ = std::move(callbacks);
    return {};
  }
  Result<void> send(PeerId peer, const Message& message) override {
    if (!peers_.count(peer)) return make_error("unknown peer");
    sent.push_back({peer, message});
    return {};
  }
  size_t broadcast(const Message& message, PeerId except) override {
    size_t n = 0;
    for (const auto& [id, info] : peers_)
      if (id != except) sent.push_back({id, message}), ++n;
    return n;
  }
  void close(PeerId peer, std::string_view reason) override {
    if (peers_.erase(peer)) callbacks_.on_peer_down(peer, DownReason::kClosed, std::string(reason));
  }
  void shutdown(std::chrono::milliseconds, std::function<void()> done) override { done(); }
  void ping(PeerId) override {}
  PeerStats stats(PeerId) const override { return {}; }
  std::string describe_stats(PeerId) const override { return {}; }
  std::vector<PeerInfo> peers() const override {
    std::vector<PeerInfo> out;
    for (const auto& [id, info] : peers_) out.push_back(info);
    return out;
  }
  net::SocketAddress local_address() const override { return {}; }

  // Test side: a peer arrives, speaks, goes.
  void connect(PeerId id, std::string name, bool text = false) {
    PeerInfo info{id, std::move(name), "127.0.0.1:" + std::to_string(40000 + id), text};
    peers_[id] = info;
    callbacks_.on_peer_up(info);
  }
  void say(PeerId id, std::string text) {
    callbacks_.on_message(id, Message::chat(std::move(text)));
  }
  void drop(PeerId id, DownReason reason, std::string why) {
    peers_.erase(id);
    callbacks_.on_peer_down(id, reason, why);
  }
  std::vector<std::string> lines_to(PeerId id) const {
    std::vector<std::string> out;
    for (const auto& s : sent)
      if (s.to == id)
        out.push_back(s.message.kind == MessageKind::kNotice
                          ? "*** " + s.message.text
                          : s.message.from + ": " + s.message.text);
    return out;
  }

  std::vector<Sent> sent;

 private:
  TransportCallbacks callbacks_;
  std::map<PeerId, PeerInfo> peers_;
};

}  // namespace chat::testing
