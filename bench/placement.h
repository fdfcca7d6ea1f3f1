#pragma once
// Where a latency measurement's two ends run. On a small VM the scheduler's choice (both ends on
// one core, woken in place, or on two cores, woken by an inter-processor interrupt) moves a
// loopback round trip between ~15 and ~60 µs, far more than any difference between two programs.
// Comparisons therefore pin both tools the same way: client on one core, server on another.
#include <string>
#include <vector>

namespace chat::bench {

struct Placement {
  int client_cpu = -1;
  int server_cpu = -1;
  bool active() const { return client_cpu >= 0 && server_cpu >= 0; }
  std::string describe() const;  // "client on cpu 0, server on cpu 1" or "unpinned"
};

// Two distinct CPUs this process may use, when there are two and `taskset` is installed.
Placement separate_cores();

// Prefixes argv with `taskset -c cpu` (no change for cpu < 0).
std::vector<std::string> pinned(std::vector<std::string> argv, int cpu);

// Pins this (single-threaded) process to one CPU for its lifetime, then restores the old mask.
class ScopedAffinity {
 public:
  explicit ScopedAffinity(int cpu);
  ~ScopedAffinity();
  ScopedAffinity(const ScopedAffinity&) = delete;
  ScopedAffinity& operator=(const ScopedAffinity&) = delete;

 private:
  bool restore_ = false;
  std::vector<unsigned char> saved_;  // the cpu_set_t, as bytes
};

}  // namespace chat::bench
