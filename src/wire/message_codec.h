#pragma once
// Maps messages to frame payloads and back. A DATA payload is [u8 name length][name][text], so a
// hub can label a relayed message with its sender without a second round of control traffic.
#include <string>
#include <string_view>

#include "src/util/result.h"
#include "src/wire/frame.h"
#include "src/wire/message.h"

namespace chat::wire {

inline constexpr size_t kMaxNameLength = 32;
// What a chat message's payload may carry beyond its text (the name and its length byte): a
// --max-payload limit is on the text, so decoders allow this much more.
inline constexpr size_t kMaxPayloadOverhead = 1 + kMaxNameLength;

// Bytes a message adds to its text in a frame payload.
inline size_t payload_overhead(const Message& m) {
  return m.kind == MessageKind::kChat ? 1 + m.from.size() : 0;
}

// Builds the frame (type, payload) for a message; sender/seq/timestamp are the transport's.
Frame message_to_frame(const Message& m);

// Appends the whole encoded frame for a message to `out` in one pass: the text is copied once,
// straight into the output, with no intermediate Frame. This is the transports' send path.
void encode_message_frame(const Message& m, uint32_t sender, uint32_t seq, uint64_t timestamp_ns,
                          std::string& out);
// The same frame but for the message's text, which the caller sends next from where it is (TCP
// hands a large message to the kernel as two iovecs instead of copying its text into the frame).
void encode_message_frame_head(const Message& m, uint32_t sender, uint32_t seq,
                               uint64_t timestamp_ns, std::string& out);

// Decodes a DATA or NOTICE frame's payload into a message.
Result<Message> frame_to_message(const Frame& f);
// The same from a frame whose payload was left where it arrived (decode_stream's `payload`): the
// text is copied once, straight into the message.
Result<Message> frame_to_message(const Frame& header, std::string_view payload);

// How a text peer sees a message: one line, labelled, without its newline.
std::string message_to_line(const Message& m);

}  // namespace chat::wire
