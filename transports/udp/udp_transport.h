#pragma once
// STUB: replaced by the real UdpTransport.
#include "transports/transport.h"

namespace chat {

class UdpTransport final : public Transport {
 public:
  UdpTransport(net::EventLoop& loop, TransportConfig config);
  ~UdpTransport() override;

  std::string_view name() const override { return "udp"; }
  Result<void> start(TransportCallbacks callbacks) override;
  Result<void> send(PeerId peer, const Message& message) override;
  size_t broadcast(const Message& message, PeerId except = kNoPeer) override;
  void close(PeerId peer, std::string_view reason) override;
  void shutdown(std::chrono::milliseconds linger, std::function<void()> done) override;
  void ping(PeerId peer) override;
  PeerStats stats(PeerId peer) const override;
  std::vector<PeerInfo> peers() const override;
  net::SocketAddress local_address() const override;

 private:
  net::EventLoop& loop_;
  TransportConfig config_;
};

}  // namespace chat
