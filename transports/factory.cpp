#include <fmt/format.h>
#include <fmt/ranges.h>

#include "transports/enet/enet_transport.h"
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

namespace {

// One line per wire: its name, what it promises, and how to make it.
struct WireEntry {
  std::string_view name;
  TransportCaps (*caps)(const TransportConfig&);
  std::unique_ptr<Transport> (*make)(net::EventLoop&, TransportConfig);
};

template <class T>
std::unique_ptr<Transport> make_wire(net::EventLoop& loop, TransportConfig config) {
  return std::make_unique<T>(loop, std::move(config));
}

constexpr WireEntry kWires[] = {
    {"tcp", &TcpTransport::caps_for, &make_wire<TcpTransport>},
    {"udp", &UdpTransport::caps_for, &make_wire<UdpTransport>},
    {"enet", &EnetTransport::caps_for, &make_wire<EnetTransport>},
};

const WireEntry* find_wire(std::string_view name) {
  for (const WireEntry& w : kWires)
    if (w.name == name) return &w;
  return nullptr;
}

std::string unknown(std::string_view name) {
  return fmt::format("unknown transport '{}' (choose {})", name,
                     fmt::join(transport_names(), ", "));
}

}  // namespace

std::vector<std::string_view> transport_names() {
  std::vector<std::string_view> out;
  for (const WireEntry& w : kWires) out.push_back(w.name);
  return out;
}

std::string_view default_transport() {
  return kWires[0].name;
}

Result<TransportCaps> transport_caps(std::string_view name, const TransportConfig& config) {
  const WireEntry* w = find_wire(name);
  if (!w) return make_error(unknown(name));
  return w->caps(config);
}

Result<std::unique_ptr<Transport>> make_transport(std::string_view name, net::EventLoop& loop,
                                                  TransportConfig config) {
  const WireEntry* w = find_wire(name);
  if (!w) return make_error(unknown(name));
  return w->make(loop, std::move(config));
}

}  // namespace chat
