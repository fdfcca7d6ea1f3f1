#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: values below 128 ns are kept
// exactly; above that, every power of two is split into kSubBuckets equal buckets. A percentile is
// reported as the middle of its bucket, so its relative error is at most 1 / (2 * kSubBuckets)
// = 0.39 % (we state "≤ 0.4 %"), whatever the value. Recording is O(1) (a count-leading-zeros and
// an increment) and memory is fixed (~58 KiB), so a run of a billion samples costs the same as ten;
// min, max, mean and count are kept exactly beside the buckets.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chat::bench {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  // Bound on |reported - true| / true for any percentile.
  static constexpr double kMaxRelativeError = 1.0 / (2.0 * kSubBuckets);

  Histogram();

  void record(uint64_t value) {
    ++counts_[bucket_index(value)];
    ++count_;
    sum_ += static_cast<long double>(value);
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  void merge(const Histogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_ / count_) : 0.0; }
  // p in [0, 100]: the smallest recorded value v such that at least p % of samples are <= v,
  // reported within kMaxRelativeError and clamped to the exact [min, max].
  uint64_t percentile(double p) const;

  static size_t bucket_index(uint64_t value) {
    if (value < kSubBuckets) return static_cast<size_t>(value);
    const int top = 63 - __builtin_clzll(value);  // >= kSubBucketBits
    const int shift = top - kSubBucketBits;
    const uint64_t sub = (value >> shift) - kSubBuckets;  // 0 .. kSubBuckets-1
    return static_cast<size_t>(kSubBuckets + static_cast<uint64_t>(shift) * kSubBuckets + sub);
  }
  // The value a bucket stands for: the middle of its range.
  static uint64_t bucket_value(size_t index);

 private:
  static constexpr size_t kBuckets = kSubBuckets + (64 - kSubBucketBits) * kSubBuckets;

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  long double sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace chat::bench
