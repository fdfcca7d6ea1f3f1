#include <fmt/format.h>

#include "transports/tcp/tcp_transport.h"
#include "transports/transport.h"
#include "transports/udp/udp_transport.h"

namespace chat {

std::string_view down_reason_name(DownReason reason) {
  switch (reason) {
    case DownReason::kLeft:
      return "left";
    case DownReason::kTimedOut:
      return "timed out";
    case DownReason::kRefused:
      return "refused";
    case DownReason::kError:
      return "error";
    case DownReason::kClosed:
      return "closed";
    case DownReason::kOverflow:
      return "overflow";
  }
  return "?";
}

std::vector<std::string_view> transport_names() {
  return {"tcp", "udp"};
}

Result<std::unique_ptr<Transport>> make_transport(std::string_view name, net::EventLoop& loop,
                                                  TransportConfig config) {
  if (name == "tcp")
    return std::unique_ptr<Transport>(std::make_unique<TcpTransport>(loop, std::move(config)));
  if (name == "udp")
    return std::unique_ptr<Transport>(std::make_unique<UdpTransport>(loop, std::move(config)));
  return make_error(fmt::format("unknown transport '{}' (choose tcp or udp)", name));
}

}  // namespace chat
