#pragma once
// A byte buffer with read and write indices (muduo's Buffer): bytes are appended at the write index
// and consumed from the read index, so a partial read or write never shifts data around, and a few
// bytes of prependable space let a codec put a length header in front without a copy.
//
//   [prependable | readable (read_index_ .. write_index_) | writable]
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chat::net {

class EventLoop;

class Buffer {
 public:
  static constexpr size_t kCheapPrepend = 8;
  static constexpr size_t kInitialSize = 4096;
  // A read offers at least this much room (the rest lands on the stack first), so one syscall
  // can take a whole burst without every idle connection holding a large buffer.
  static constexpr size_t kReadSpill = 64 * 1024;

  explicit Buffer(size_t initial_size = kInitialSize)
      : buf_(new char[kCheapPrepend + initial_size]),
        size_(kCheapPrepend + initial_size),
        read_index_(kCheapPrepend),
        write_index_(kCheapPrepend) {}

  size_t readable_bytes() const { return write_index_ - read_index_; }
  size_t writable_bytes() const { return size_ - write_index_; }
  size_t prependable_bytes() const { return read_index_; }
  size_t capacity() const { return size_; }
  bool empty() const { return readable_bytes() == 0; }

  const char* peek() const { return buf_.get() + read_index_; }
  std::string_view view() const { return {peek(), readable_bytes()}; }
  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(peek()), readable_bytes()};
  }

  void retrieve(size_t n);
  void retrieve_all() { read_index_ = write_index_ = kCheapPrepend; }
  std::string retrieve_all_as_string();

  void append(std::string_view bytes) { append(bytes.data(), bytes.size()); }
  void append(const void* data, size_t n);
  // Puts bytes in front of the readable ones; `n` must not exceed prependable_bytes().
  void prepend(const void* data, size_t n);

  char* begin_write() { return buf_.get() + write_index_; }
  void has_written(size_t n) { write_index_ += n; }
  void ensure_writable(size_t n);

  // Gives memory back when a burst has passed: an idle connection should not keep megabytes.
  void shrink_if_idle(size_t keep);

  // One read from `fd` into the writable space plus kReadSpill bytes of stack (readv). Returns
  // what read() returned; on -1 the errno is in `saved_errno`. With `loop`, an fd the loop reads
  // ahead is read through it (EventLoop::read_ahead).
  ssize_t read_fd(int fd, int& saved_errno, EventLoop* loop = nullptr);

 private:
  void make_space(size_t n);

  // Not a std::vector: growing one zero-fills the new room, which a read then overwrites at once
  // (~2.5 % of a 128 KiB TCP stream's receiving samples went to that memset).
  std::unique_ptr<char[]> buf_;
  size_t size_;
  size_t read_index_;
  size_t write_index_;
};

}  // namespace chat::net
