#pragma once
// One frame layout for every transport, so a role never depends on the wire beneath it.
//
//   offset size field
//        0    2 magic 0xF7 0x43  (0xF7 never begins UTF-8, so text peers are told apart by byte 0)
//        2    1 version          (kWireVersion)
//        3    1 type             (FrameType)
//        4    4 sender id        (member id assigned by WELCOME; 0 before)
//        8    4 sequence number  (per link, wraps at 2^32)
//       12    8 send timestamp   (sender's CLOCK_MONOTONIC ns)
//       20    8 token            (UDP: the link's secret or the hub's cookie; 0 elsewhere)
//       28    4 payload length   (checked against the configured maximum before anything is read)
//       32    n payload
//
// All integers are big-endian. On TCP the header's length field is the length prefix; on UDP one
// frame is one datagram and the length must match the datagram exactly.
//
// Version 2 added the token (version 1 had a 24-byte header without it). UDP has no handshake of
// its own, so anyone can put any source address on a datagram: the token is what a blind spoofer
// cannot know. A JOIN without one is answered by a CHALLENGE carrying a cookie only that source
// address could have received; the JOIN that echoes it is admitted, and the WELCOME's token is
// the member's secret, which every later datagram from that member carries. TCP and ENet, whose
// handshakes already prove the address, send 0 and ignore it.
// UDP may also send a BUNDLE: a header of this layout whose sequence field holds the number of
// frames it carries (it takes no sequence number of its own), then that many complete frames back
// to back, each with its own header, sequence number and length, then possibly zero bytes of
// padding. The sender packs what one loop turn sends to one member, up to the path MTU (1,472
// bytes of IPv4 payload by default), and pads a member's bundles to one size so they leave as one
// segmentation-offload send; the receiver checks the whole bundle, then handles each inner frame
// as if it had come alone, so loss and reordering are still counted per message. See
// bundle_codec.h.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chat::wire {

inline constexpr uint8_t kMagic0 = 0xF7;
inline constexpr uint8_t kMagic1 = 0x43;
inline constexpr uint8_t kWireVersion = 2;
inline constexpr size_t kHeaderSize = 32;

// The largest UDP payload IPv4 can carry: 65,535 - 20 (IP header) - 8 (UDP header).
inline constexpr size_t kMaxUdpDatagram = 65507;
inline constexpr size_t kMaxUdpFramePayload = kMaxUdpDatagram - kHeaderSize;
inline constexpr size_t kDefaultTcpMaxPayload = 64 * 1024;

enum class FrameType : uint8_t {
  kData = 1,       // a chat message (payload: message codec)
  kNotice = 2,     // server announcement (join/leave), shown but never relayed
  kJoin = 3,       // client → server: hello, with the nick as payload
  kWelcome = 4,    // server → client: your member id (in sender field), room summary as payload
  kRefuse = 5,     // server → client: not admitted, reason as payload
  kLeave = 6,      // either way: orderly goodbye
  kHeartbeat = 7,  // keeps a UDP membership alive
  kPing = 8,       // RTT probe; the peer answers PONG echoing seq and timestamp
  kPong = 9,
  kChallenge = 10,  // UDP server → joiner: echo this token (a cookie) in your next JOIN
  kBundle = 11,     // UDP: several complete frames in one datagram (layout above)
};
inline constexpr uint8_t kMaxFrameType = 11;

struct Frame {
  FrameType type = FrameType::kData;
  uint32_t sender = 0;
  uint32_t seq = 0;
  uint64_t timestamp_ns = 0;
  uint64_t token = 0;
  std::string payload;

  bool operator==(const Frame&) const = default;
};

std::string_view frame_type_name(FrameType type);

}  // namespace chat::wire
