// net::Buffer: the read/write-index byte buffer under the TCP transport.
#include "src/net/buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "src/net/fd.h"

namespace chat::net {
namespace {

TEST(TcpBuffer, AppendAndRetrieve) {
  Buffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.prependable_bytes(), Buffer::kCheapPrepend);
  b.append("hello world");
  EXPECT_EQ(b.readable_bytes(), 11u);
  EXPECT_EQ(b.view(), "hello world");
  b.retrieve(6);
  EXPECT_EQ(b.view(), "world");
  EXPECT_EQ(b.prependable_bytes(), Buffer::kCheapPrepend + 6);
  EXPECT_EQ(b.retrieve_all_as_string(), "world");
  EXPECT_TRUE(b.empty());
  // Consuming everything rewinds the indices, so the space is reused.
  EXPECT_EQ(b.prependable_bytes(), Buffer::kCheapPrepend);
}

TEST(TcpBuffer, PrependUsesTheReservedSpace) {
  Buffer b;
  b.append("payload");
  const char header[4] = {'\x00', '\x00', '\x00', '\x07'};
  b.prepend(header, sizeof header);
  EXPECT_EQ(b.readable_bytes(), 11u);
  EXPECT_EQ(b.view().substr(4), "payload");
  EXPECT_EQ(b.view()[3], '\x07');
}

TEST(TcpBuffer, SlidesBeforeGrowing) {
  Buffer b(64);
  const size_t capacity = b.capacity();
  b.append(std::string(60, 'a'));
  b.retrieve(50);
  // 10 readable, 4 writable, 50 reclaimable in front: 40 more fit without growing.
  b.append(std::string(40, 'b'));
  EXPECT_EQ(b.capacity(), capacity);
  EXPECT_EQ(b.view(), std::string(10, 'a') + std::string(40, 'b'));
}

TEST(TcpBuffer, GrowsForLargeAppends) {
  Buffer b(16);
  const std::string big(100000, 'x');
  b.append("head");
  b.append(big);
  EXPECT_EQ(b.readable_bytes(), 4 + big.size());
  EXPECT_EQ(b.view().substr(0, 4), "head");
  EXPECT_EQ(b.view().substr(4), big);
}

TEST(TcpBuffer, ShrinksOnlyWhenIdle) {
  Buffer b(16);
  b.append(std::string(100000, 'x'));
  b.shrink_if_idle(1024);
  EXPECT_GT(b.capacity(), 100000u);  // still holds data
  b.retrieve_all();
  b.shrink_if_idle(1024);
  EXPECT_EQ(b.capacity(), Buffer::kCheapPrepend + 1024);
  b.append("ok");
  EXPECT_EQ(b.view(), "ok");
}

TEST(TcpBuffer, ReadFdSpillsPastTheWritableSpace) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  Fd r(fds[0]);
  Fd w(fds[1]);
  std::string data(50000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(::write(w.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));

  Buffer b(128);  // far smaller than the burst: most of it lands in the spill area first
  int err = 0;
  ssize_t total = 0;
  while (total < static_cast<ssize_t>(data.size())) {
    const ssize_t n = b.read_fd(r.get(), err);
    ASSERT_GT(n, 0);
    total += n;
  }
  EXPECT_EQ(b.view(), data);
  EXPECT_EQ(b.read_fd(r.get(), err), -1);
  EXPECT_EQ(err, EAGAIN);
  w.reset();
  EXPECT_EQ(b.read_fd(r.get(), err), 0);  // EOF
}

}  // namespace
}  // namespace chat::net
