// The histogram's percentiles against exact nearest-rank percentiles of the same data, within the
// relative error the header states.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "bench/histogram.h"

namespace chat::bench {
namespace {

uint64_t exact_percentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

void expect_within_bound(const Histogram& h, const std::vector<uint64_t>& data) {
  for (double p : {0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = static_cast<double>(exact_percentile(data, p));
    const double got = static_cast<double>(h.percentile(p));
    EXPECT_LE(std::abs(got - exact), exact * Histogram::kMaxRelativeError + 1e-9)
        << "p" << p << " exact " << exact << " got " << got;
  }
}

TEST(BenchHistogram, SmallValuesAreExact) {
  Histogram h;
  std::vector<uint64_t> data;
  for (uint64_t v = 0; v < 128; ++v) {
    h.record(v);
    data.push_back(v);
  }
  for (double p : {1.0, 50.0, 99.0}) EXPECT_EQ(h.percentile(p), exact_percentile(data, p));
}

TEST(BenchHistogram, LogNormalLatenciesWithinStatedError) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(20'000.0), 0.8);  // ~20 us, long tail
  Histogram h;
  std::vector<uint64_t> data;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    h.record(v);
    data.push_back(v);
  }
  expect_within_bound(h, data);
}

TEST(BenchHistogram, WideRangeUniformWithinStatedError) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint64_t> exp_dist(0, 40);
  Histogram h;
  std::vector<uint64_t> data;
  for (int i = 0; i < 50'000; ++i) {
    const uint64_t v = (uint64_t{1} << exp_dist(rng)) + (rng() & 0xFFFF);
    h.record(v);
    data.push_back(v);
  }
  expect_within_bound(h, data);
}

TEST(BenchHistogram, MinMaxMeanCountAreExact) {
  Histogram h;
  for (uint64_t v : {1000u, 2000u, 3001u, 999'999u}) h.record(v);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 999'999u);
  EXPECT_DOUBLE_EQ(h.mean(), (1000.0 + 2000 + 3001 + 999'999) / 4);
  EXPECT_EQ(h.percentile(100), 999'999u);
  EXPECT_EQ(h.percentile(0), 1000u);
}

TEST(BenchHistogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 100'000; v += 7) {
    (v % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double p : {50.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(BenchHistogram, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(BenchHistogram, BucketIndexIsMonotonicAndCoversUint64) {
  size_t prev = 0;
  for (int shift = 0; shift < 64; ++shift) {
    const uint64_t v = uint64_t{1} << shift;
    const size_t idx = Histogram::bucket_index(v);
    EXPECT_GE(idx, prev);
    prev = idx;
  }
  Histogram h;
  h.record(UINT64_MAX);  // must not index past the end
  EXPECT_EQ(h.max(), UINT64_MAX);
}

}  // namespace
}  // namespace chat::bench
