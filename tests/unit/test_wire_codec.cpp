#include <gtest/gtest.h>

#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"

namespace chat::wire {
namespace {

Frame sample(FrameType type = FrameType::kData, std::string payload = "hello") {
  Frame f;
  f.type = type;
  f.sender = 0x01020304;
  f.seq = 0xFFFFFFFE;
  f.timestamp_ns = 0x1122334455667788ull;
  f.token = 0x8877665544332211ull;
  f.payload = std::move(payload);
  return f;
}

TEST(FrameCodec, RoundTripsEveryTypeOnAStream) {
  for (uint8_t t = 1; t <= kMaxFrameType; ++t) {
    const Frame in = sample(static_cast<FrameType>(t), std::string(300, 'x'));
    const std::string bytes = encode_frame(in);
    ASSERT_EQ(bytes.size(), kHeaderSize + 300);
    Frame out;
    const DecodeResult r = decode_stream(as_bytes(bytes), kDefaultTcpMaxPayload, out);
    ASSERT_EQ(r.status, DecodeStatus::kOk) << r.reason;
    EXPECT_EQ(r.consumed, bytes.size());
    EXPECT_EQ(out, in);
  }
}

TEST(FrameCodec, AStreamFrameCanLeaveItsPayloadInPlace) {
  std::string bytes = encode_frame(sample(FrameType::kData, std::string(1, '\x05') + "alicehi"));
  bytes += "next";
  Frame header;
  header.payload = "stale";
  std::string_view payload;
  const DecodeResult r = decode_stream(as_bytes(bytes), 1024, header, payload);
  ASSERT_EQ(r.status, DecodeStatus::kOk) << r.reason;
  EXPECT_EQ(r.consumed, bytes.size() - 4);
  EXPECT_TRUE(header.payload.empty());  // nothing copied, and nothing left from before
  EXPECT_EQ(header.seq, 0xFFFFFFFEu);
  EXPECT_EQ(header.token, 0x8877665544332211ull);
  EXPECT_EQ(payload.data(), bytes.data() + kHeaderSize);  // a view into the bytes given
  EXPECT_EQ(payload, std::string(1, '\x05') + "alicehi");
  auto m = frame_to_message(header, payload);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->from, "alice");
  EXPECT_EQ(m->text, "hi");
  EXPECT_EQ(m->seq, 0xFFFFFFFEu);
  // A prefix is still only a prefix.
  EXPECT_EQ(decode_stream(as_bytes(bytes).first(kHeaderSize + 3), 1024, header, payload).status,
            DecodeStatus::kNeedMore);
}

TEST(FrameCodec, FirstByteNeverBeginsUtf8) {
  // 0xF5..0xFF never occur in UTF-8, so a text peer can never look framed.
  EXPECT_GE(kMagic0, 0xF5);
  EXPECT_TRUE(looks_framed(encode_frame(sample())[0]));
  EXPECT_FALSE(looks_framed('h'));
}

TEST(FrameCodec, StreamWaitsForEveryPrefixOfAFrame) {
  const std::string bytes = encode_frame(sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Frame out;
    EXPECT_EQ(decode_stream(as_bytes(bytes).first(n), 1024, out).status, DecodeStatus::kNeedMore)
        << n;
  }
}

TEST(FrameCodec, StreamDecodesBackToBackFrames) {
  std::string bytes = encode_frame(sample(FrameType::kData, "one"));
  encode_frame(sample(FrameType::kPing, ""), bytes);
  Frame a, b;
  auto r1 = decode_stream(as_bytes(bytes), 1024, a);
  ASSERT_EQ(r1.status, DecodeStatus::kOk);
  auto r2 = decode_stream(as_bytes(bytes).subspan(r1.consumed), 1024, b);
  ASSERT_EQ(r2.status, DecodeStatus::kOk);
  EXPECT_EQ(a.payload, "one");
  EXPECT_EQ(b.type, FrameType::kPing);
  EXPECT_EQ(r1.consumed + r2.consumed, bytes.size());
}

TEST(FrameCodec, RejectsBadMagicAtTheFirstWrongByte) {
  Frame out;
  const std::string text = "hello";
  EXPECT_EQ(decode_stream(as_bytes(text), 1024, out).status, DecodeStatus::kBadMagic);
  std::string bytes = encode_frame(sample());
  bytes[1] = 'X';
  auto r = decode_stream(as_bytes(bytes).first(2), 1024, out);
  EXPECT_EQ(r.status, DecodeStatus::kBadMagic);
  EXPECT_NE(r.reason.find("0x58"), std::string::npos) << r.reason;
}

TEST(FrameCodec, RejectsBadVersion) {
  std::string bytes = encode_frame(sample());
  bytes[2] = 9;
  Frame out;
  auto r = decode_stream(as_bytes(bytes), 1024, out);
  EXPECT_EQ(r.status, DecodeStatus::kBadVersion);
  EXPECT_NE(r.reason.find("9"), std::string::npos);
}

TEST(FrameCodec, RejectsUnknownType) {
  for (uint8_t bad : {uint8_t{0}, uint8_t{kMaxFrameType + 1}, uint8_t{0xFF}}) {
    std::string bytes = encode_frame(sample());
    bytes[3] = static_cast<char>(bad);
    Frame out;
    EXPECT_EQ(decode_stream(as_bytes(bytes), 1024, out).status, DecodeStatus::kUnknownType);
  }
}

TEST(FrameCodec, RejectsAFourGigabyteLengthFromTheHeaderAlone) {
  std::string header = encode_frame(sample(FrameType::kData, ""));
  for (size_t i = kHeaderSize - 4; i < kHeaderSize; ++i) header[i] = '\xFF';
  Frame out;
  auto r = decode_stream(as_bytes(header), kDefaultTcpMaxPayload, out);
  EXPECT_EQ(r.status, DecodeStatus::kOversized);
  EXPECT_NE(r.reason.find("4294967295"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("65536"), std::string::npos) << r.reason;
}

TEST(FrameCodec, AcceptsExactlyTheConfiguredMaximum) {
  const std::string bytes = encode_frame(sample(FrameType::kData, std::string(100, 'a')));
  Frame out;
  EXPECT_EQ(decode_stream(as_bytes(bytes), 100, out).status, DecodeStatus::kOk);
  EXPECT_EQ(decode_stream(as_bytes(bytes), 99, out).status, DecodeStatus::kOversized);
}

TEST(FrameCodec, DatagramMustBeExactlyOneFrame) {
  const std::string bytes = encode_frame(sample());
  Frame out;
  ASSERT_EQ(decode_datagram(as_bytes(bytes), kMaxUdpFramePayload, out).status, DecodeStatus::kOk);
  EXPECT_EQ(out, sample());
  EXPECT_EQ(
      decode_datagram(as_bytes(bytes).first(bytes.size() - 1), kMaxUdpFramePayload, out).status,
      DecodeStatus::kTruncated);
  EXPECT_EQ(decode_datagram(as_bytes(bytes).first(10), kMaxUdpFramePayload, out).status,
            DecodeStatus::kTruncated);
  const std::string longer = bytes + "x";
  EXPECT_EQ(decode_datagram(as_bytes(longer), kMaxUdpFramePayload, out).status,
            DecodeStatus::kTrailingBytes);
}

TEST(FrameCodec, VersionTwoCarriesTheTokenBeforeTheLength) {
  const std::string bytes = encode_frame(sample(FrameType::kJoin, "ab"));
  ASSERT_EQ(bytes.size(), 32u + 2);
  EXPECT_EQ(static_cast<uint8_t>(bytes[2]), 2u);
  EXPECT_EQ(bytes.substr(20, 8), std::string("\x88\x77\x66\x55\x44\x33\x22\x11", 8));
  EXPECT_EQ(bytes.substr(28, 4), std::string("\0\0\0\x02", 4));
  EXPECT_EQ(token_of(as_bytes(bytes)), 0x8877665544332211ull);
  std::string stamped = bytes;
  stamp_token(reinterpret_cast<uint8_t*>(stamped.data()), 42);
  Frame out;
  ASSERT_EQ(decode_datagram(as_bytes(stamped), 1024, out).status, DecodeStatus::kOk);
  EXPECT_EQ(out.token, 42u);
  EXPECT_EQ(out.payload, "ab");
  // A version-1 peer is told the versions apart, not left guessing at a garbled frame.
  std::string old = bytes;
  old[2] = 1;
  auto r = decode_datagram(as_bytes(old), 1024, out);
  EXPECT_EQ(r.status, DecodeStatus::kBadVersion);
  EXPECT_NE(r.reason.find("this build speaks 2"), std::string::npos) << r.reason;
}

TEST(FrameCodec, UdpLimitLeavesRoomForTheHeader) {
  EXPECT_EQ(kMaxUdpDatagram, 65507u);
  EXPECT_EQ(kMaxUdpFramePayload + kHeaderSize, kMaxUdpDatagram);
}

TEST(MessageCodec, ChatRoundTripsWithItsSenderName) {
  const Message in = Message::chat("hi there", "alice");
  Frame f = message_to_frame(in);
  EXPECT_EQ(f.type, FrameType::kData);
  auto out = frame_to_message(f);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->from, "alice");
  EXPECT_EQ(out->text, "hi there");
  EXPECT_EQ(out->kind, MessageKind::kChat);
}

TEST(MessageCodec, NoticeRoundTrips) {
  auto out = frame_to_message(message_to_frame(Message::notice("bob joined")));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, MessageKind::kNotice);
  EXPECT_EQ(out->text, "bob joined");
}

