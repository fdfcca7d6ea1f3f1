#pragma once
// A server role (echo, p2p, hub room) reacts to peers and messages. It holds a Transport& and never
// asks which wire that is: the same role runs over TCP and UDP.
#include <string>
#include <string_view>

#include "transports/transport.h"

namespace chat {

// One phrase for a peer that went, for logs: its name, what happened and, only when it adds
// something, why ("alice left", "bob left: connection closed", "carol timed out: silent for 5 s").
std::string departure_words(std::string_view name, DownReason reason, std::string_view why);

class Role {
 public:
  virtual ~Role() = default;
  virtual void on_peer_up(const PeerInfo& peer) = 0;
  virtual void on_message(PeerId peer, Message&& message) = 0;
  virtual void on_peer_down(PeerId peer, DownReason reason, const std::string& why) = 0;

  // Wires a role to a transport's callbacks; the role must outlive the transport's loop run.
  TransportCallbacks callbacks() {
    return TransportCallbacks{
        [this](const PeerInfo& p) { on_peer_up(p); },
        [this](PeerId p, Message&& m) { on_message(p, std::move(m)); },
        [this](PeerId p, DownReason r, const std::string& why) { on_peer_down(p, r, why); },
        {},  // roles answer without waiting for the wire to drain
    };
  }
};

}  // namespace chat
