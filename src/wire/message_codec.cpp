#include "src/wire/message_codec.h"

#include "src/wire/frame_codec.h"

#include <fmt/format.h>

namespace chat::wire {

namespace {

FrameType frame_type_of(const Message& m) {
  return m.kind == MessageKind::kNotice ? FrameType::kNotice : FrameType::kData;
}

// The one place the payload layout lives: [u8 name length][name][text] for chat, text for notices.
// This is all of it but the text.
void append_payload_head(const Message& m, std::string& out) {
  if (m.kind == MessageKind::kChat) {
    const size_t name_len = std::min(m.from.size(), kMaxNameLength);
    out.push_back(static_cast<char>(name_len));
    out.append(m.from, 0, name_len);
  }
}

void append_payload(const Message& m, std::string& out) {
  append_payload_head(m, out);
  out.append(m.text);
}

size_t payload_size(const Message& m) {
  return (m.kind == MessageKind::kChat ? 1 + std::min(m.from.size(), kMaxNameLength) : 0) +
         m.text.size();
}

}  // namespace

Frame message_to_frame(const Message& m) {
  Frame f;
  f.type = frame_type_of(m);
  f.payload.reserve(payload_size(m));
  append_payload(m, f.payload);
  return f;
}

void encode_message_frame_head(const Message& m, uint32_t sender, uint32_t seq,
                               uint64_t timestamp_ns, std::string& out) {
  encode_header(frame_type_of(m), sender, seq, timestamp_ns, static_cast<uint32_t>(payload_size(m)),
                out);
  append_payload_head(m, out);
}

void encode_message_frame(const Message& m, uint32_t sender, uint32_t seq, uint64_t timestamp_ns,
                          std::string& out) {
  out.reserve(out.size() + kHeaderSize + payload_size(m));
  encode_message_frame_head(m, sender, seq, timestamp_ns, out);
  out.append(m.text);
}

Result<Message> frame_to_message(const Frame& f) {
  return frame_to_message(f, f.payload);
}

Result<Message> frame_to_message(const Frame& header, std::string_view payload) {
  // The strings are constructed in place (not assigned into empty ones, which takes the general
  // replace path): this runs once per message received, on every wire.
  auto made = [&](MessageKind kind, std::string_view from, std::string_view text) {
    Message m{kind, std::string(from), std::string(text)};
    m.seq = header.seq;
    m.sent_ns = header.timestamp_ns;
    return m;
  };
  if (header.type == FrameType::kNotice) return made(MessageKind::kNotice, {}, payload);
  if (header.type != FrameType::kData)
    return make_error(fmt::format("{} frame carries no message", frame_type_name(header.type)));
  if (payload.empty()) return make_error("DATA frame without its name-length byte");
  const size_t name_len = static_cast<uint8_t>(payload[0]);
  if (name_len > kMaxNameLength || 1 + name_len > payload.size())
    return make_error(fmt::format("DATA frame name length {} does not fit", name_len));
  return made(MessageKind::kChat, payload.substr(1, name_len), payload.substr(1 + name_len));
}

std::string message_to_line(const Message& m) {
  if (m.kind == MessageKind::kNotice) return fmt::format("*** {}", m.text);
  if (m.from.empty()) return m.text;
  return fmt::format("{}: {}", m.from, m.text);
}

}  // namespace chat::wire
