#pragma once
// Pure functions over byte spans: no I/O, no allocation before every length is checked.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "src/wire/frame.h"

namespace chat::wire {

enum class DecodeStatus {
  kOk,
  kNeedMore,  // a prefix of a valid frame: wait for more bytes (stream only)
  kBadMagic,
  kBadVersion,
  kUnknownType,
  kOversized,      // length field above the configured maximum
  kTruncated,      // a datagram shorter than its header says (datagram only)
  kTrailingBytes,  // a datagram longer than its header says (datagram only)
};

struct DecodeResult {
  DecodeStatus status = DecodeStatus::kNeedMore;
  // Bytes that made up the frame when status is kOk. With kNeedMore, the whole frame's size once
  // its header is in (0 before), so a reader can make room for the rest.
  size_t consumed = 0;
  // For errors: a human-readable reason naming the offending value.
  std::string reason;
};

// True when the first byte could begin a frame (it is the magic's first byte).
inline bool looks_framed(uint8_t first_byte) {
  return first_byte == kMagic0;
}

// Appends the encoded frame to `out`. The caller checks payload size against its limit first
// (see check_payload_size); encoding never fails.
void encode_frame(const Frame& frame, std::string& out);
// Overwrites the sequence number of an encoded frame in place: a broadcast encodes once and only
// stamps each link's number.
void stamp_seq(uint8_t* frame, uint32_t seq);
// Overwrites the token of an encoded frame in place.
void stamp_token(uint8_t* frame, uint64_t token);
// Reads the token of a frame whose header has been validated.
uint64_t token_of(std::span<const uint8_t> frame);
// Appends just the header; the caller appends exactly `payload_length` bytes after it.
void encode_header(FrameType type, uint32_t sender, uint32_t seq, uint64_t timestamp_ns,
                   uint32_t payload_length, std::string& out, uint64_t token = 0);
std::string encode_frame(const Frame& frame);

// Stream decoding (TCP): decodes one frame from the front of `bytes` into `frame`.
DecodeResult decode_stream(std::span<const uint8_t> bytes, size_t max_payload, Frame& frame);
// The same, but the payload stays where it is: `frame` gets the header's fields and an empty
// payload, `payload` views the payload inside `bytes`. For large messages that is one copy fewer.
DecodeResult decode_stream(std::span<const uint8_t> bytes, size_t max_payload, Frame& frame,
                           std::string_view& payload);

// Datagram decoding (UDP): the datagram must be exactly one frame.
DecodeResult decode_datagram(std::span<const uint8_t> bytes, size_t max_payload, Frame& frame);

// Reads only the header's payload length (after validating magic, version and type).
DecodeResult peek_header(std::span<const uint8_t> bytes, size_t max_payload, uint32_t& length);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace chat::wire
