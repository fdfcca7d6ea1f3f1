#pragma once
// What the transport contract suite needs around make_transport(name): recorders for both ends,
// and, per wire, a way to send it malformed input (the only part of the suite that knows a wire).
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "tests/support/transport_harness.h"
#include "transports/transport.h"

namespace chat::testing {

// One end of a link: its transport and everything its callbacks reported.
struct Endpoint {
  std::unique_ptr<Transport> transport;
  std::vector<PeerInfo> ups;
  std::vector<std::pair<PeerId, Message>> messages;
  std::vector<std::tuple<PeerId, DownReason, std::string>> downs;
  // Runs inside on_message, after the message is recorded (an echo, a close, ...).
  std::function<void(PeerId, const Message&)> on_message;

  TransportCallbacks callbacks() {
    TransportCallbacks cb;
    cb.on_peer_up = [this](const PeerInfo& p) { ups.push_back(p); };
    cb.on_message = [this](PeerId id, Message&& m) {
      messages.emplace_back(id, m);
      if (on_message) on_message(id, messages.back().second);
    };
    cb.on_peer_down = [this](PeerId id, DownReason r, const std::string& why) {
      downs.emplace_back(id, r, why);
    };
    return cb;
  }
  bool up() const { return !ups.empty() && downs.empty(); }
  PeerId first_peer() const { return ups.empty() ? kNoPeer : ups.front().id; }
  bool got(std::string_view text) const {
    for (const auto& [id, m] : messages)
      if (m.text == text) return true;
    return false;
  }
};

// Joins the server at 127.0.0.1:port as `name`, then sends one frame that is not a valid frame
// of the wire. Returns a function that is true once the wire has cut this peer off (never, on a
// wire that drops bad datagrams one at a time). The object it returns keeps the raw peer alive.
struct MalformedPeer {
  std::function<bool()> cut_off;
  std::shared_ptr<void> keep;
};
MalformedPeer send_malformed(std::string_view wire, net::EventLoop& loop, uint16_t port);

}  // namespace chat::testing
