#pragma once
// Network byte order for the frame and bundle codecs: every multi-byte field on the wire is
// big-endian, whatever the host.
#include <cstdint>
#include <string>

namespace chat::wire {

inline void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

inline void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

inline uint32_t get_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline uint64_t get_u64(const uint8_t* p) {
  return (uint64_t{get_u32(p)} << 32) | get_u32(p + 4);
}

}  // namespace chat::wire
