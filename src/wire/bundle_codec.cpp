#include "src/wire/bundle_codec.h"

#include <fmt/format.h>

#include <cstring>

#include "src/wire/big_endian.h"

namespace chat::wire {
namespace {

constexpr size_t kTypeOffset = 3;
constexpr size_t kCountOffset = 8;  // the sequence field: see bundle_codec.h

DecodeResult reject(std::vector<std::span<const uint8_t>>& frames, DecodeStatus status,
                    std::string reason) {
  frames.clear();
  return DecodeResult{status, 0, std::move(reason)};
}

}  // namespace

bool looks_like_bundle(std::span<const uint8_t> bytes) {
  return bytes.size() > kTypeOffset && bytes[0] == kMagic0 && bytes[1] == kMagic1 &&
         bytes[2] == kWireVersion && bytes[kTypeOffset] == static_cast<uint8_t>(FrameType::kBundle);
}

size_t begin_bundle(std::string& out) {
  const size_t start = out.size();
  out.append(kHeaderSize, '\0');
  return start;
}

void finish_bundle(std::string& out, size_t start, uint32_t sender, uint64_t timestamp_ns,
                   uint32_t frames) {
  write_bundle_header(reinterpret_cast<uint8_t*>(out.data() + start),
                      out.size() - start - kHeaderSize, sender, timestamp_ns, frames);
}

void write_bundle_header(uint8_t* at, size_t payload, uint32_t sender, uint64_t timestamp_ns,
                         uint32_t frames) {
  // Encoded aside and copied into place, so the header layout lives in frame_codec alone.
  std::string header;
  encode_header(FrameType::kBundle, sender, frames, timestamp_ns, static_cast<uint32_t>(payload),
                header);
  std::memcpy(at, header.data(), kHeaderSize);
}

DecodeResult decode_bundle(std::span<const uint8_t> bytes, size_t max_payload,
                           std::vector<std::span<const uint8_t>>& frames) {
  frames.clear();
  if (!looks_like_bundle(bytes)) return reject(frames, DecodeStatus::kUnknownType, "not a bundle");
  uint32_t length = 0;
  // The outer header is checked like any frame's, with room for everything a datagram can hold.
  const DecodeResult outer = peek_header(bytes, kMaxUdpDatagram, length);
  if (outer.status == DecodeStatus::kNeedMore)
    return reject(frames, DecodeStatus::kTruncated,
                  fmt::format("bundle of {} bytes is shorter than its header", bytes.size()));
  if (outer.status != DecodeStatus::kOk) return reject(frames, outer.status, outer.reason);
  if (outer.consumed != bytes.size())
    return reject(
        frames,
        outer.consumed > bytes.size() ? DecodeStatus::kTruncated : DecodeStatus::kTrailingBytes,
        fmt::format("bundle of {} bytes, header promises {}", bytes.size(), outer.consumed));
  const uint32_t count = get_u32(bytes.data() + kCountOffset);
  // Every inner frame takes at least a header: a count the bytes cannot hold is a lie, and
  // checking it first keeps the reservation below bounded by the datagram.
  if (count == 0 || count > length / kHeaderSize)
    return reject(frames, DecodeStatus::kOversized,
                  fmt::format("bundle claims {} frames in {} bytes", count, length));
  frames.reserve(count);
  std::span<const uint8_t> rest = bytes.subspan(kHeaderSize);
  while (!rest.empty()) {
    if (frames.size() == count) {
      for (const uint8_t b : rest)
        if (b != 0)
          return reject(frames, DecodeStatus::kTrailingBytes,
                        fmt::format("bundle has bytes past its {} frames", count));
      break;  // padding
    }
    uint32_t inner = 0;
    const DecodeResult r = peek_header(rest, max_payload, inner);
    if (r.status == DecodeStatus::kNeedMore)
      return reject(frames, DecodeStatus::kTruncated,
                    fmt::format("frame {} of the bundle is cut short ({} bytes left)",
                                frames.size() + 1, rest.size()));
    if (r.status != DecodeStatus::kOk)
      return reject(frames, r.status,
                    fmt::format("frame {} of the bundle: {}", frames.size() + 1, r.reason));
    if (rest[kTypeOffset] == static_cast<uint8_t>(FrameType::kBundle))
      return reject(frames, DecodeStatus::kUnknownType, "a bundle inside a bundle");
    if (r.consumed > rest.size())
      return reject(frames, DecodeStatus::kTruncated,
                    fmt::format("frame {} of the bundle promises {} bytes, {} left",
                                frames.size() + 1, r.consumed, rest.size()));
    frames.push_back(rest.first(r.consumed));
    rest = rest.subspan(r.consumed);
  }
  if (frames.size() != count)
    return reject(frames, DecodeStatus::kTruncated,
                  fmt::format("bundle promises {} frames, holds {}", count, frames.size()));
  return DecodeResult{DecodeStatus::kOk, bytes.size(), {}};
}

}  // namespace chat::wire
