// STUB: replaced by the real UdpTransport.
#include "transports/udp/udp_transport.h"

namespace chat {

UdpTransport::UdpTransport(net::EventLoop& loop, TransportConfig config)
    : loop_(loop), config_(std::move(config)) {}
UdpTransport::~UdpTransport() = default;
Result<void> UdpTransport::start(TransportCallbacks) {
  return make_error("udp: not implemented");
}
Result<void> UdpTransport::send(PeerId, const Message&) {
  return make_error("udp: not implemented");
}
size_t UdpTransport::broadcast(const Message&, PeerId) {
  return 0;
}
void UdpTransport::close(PeerId, std::string_view) {}
void UdpTransport::shutdown(std::chrono::milliseconds, std::function<void()> done) {
  done();
}
void UdpTransport::ping(PeerId) {}
PeerStats UdpTransport::stats(PeerId) const {
  return {};
}
std::vector<PeerInfo> UdpTransport::peers() const {
  return {};
}
net::SocketAddress UdpTransport::local_address() const {
  return {};
}

}  // namespace chat