TEST(MessageCodec, RejectsANameLengthThatDoesNotFit) {
  Frame f;
  f.type = FrameType::kData;
  f.payload = std::string(1, '\x20') + "short";
  EXPECT_FALSE(frame_to_message(f).ok());
  f.payload.clear();
  EXPECT_FALSE(frame_to_message(f).ok());
  f.type = FrameType::kPing;
  EXPECT_FALSE(frame_to_message(f).ok());
}

TEST(MessageCodec, OnePassEncodingMatchesTheFrameRoute) {
  for (const Message& m : {Message::chat("hi there", "alice"), Message::notice("bob joined"),
                           Message::chat(std::string(1400, 'x'), std::string(40, 'n'))}) {
    Frame f = message_to_frame(m);
    f.sender = 7;
    f.seq = 9;
    f.timestamp_ns = 11;
    std::string direct = "prefix";
    encode_message_frame(m, 7, 9, 11, direct);
    EXPECT_EQ(direct, "prefix" + encode_frame(f));
  }
}

TEST(FrameCodec, StampSeqRewritesOnlyTheSequenceNumber) {
  std::string bytes = encode_frame(sample());
  stamp_seq(reinterpret_cast<uint8_t*>(bytes.data()), 0x01020304);
  Frame out;
  ASSERT_EQ(decode_stream(as_bytes(bytes), 1024, out).status, DecodeStatus::kOk);
  Frame expected = sample();
  expected.seq = 0x01020304;
  EXPECT_EQ(out, expected);
}

TEST(MessageCodec, LinesForTextPeers) {
  EXPECT_EQ(message_to_line(Message::chat("hi", "alice")), "alice: hi");
  EXPECT_EQ(message_to_line(Message::chat("hi")), "hi");
  EXPECT_EQ(message_to_line(Message::notice("bob left")), "*** bob left");
}

}  // namespace
}  // namespace chat::wire
