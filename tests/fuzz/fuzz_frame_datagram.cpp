// Fuzz target: one UDP datagram through the datagram decoder and, when it is a DATA or NOTICE
// frame, through the message codec. Accepted datagrams must re-encode to themselves.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chat::wire;
  Frame f;
  const DecodeResult r =
      decode_datagram(std::span<const uint8_t>(data, size), kMaxUdpFramePayload, f);
  if (r.status != DecodeStatus::kOk) return 0;
  if (r.consumed != size) std::abort();
  const std::string again = encode_frame(f);
  if (again.size() != size ||
      !std::equal(again.begin(), again.end(), reinterpret_cast<const char*>(data)))
    std::abort();
  if (f.type == FrameType::kData || f.type == FrameType::kNotice) {
    auto m = frame_to_message(f);
    if (m.ok()) {
      // A decoded message encodes back to the same payload.
      if (message_to_frame(*m).payload != f.payload) std::abort();
    }
  }
  return 0;
}
