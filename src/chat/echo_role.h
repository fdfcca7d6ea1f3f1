#pragma once
#include <map>
#include <string>

#include "src/chat/role.h"

namespace chat {

// Each message goes back to its sender, as the course's echo server on port 10000 did: a text
// peer gets back exactly the bytes it sent (RFC 862), ending included, after an optional prefix
// (the course's server answered "收到: hello").
class EchoRole final : public Role {
 public:
  explicit EchoRole(Transport& transport, std::string reply_prefix = {})
      : transport_(transport), reply_prefix_(std::move(reply_prefix)) {}

  void on_peer_up(const PeerInfo& peer) override;
  void on_message(PeerId peer, Message&& message) override;
  void on_peer_down(PeerId peer, DownReason reason, const std::string& why) override;

 private:
  Transport& transport_;
  std::string reply_prefix_;
  std::map<PeerId, std::string> names_;  // for the log
};

}  // namespace chat
