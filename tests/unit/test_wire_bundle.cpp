// The bundle codec: round trips, and every malformed bundle rejected whole with a reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/wire/bundle_codec.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"

namespace chat::wire {
namespace {

using Frames = std::vector<std::span<const uint8_t>>;

std::string data_frame(uint32_t seq, std::string text) {
  std::string out;
  encode_message_frame(Message::chat(std::move(text), "ann"), 0, seq, 1000 + seq, out);
  return out;
}

// A bundle of `count` DATA frames with seq first, first+1, ...
std::string bundle_of(size_t count, uint32_t first = 1, size_t text = 10) {
  std::string out;
  const size_t start = begin_bundle(out);
  for (size_t i = 0; i < count; ++i)
    out += data_frame(first + static_cast<uint32_t>(i), std::string(text, 'a' + i % 26));
  finish_bundle(out, start, 7, 99, static_cast<uint32_t>(count));
  return out;
}

void put_u32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (24 - 8 * i));
}

TEST(BundleCodec, RoundTripsEveryFrameInOrder) {
  const std::string bytes = bundle_of(5);
  ASSERT_TRUE(looks_like_bundle(as_bytes(bytes)));
  Frames frames;
  const DecodeResult r = decode_bundle(as_bytes(bytes), kMaxUdpFramePayload, frames);
  ASSERT_EQ(r.status, DecodeStatus::kOk) << r.reason;
  EXPECT_EQ(r.consumed, bytes.size());
  ASSERT_EQ(frames.size(), 5u);
  for (size_t i = 0; i < frames.size(); ++i) {
    Frame f;
    ASSERT_EQ(decode_datagram(frames[i], kMaxUdpFramePayload, f).status, DecodeStatus::kOk);
    EXPECT_EQ(f.seq, 1 + i);
    auto m = frame_to_message(f);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->text, std::string(10, static_cast<char>('a' + i)));
    EXPECT_EQ(m->from, "ann");
  }
}

TEST(BundleCodec, OuterHeaderCarriesSenderTimestampAndCount) {
  const std::string bytes = bundle_of(3);
  Frame outer;
  ASSERT_EQ(decode_datagram(as_bytes(bytes), kMaxUdpDatagram, outer).status, DecodeStatus::kOk);
  EXPECT_EQ(outer.type, FrameType::kBundle);
  EXPECT_EQ(outer.sender, 7u);
  EXPECT_EQ(outer.timestamp_ns, 99u);
  EXPECT_EQ(outer.seq, 3u);  // the count: a bundle takes no sequence number
  EXPECT_EQ(outer.payload.size(), bytes.size() - kBundleOverhead);
  EXPECT_EQ(frame_type_name(FrameType::kBundle), "BUNDLE");
}

TEST(BundleCodec, PlainFramesAreNotBundles) {
  EXPECT_FALSE(looks_like_bundle(as_bytes(data_frame(1, "x"))));
  EXPECT_FALSE(looks_like_bundle(as_bytes(std::string("hello"))));
  EXPECT_FALSE(looks_like_bundle({}));
  Frames frames;
  EXPECT_NE(decode_bundle(as_bytes(data_frame(1, "x")), kMaxUdpFramePayload, frames).status,
            DecodeStatus::kOk);
  EXPECT_TRUE(frames.empty());
}

