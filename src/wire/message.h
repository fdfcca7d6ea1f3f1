#pragma once
// The message model: what the Transport seam carries between roles. Control traffic (JOIN,
// WELCOME, heartbeats, pings) stays inside the transports and never appears here.
#include <cstdint>
#include <string>

namespace chat {

enum class MessageKind : uint8_t {
  kChat,    // something a person (or a bench) said
  kNotice,  // the server speaking: joins, leaves, refusals' explanations
};

struct Message {
  MessageKind kind = MessageKind::kChat;
  std::string from;  // the sender's name as the server labels it; empty when a client sends
  std::string text;

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
