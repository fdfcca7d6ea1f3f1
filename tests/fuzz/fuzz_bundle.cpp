// Fuzz target: one UDP datagram through the bundle decoder. An accepted bundle must split into
// frames the datagram decoder accepts one by one, that together with the outer header and zero
// padding are exactly the input, and that re-encode to the same bytes; a rejected one must hand
// out no frame.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "src/wire/bundle_codec.h"
#include "src/wire/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chat::wire;
  const std::span<const uint8_t> bytes(data, size);
  std::vector<std::span<const uint8_t>> frames;
  const DecodeResult r = decode_bundle(bytes, kMaxUdpFramePayload, frames);
  if (r.status != DecodeStatus::kOk) {
    if (!frames.empty()) std::abort();
    return 0;
  }
  if (!looks_like_bundle(bytes) || r.consumed != size || frames.empty()) std::abort();
  Frame outer;
  if (decode_datagram(bytes, kMaxUdpDatagram, outer).status != DecodeStatus::kOk) std::abort();
  if (outer.seq != frames.size()) std::abort();
  std::string again;
  const size_t start = begin_bundle(again);
  for (const auto& f : frames) {
    if (f.data() != data + kBundleOverhead + (again.size() - start - kBundleOverhead))
      std::abort();  // frames are contiguous, in order, right after the header
    Frame inner;
    if (decode_datagram(f, kMaxUdpFramePayload, inner).status != DecodeStatus::kOk) std::abort();
    if (inner.type == FrameType::kBundle) std::abort();
    encode_frame(inner, again);
  }
  if (again.size() > size) std::abort();
  again.resize(size, '\0');  // what follows the frames can only be padding
  finish_bundle(again, start, outer.sender, outer.timestamp_ns,
                static_cast<uint32_t>(frames.size()));
  // The outer header's token is not read (each inner frame carries its own): keep what came.
  stamp_token(reinterpret_cast<uint8_t*>(again.data()), outer.token);
  if (!std::equal(again.begin(), again.end(), reinterpret_cast<const char*>(data))) std::abort();
  return 0;
}
