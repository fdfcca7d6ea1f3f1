#pragma once
// What the udp_transport*.cpp files that make up UdpTransport share: small helpers and the
// definition of the defer_guarded member template. Internal to transports/udp.
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "src/wire/frame_codec.h"
#include "transports/udp/udp_transport.h"

namespace chat {
namespace udp::detail {

inline udp::TimePoint to_time_point(uint64_t ns) {
  return udp::TimePoint{
      std::chrono::duration_cast<udp::SteadyClock::duration>(std::chrono::nanoseconds{ns})};
}

inline std::string seconds_text(std::chrono::milliseconds d) {
  return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

inline std::span<const uint8_t> bytes_of(std::string_view s) {
  return wire::as_bytes(s);
}

}  // namespace udp::detail

template <class Fn>
void UdpTransport::defer_guarded(Fn fn) {
  guard_.defer(loop_, std::move(fn));
}

}  // namespace chat
