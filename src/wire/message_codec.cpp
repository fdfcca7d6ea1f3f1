#include "src/wire/message_codec.h"

#include <fmt/format.h>

namespace chat::wire {

Frame message_to_frame(const Message& m) {
  Frame f;
  if (m.kind == MessageKind::kNotice) {
    f.type = FrameType::kNotice;
    f.payload = m.text;
    return f;
  }
  f.type = FrameType::kData;
  const size_t name_len = std::min(m.from.size(), kMaxNameLength);
  f.payload.reserve(1 + name_len + m.text.size());
  f.payload.push_back(static_cast<char>(name_len));
  f.payload.append(m.from, 0, name_len);
  f.payload.append(m.text);
  return f;
}

Result<Message> frame_to_message(const Frame& f) {
  Message m;
  m.seq = f.seq;
  m.sent_ns = f.timestamp_ns;
  if (f.type == FrameType::kNotice) {
    m.kind = MessageKind::kNotice;
    m.text = f.payload;
    return m;
  }
  if (f.type != FrameType::kData)
    return make_error(fmt::format("{} frame carries no message", frame_type_name(f.type)));
  if (f.payload.empty()) return make_error("DATA frame without its name-length byte");
  const size_t name_len = static_cast<uint8_t>(f.payload[0]);
  if (name_len > kMaxNameLength || 1 + name_len > f.payload.size())
    return make_error(fmt::format("DATA frame name length {} does not fit", name_len));
  m.kind = MessageKind::kChat;
  m.from = f.payload.substr(1, name_len);
  m.text = f.payload.substr(1 + name_len);
  return m;
}

std::string message_to_line(const Message& m) {
  if (m.kind == MessageKind::kNotice) return fmt::format("*** {}", m.text);
  if (m.from.empty()) return m.text;
  return fmt::format("{}: {}", m.from, m.text);
}

}  // namespace chat::wire
