#pragma once
// A bundle carries several complete frames in one UDP datagram, so a hub relaying a burst pays the
// kernel's per-datagram cost once per member rather than once per member per message.
//
//   outer header (24 bytes, the layout of frame.h): type BUNDLE, the sender's id, the sequence
//   field holding the NUMBER OF INNER FRAMES (a bundle takes no sequence number of its own), the
//   send timestamp, and the payload length, which must match the datagram exactly;
//   payload: that many complete frames back to back, each with its own header, sequence number
//   and length, exactly as it would travel alone; then possibly zero bytes of padding (no frame
//   begins with 0), which let a run of bundles to one peer be of equal size and so leave as one
//   segmentation-offload send.
//
// Inner frames keep their own per-link sequence numbers, so the receiver's sequence window counts
// loss and reordering per message, and a lost bundle shows up as one gap per message it carried.
// A bundle is checked whole before any of it is used: a bad inner frame (bad magic, version or
// type, a length past the maximum or past the datagram, a nested bundle, a wrong count) rejects
// the entire datagram, so a receiver never acts on half of one.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "src/wire/frame_codec.h"

namespace chat::wire {

// Bytes a bundle adds around its frames.
inline constexpr size_t kBundleOverhead = kHeaderSize;

// True when `bytes` begins like a bundle (magic, version, type BUNDLE): only such datagrams go
// to decode_bundle, and anything else takes the single-frame path unchanged.
bool looks_like_bundle(std::span<const uint8_t> bytes);

// Starts a bundle at the end of `out` by reserving its header; returns where it starts. The
// caller then appends complete encoded frames (encode_frame, encode_message_frame) and calls
// finish_bundle.
size_t begin_bundle(std::string& out);
// Writes the header of the bundle begun at `start` over the frames appended since.
void finish_bundle(std::string& out, size_t start, uint32_t sender, uint64_t timestamp_ns,
                   uint32_t frames);
// Writes a bundle header over the kBundleOverhead bytes at `at`, for `payload` bytes after it:
// the frames, then zero bytes of padding if `payload` is longer than they are.
void write_bundle_header(uint8_t* at, size_t payload, uint32_t sender, uint64_t timestamp_ns,
                         uint32_t frames);

// Splits a bundle datagram into its inner frames, each a span into `bytes` that decode_datagram
// accepts on its own. `max_payload` bounds every inner frame's payload, as it bounds a lone
// frame's. On any error `frames` is left empty and the result names the first problem.
DecodeResult decode_bundle(std::span<const uint8_t> bytes, size_t max_payload,
                           std::vector<std::span<const uint8_t>>& frames);

}  // namespace chat::wire
