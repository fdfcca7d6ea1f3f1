#pragma once
// Where a latency measurement's two ends run. On a small VM the scheduler's choice (both ends on
// one core, woken in place, or on two cores, woken by an inter-processor interrupt) moves a
// loopback round trip between ~15 and ~60 µs, far more than any difference between two programs.
// Comparisons therefore pin both tools the same way: client on one core, server on another.
#include <sched.h>

#include <string>
#include <vector>

namespace chat::bench {

struct Placement {
  int client_cpu = -1;
  int server_cpu = -1;
  // SCHED_FIFO priority for both ends of a sleeping (not spinning) measurement; 0: the normal
  // scheduler. On a shared machine a woken end otherwise waits behind whatever else runs on its
  // core (a compiler, say), and p99 measures that load, not the programs.
  int realtime = 0;
  bool active() const { return client_cpu >= 0 && server_cpu >= 0; }
  // "client on cpu 0, server on cpu 1[, both SCHED_FIFO 10]" or "unpinned"
  std::string describe() const;
};

// Two distinct CPUs this process may use, when there are two and `taskset` is installed; with
// `realtime` when this process may use SCHED_FIFO and `chrt` is installed.
Placement separate_cores();

// Prefixes argv with `taskset -c cpu` (no change for cpu < 0) and, for realtime > 0,
// `chrt -f realtime`.
std::vector<std::string> pinned(std::vector<std::string> argv, int cpu, int realtime = 0);

// Pins this (single-threaded) process to one CPU, and to SCHED_FIFO `realtime` when above 0, for
// its lifetime, then restores the old mask and policy.
class ScopedAffinity {
 public:
  explicit ScopedAffinity(int cpu, int realtime = 0);
  ~ScopedAffinity();
  ScopedAffinity(const ScopedAffinity&) = delete;
  ScopedAffinity& operator=(const ScopedAffinity&) = delete;

 private:
  bool restore_ = false;
  bool restore_policy_ = false;
  int old_policy_ = 0;
  sched_param old_param_{};
  std::vector<unsigned char> saved_;  // the cpu_set_t, as bytes
};

}  // namespace chat::bench
