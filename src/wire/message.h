#pragma once
// The message model: what the Transport seam carries between roles. Control traffic (JOIN,
// WELCOME, heartbeats, pings) stays inside the transports and never appears here.
#include <cstdint>
#include <string>
#include <string_view>

namespace chat {

// How a text peer ended the bytes a message came from. An echo gives back exactly what it
// received (RFC 862), so the ending travels with the text; anything else sent to a text peer
// ends in a newline.
enum class LineEnd : uint8_t {
  kLf,    // "\n" (the default for everything we send)
  kCrLf,  // "\r\n"
  kCr,    // a burst that ended in "\r"
  kNone,  // a burst with no ending (the course's client), or a piece of an over-long line
};

inline std::string_view line_end_bytes(LineEnd end) {
  switch (end) {
    case LineEnd::kLf:
      return "\n";
    case LineEnd::kCrLf:
      return "\r\n";
    case LineEnd::kCr:
      return "\r";
    case LineEnd::kNone:
      break;
  }
  return {};
}

enum class MessageKind : uint8_t {
  kChat,    // something a person (or a bench) said
  kNotice,  // the server speaking: joins, leaves, refusals' explanations
};

struct Message {
  MessageKind kind = MessageKind::kChat;
  std::string from;  // the sender's name as the server labels it; empty when a client sends
  std::string text;
  // Text peers: how the received bytes ended; what a text peer is sent after the line.
  LineEnd line_end = LineEnd::kLf;

  // Filled in by the receiving transport; ignored on send.
  uint32_t seq = 0;
  uint64_t sent_ns = 0;      // sender's timestamp from the frame (0 for text peers)
  uint64_t received_ns = 0;  // when the transport decoded it

  static Message chat(std::string text, std::string from = {}) {
    return Message{MessageKind::kChat, std::move(from), std::move(text)};
  }
  static Message notice(std::string text) {
    return Message{MessageKind::kNotice, {}, std::move(text)};
  }
};

}  // namespace chat
