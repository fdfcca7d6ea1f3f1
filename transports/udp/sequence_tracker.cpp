#include "transports/udp/sequence_tracker.h"

#include <algorithm>
#include <bit>
#include <cstdlib>

namespace chat::udp {
namespace {

constexpr uint64_t kExtendedBase = uint64_t{1} << 32;

}  // namespace

SequenceTracker::SequenceTracker(size_t window)
    : window_(std::bit_ceil(window < 64 ? size_t{64} : window)),
      mask_(window_ - 1),
      bits_(window_ / 64, 0) {}

Arrival SequenceTracker::classify(uint32_t seq, bool& is_new) {
  is_new = false;
  if (!started_) {
    started_ = true;
    first_ = highest_ = kExtendedBase + seq;
    set(highest_);
    ++received_;
    is_new = true;
    return Arrival::kFirst;
  }
  // Serial-number arithmetic: the signed 32-bit distance from the highest places the arrival.
  const auto delta = static_cast<int32_t>(seq - static_cast<uint32_t>(highest_));
  if (delta > 0) {
    const uint64_t ext = highest_ + static_cast<uint64_t>(delta);
    if (static_cast<uint64_t>(delta) >= window_) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      for (uint64_t s = highest_ + 1; s < ext; ++s) clear(s);
    }
    set(ext);
    highest_ = ext;
    ++received_;
    is_new = true;
    return Arrival::kNext;
  }
  const uint64_t back = static_cast<uint64_t>(-static_cast<int64_t>(delta));
  if (back >= window_ || back > highest_) {
    ++stale_;
    return Arrival::kStale;
  }
  const uint64_t ext = highest_ - back;
  // Slots below `first_` were cleared when the window moved or never set, so they read as unseen.
  if (ext >= first_ && test(ext)) {
    ++duplicates_;
    return Arrival::kDuplicate;
  }
  set(ext);
  if (ext < first_) first_ = ext;
  ++received_;
  ++reordered_;
  is_new = true;
  return Arrival::kReordered;
}

Arrival SequenceTracker::record(uint32_t seq) {
  bool is_new = false;
  return classify(seq, is_new);
}

Arrival SequenceTracker::record(uint32_t seq, uint64_t sent_ns, uint64_t received_ns) {
  bool is_new = false;
  const Arrival arrival = classify(seq, is_new);
  if (!is_new) return arrival;
  // Unsigned subtraction then a signed view: the two clocks may be unrelated, only the change
  // in transit time between arrivals matters.
  const auto transit = static_cast<int64_t>(received_ns - sent_ns);
  if (have_transit_) {
    const int64_t d = transit - last_transit_;
    const double abs_d = static_cast<double>(d < 0 ? -d : d);
    jitter_ += (abs_d - jitter_) / 16.0;
  }
  have_transit_ = true;
  last_transit_ = transit;
  return arrival;
}

}  // namespace chat::udp
