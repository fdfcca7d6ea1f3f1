// Fuzz target: the TCP stream decoder over arbitrary bytes, fed in arbitrary splits.
// Invariants: never reads past the input, never consumes more than it was given, and a frame it
// accepts re-encodes to exactly the bytes it consumed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "src/wire/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chat::wire;
  std::span<const uint8_t> in(data, size);
  // The first byte chooses a small maximum so the oversize path is reached often too.
  const size_t max_payload = size > 0 ? (data[0] % 4 == 0 ? 16 : kDefaultTcpMaxPayload) : 64;
  size_t offset = 0;
  while (offset < in.size()) {
    Frame f;
    const DecodeResult r = decode_stream(in.subspan(offset), max_payload, f);
    if (r.status != DecodeStatus::kOk) break;
    if (r.consumed == 0 || r.consumed > in.size() - offset) std::abort();
    if (f.payload.size() > max_payload) std::abort();
    const std::string again = encode_frame(f);
    if (again.size() != r.consumed ||
        !std::equal(again.begin(), again.end(), reinterpret_cast<const char*>(data + offset)))
      std::abort();
    offset += r.consumed;
  }
  return 0;
}
