#include "bench/histogram.h"

#include <algorithm>
#include <cmath>

namespace chat::bench {

Histogram::Histogram() : counts_(kBuckets, 0) {}

uint64_t Histogram::bucket_value(size_t index) {
  if (index < kSubBuckets) return index;
  const uint64_t shift = (index - kSubBuckets) / kSubBuckets;
  const uint64_t sub = (index - kSubBuckets) % kSubBuckets;
  const uint64_t lower = (kSubBuckets + sub) << shift;
  const uint64_t width = uint64_t{1} << shift;
  return lower + (width - 1) / 2;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // Nearest-rank definition: the sample at rank ceil(p/100 * n), at least the first.
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  // The extremes are known exactly; no need to round them to a bucket.
  if (rank == 1) return min();
  if (rank == count_) return max_;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_value(i), min(), max_);
  }
  return max_;
}

}  // namespace chat::bench
