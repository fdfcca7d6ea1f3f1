#include "src/wire/frame_codec.h"

#include <fmt/format.h>

#include "src/wire/big_endian.h"

namespace chat::wire {
namespace {

// See the layout in frame.h.
constexpr size_t kSenderOffset = 4;
constexpr size_t kSeqOffset = 8;
constexpr size_t kTimestampOffset = 12;
constexpr size_t kTokenOffset = 20;
constexpr size_t kLengthOffset = 28;

DecodeResult fail(DecodeStatus status, std::string reason) {
  return DecodeResult{status, 0, std::move(reason)};
}

}  // namespace

std::string_view frame_type_name(FrameType type) {
  switch (type) {
    case FrameType::kData:
      return "DATA";
    case FrameType::kNotice:
      return "NOTICE";
    case FrameType::kJoin:
      return "JOIN";
    case FrameType::kWelcome:
      return "WELCOME";
    case FrameType::kRefuse:
      return "REFUSE";
    case FrameType::kLeave:
      return "LEAVE";
    case FrameType::kHeartbeat:
      return "HEARTBEAT";
    case FrameType::kPing:
      return "PING";
    case FrameType::kPong:
      return "PONG";
    case FrameType::kChallenge:
      return "CHALLENGE";
    case FrameType::kBundle:
      return "BUNDLE";
  }
  return "?";
}

void encode_header(FrameType type, uint32_t sender, uint32_t seq, uint64_t timestamp_ns,
                   uint32_t payload_length, std::string& out, uint64_t token) {
  uint8_t h[kHeaderSize];
  h[0] = kMagic0;
  h[1] = kMagic1;
  h[2] = kWireVersion;
  h[3] = static_cast<uint8_t>(type);
  store_u32(h + kSenderOffset, sender);
  store_u32(h + kSeqOffset, seq);
  store_u64(h + kTimestampOffset, timestamp_ns);
  store_u64(h + kTokenOffset, token);
  store_u32(h + kLengthOffset, payload_length);
  out.append(reinterpret_cast<const char*>(h), sizeof h);
}

void stamp_seq(uint8_t* frame, uint32_t seq) {
  store_u32(frame + kSeqOffset, seq);
}

void stamp_token(uint8_t* frame, uint64_t token) {
  store_u64(frame + kTokenOffset, token);
}

uint64_t token_of(std::span<const uint8_t> frame) {
  return get_u64(frame.data() + kTokenOffset);
}

void encode_frame(const Frame& frame, std::string& out) {
  out.reserve(out.size() + kHeaderSize + frame.payload.size());
  encode_header(frame.type, frame.sender, frame.seq, frame.timestamp_ns,
                static_cast<uint32_t>(frame.payload.size()), out, frame.token);
  out.append(frame.payload);
}

std::string encode_frame(const Frame& frame) {
  std::string out;
  encode_frame(frame, out);
  return out;
}

DecodeResult peek_header(std::span<const uint8_t> bytes, size_t max_payload, uint32_t& length) {
  // Validate each byte as soon as it is present, so garbage is rejected without waiting for a
  // whole header's worth of it.
  if (!bytes.empty() && bytes[0] != kMagic0)
    return fail(DecodeStatus::kBadMagic, fmt::format("bad magic byte 0x{:02x}", bytes[0]));
  if (bytes.size() > 1 && bytes[1] != kMagic1)
    return fail(DecodeStatus::kBadMagic, fmt::format("bad magic byte 0x{:02x}", bytes[1]));
  if (bytes.size() > 2 && bytes[2] != kWireVersion)
    return fail(DecodeStatus::kBadVersion,
                fmt::format("wire version {} (this build speaks {})", bytes[2], kWireVersion));
  if (bytes.size() > 3 && (bytes[3] == 0 || bytes[3] > kMaxFrameType))
    return fail(DecodeStatus::kUnknownType, fmt::format("unknown frame type {}", bytes[3]));
  if (bytes.size() < kHeaderSize) return DecodeResult{DecodeStatus::kNeedMore, 0, {}};
  length = get_u32(bytes.data() + kLengthOffset);
  if (length > max_payload)
    return fail(DecodeStatus::kOversized,
                fmt::format("payload length {} exceeds the maximum {}", length, max_payload));
  return DecodeResult{DecodeStatus::kOk, kHeaderSize + length, {}};
}

namespace {

void fill_header(std::span<const uint8_t> bytes, Frame& frame) {
  const uint8_t* p = bytes.data();
  frame.type = static_cast<FrameType>(p[3]);
  frame.sender = get_u32(p + kSenderOffset);
  frame.seq = get_u32(p + kSeqOffset);
  frame.timestamp_ns = get_u64(p + kTimestampOffset);
  frame.token = get_u64(p + kTokenOffset);
}

std::string_view payload_of(std::span<const uint8_t> bytes, uint32_t length) {
  return {reinterpret_cast<const char*>(bytes.data() + kHeaderSize), length};
}

void fill(std::span<const uint8_t> bytes, uint32_t length, Frame& frame) {
  fill_header(bytes, frame);
  frame.payload.assign(payload_of(bytes, length));
}

}  // namespace

DecodeResult decode_stream(std::span<const uint8_t> bytes, size_t max_payload, Frame& frame) {
  std::string_view payload;
  DecodeResult r = decode_stream(bytes, max_payload, frame, payload);
  if (r.status == DecodeStatus::kOk) frame.payload.assign(payload);
  return r;
}

DecodeResult decode_stream(std::span<const uint8_t> bytes, size_t max_payload, Frame& frame,
                           std::string_view& payload) {
  uint32_t length = 0;
  DecodeResult r = peek_header(bytes, max_payload, length);
  if (r.status != DecodeStatus::kOk) return r;
  if (bytes.size() < r.consumed) return DecodeResult{DecodeStatus::kNeedMore, r.consumed, {}};
  fill_header(bytes, frame);
  frame.payload.clear();
  payload = payload_of(bytes, length);
  return r;
}

DecodeResult decode_datagram(std::span<const uint8_t> bytes, size_t max_payload, Frame& frame) {
  uint32_t length = 0;
  DecodeResult r = peek_header(bytes, max_payload, length);
  if (r.status == DecodeStatus::kNeedMore)
    return fail(DecodeStatus::kTruncated,
                fmt::format("datagram of {} bytes is shorter than the {}-byte header", bytes.size(),
                            kHeaderSize));
  if (r.status != DecodeStatus::kOk) return r;
  if (bytes.size() < r.consumed)
    return fail(DecodeStatus::kTruncated,
                fmt::format("datagram of {} bytes, header promises {}", bytes.size(), r.consumed));
  if (bytes.size() > r.consumed)
    return fail(DecodeStatus::kTrailingBytes,
                fmt::format("datagram of {} bytes, header promises {}", bytes.size(), r.consumed));
  fill(bytes, length, frame);
  return r;
}

}  // namespace chat::wire
