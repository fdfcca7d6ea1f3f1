// STUB: replaced by the real TcpTransport.
#include "transports/tcp/tcp_transport.h"

namespace chat {

TcpTransport::TcpTransport(net::EventLoop& loop, TransportConfig config)
    : loop_(loop), config_(std::move(config)) {}
TcpTransport::~TcpTransport() = default;
Result<void> TcpTransport::start(TransportCallbacks) {
  return make_error("tcp: not implemented");
}
Result<void> TcpTransport::send(PeerId, const Message&) {
  return make_error("tcp: not implemented");
}
size_t TcpTransport::broadcast(const Message&, PeerId) {
  return 0;
}
void TcpTransport::close(PeerId, std::string_view) {}
void TcpTransport::shutdown(std::chrono::milliseconds, std::function<void()> done) {
  done();
}
void TcpTransport::ping(PeerId) {}
PeerStats TcpTransport::stats(PeerId) const {
  return {};
}
std::vector<PeerInfo> TcpTransport::peers() const {
  return {};
}
net::SocketAddress TcpTransport::local_address() const {
  return {};
}

}  // namespace chat
