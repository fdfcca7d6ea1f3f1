#pragma once
#include <chrono>
#include <cstdint>

namespace chat {

// Send timestamps on the wire are CLOCK_MONOTONIC nanoseconds: only the sender ever subtracts them
// (RTT from an echoed PING), and on loopback both ends share the clock for one-way delay.
inline uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace chat
