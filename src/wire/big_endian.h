#pragma once
// Network byte order for the frame and bundle codecs: every multi-byte field on the wire is
// big-endian, whatever the host.
#include <bit>
#include <cstdint>
#include <cstring>

namespace chat::wire {

// Stores into bytes the caller has room for: an encoder fills a header on the stack and appends it
// once, instead of growing a string byte by byte (that was most of a frame's encoding time).
inline void store_u32(uint8_t* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof v);
}

inline void store_u64(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}

inline uint32_t get_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline uint64_t get_u64(const uint8_t* p) {
  return (uint64_t{get_u32(p)} << 32) | get_u32(p + 4);
}

}  // namespace chat::wire
