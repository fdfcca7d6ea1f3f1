#pragma once
// Receive-side accounting of one link's 32-bit sequence numbers: loss,
// duplicates and reordering each counted exactly, across the 2^32 wrap, plus RFC 3550 jitter.
//
// Sequence numbers are extended to 64 bits with serial-number arithmetic (RFC 1982): each arrival
// is placed within +/- 2^31 of the highest one seen so far, so the counters stay exact across the
// wrap as long as the sender never jumps by 2^31 or more between two arrivals.
//
// A bitmap remembers which of the last `window` sequence numbers (ending at the highest) arrived.
// Every arrival is classified once, and each counter means exactly one thing:
//
//   received    distinct sequence numbers seen (in order, ahead of a gap, or late but new).
//   duplicates  arrivals whose number was already seen and is still inside the window.
//   reordered   first arrivals of a number lower than the highest seen so far ("late"). They are
//               also counted in `received`, and they fill a gap, so `lost` goes down by one.
//   stale       arrivals older than the window: we can no longer tell a duplicate from a very late
//               first arrival, so they count in neither `received` nor `duplicates`; `lost` keeps
//               counting that number as missing. Callers that report a single duplicate figure
//               should add `stale` to `duplicates` ("duplicate or too late to tell").
//   lost        expected - received, where expected = highest - first + 1 in extended numbers:
//               gaps not (yet) filled. It is a snapshot, never negative, and shrinks when a late
//               packet fills a gap. A late packet below the first one seen extends `first` back to
//               it (the stream evidently started earlier), so gaps before it become expected too.
//
// Unlike iperf3, duplicates never inflate `received` nor hide loss: a duplicate is recognised by
// its bit in the window, not inferred from a counter going backwards.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chat::udp {

enum class Arrival {
  kFirst,      // the very first packet of the link
  kNext,       // above the highest seen (in order, or ahead of a gap)
  kReordered,  // below the highest, first time seen within the window
  kDuplicate,  // seen before, within the window
  kStale,      // older than the window: duplicate or very late, cannot tell
};

class SequenceTracker {
 public:
  static constexpr size_t kDefaultWindow = 1024;

  // `window` is rounded up to a power of two, at least 64.
  explicit SequenceTracker(size_t window = kDefaultWindow);

  // Classifies one arrival. The jitter estimate is fed only by new packets (not duplicates or stale
  // ones), using the sender's timestamp and our receive time, both in nanoseconds on any clocks:
  // only differences within each clock are used.
  Arrival record(uint32_t seq, uint64_t sent_ns, uint64_t received_ns);
  Arrival record(uint32_t seq);  // no timing information: jitter unchanged

  uint64_t received() const { return received_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t reordered() const { return reordered_; }
  uint64_t stale() const { return stale_; }
  uint64_t expected() const { return started_ ? highest_ - first_ + 1 : 0; }
  uint64_t lost() const { return expected() - received_; }

  // RFC 3550 section 6.4.1 interarrival jitter: J += (|D| - J) / 16, where D is the change in
  // transit time between consecutive new arrivals (in arrival order).
  uint64_t jitter_ns() const { return static_cast<uint64_t>(jitter_ + 0.5); }

  size_t window() const { return window_; }
  uint32_t highest() const { return static_cast<uint32_t>(highest_); }

 private:
  Arrival classify(uint32_t seq, bool& is_new);
  bool test(uint64_t ext) const { return bits_[(ext & mask_) >> 6] >> (ext & 63) & 1; }
  void set(uint64_t ext) { bits_[(ext & mask_) >> 6] |= uint64_t{1} << (ext & 63); }
  void clear(uint64_t ext) { bits_[(ext & mask_) >> 6] &= ~(uint64_t{1} << (ext & 63)); }

  size_t window_;
  uint64_t mask_;
  std::vector<uint64_t> bits_;
  bool started_ = false;
  uint64_t first_ = 0;  // extended numbers start at 2^32 so a late packet before the first fits
  uint64_t highest_ = 0;
  uint64_t received_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t reordered_ = 0;
  uint64_t stale_ = 0;

  bool have_transit_ = false;
  int64_t last_transit_ = 0;  // received_ns - sent_ns of the previous new arrival (wrapping)
  double jitter_ = 0;
};

}  // namespace chat::udp