// Each malformed bundle is refused whole: no frame of it is handed out, and the reason says why.
TEST(BundleCodec, MalformedBundlesAreRejectedWhole) {
  const std::string good = bundle_of(3);
  const size_t first = kBundleOverhead;  // where the first inner frame begins
  const size_t frame_size = data_frame(1, std::string(10, 'a')).size();
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::vector<Case> cases;
  cases.push_back({"cut inside the outer header", good.substr(0, 10)});
  cases.push_back({"cut inside the last frame", good.substr(0, good.size() - 4)});
  cases.push_back({"trailing bytes", good + "zz"});
  {
    std::string b = good;
    b[first] = 'X';  // the first inner frame's magic
    cases.push_back({"an inner frame with bad magic", b});
  }
  {
    std::string b = good;
    b[first + frame_size + 2] = 42;  // the second inner frame's version
    cases.push_back({"an inner frame with a bad version", b});
  }
  {
    std::string b = good;
    b[first + frame_size + 3] = 0;  // the second inner frame's type
    cases.push_back({"an inner frame of unknown type", b});
  }
  {
    std::string b = good;
    put_u32(b, first + kHeaderSize - 4, 100000);  // the first inner frame's length
    cases.push_back({"an inner frame longer than the maximum", b});
  }
  {
    std::string b = good;
    put_u32(b, first + kHeaderSize - 4, 900);  // below the maximum, past the datagram
    cases.push_back({"an inner frame longer than the datagram", b});
  }
  {
    std::string b = good;
    put_u32(b, 8, 4);  // the count
    cases.push_back({"a count above the frames held", b});
  }
  {
    std::string b = good;
    put_u32(b, 8, 2);
    cases.push_back({"a count below the frames held", b});
  }
  {
    std::string b = good;
    put_u32(b, 8, 0);
    cases.push_back({"a count of zero", b});
  }
  {
    std::string b = good;
    put_u32(b, 8, 0xFFFFFFFF);
    cases.push_back({"a count no datagram could hold", b});
  }
  {
    std::string nested;
    const size_t start = begin_bundle(nested);
    nested += bundle_of(2);
    finish_bundle(nested, start, 0, 0, 1);
    cases.push_back({"a bundle inside a bundle", nested});
  }
  {
    std::string empty;
    finish_bundle(empty, begin_bundle(empty), 0, 0, 0);
    cases.push_back({"an empty bundle", empty});
  }
  {
    std::string b = good;
    b.replace(first + frame_size, frame_size, frame_size, '\x00');
    cases.push_back({"garbage in place of a frame", b});
  }
  for (const Case& c : cases) {
    Frames frames{as_bytes(good)};  // stale content must be cleared
    const DecodeResult r = decode_bundle(as_bytes(c.bytes), kDefaultTcpMaxPayload, frames);
    EXPECT_NE(r.status, DecodeStatus::kOk) << c.what;
    EXPECT_FALSE(r.reason.empty()) << c.what;
    EXPECT_TRUE(frames.empty()) << c.what;
  }
  Frames frames;
  EXPECT_EQ(decode_bundle(as_bytes(good), kDefaultTcpMaxPayload, frames).status, DecodeStatus::kOk);
}

TEST(BundleCodec, ZeroPaddingAfterTheFramesIsAccepted) {
  // Padding makes a run of bundles to one peer equal in size: one offload send for all.
  std::string bytes = bundle_of(2);
  const size_t frames_end = bytes.size();
  bytes.append(40, '\0');
  write_bundle_header(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size() - kBundleOverhead, 7,
                      99, 2);
  Frames frames;
  const DecodeResult r = decode_bundle(as_bytes(bytes), kMaxUdpFramePayload, frames);
  ASSERT_EQ(r.status, DecodeStatus::kOk) << r.reason;
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].data() + frames[1].size(),
            reinterpret_cast<const uint8_t*>(bytes.data()) + frames_end);
  bytes[frames_end + 5] = 1;  // not padding: a third frame the count does not admit
  EXPECT_EQ(decode_bundle(as_bytes(bytes), kMaxUdpFramePayload, frames).status,
            DecodeStatus::kTrailingBytes);
  EXPECT_TRUE(frames.empty());
}

TEST(BundleCodec, TheInnerMaximumBoundsEachFrame) {
  const std::string bytes = bundle_of(2, 1, 200);
  Frames frames;
  EXPECT_EQ(decode_bundle(as_bytes(bytes), 300, frames).status, DecodeStatus::kOk);
  const DecodeResult r = decode_bundle(as_bytes(bytes), 100, frames);
  EXPECT_EQ(r.status, DecodeStatus::kOversized);
  EXPECT_TRUE(frames.empty());
}

TEST(BundleCodec, AppendsAfterWhatIsAlreadyInTheBuffer) {
  std::string out = "prefix";
  const size_t start = begin_bundle(out);
  out += data_frame(9, "x");
  finish_bundle(out, start, 1, 2, 1);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  Frames frames;
  ASSERT_EQ(decode_bundle(as_bytes(out).subspan(6), kMaxUdpFramePayload, frames).status,
            DecodeStatus::kOk);
  ASSERT_EQ(frames.size(), 1u);
}

}  // namespace
}  // namespace chat::wire
