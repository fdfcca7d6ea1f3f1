#pragma once
// Watches another process from /proc while an experiment runs: its thread count and resident
// memory at their peak, and the CPU time it used. A background thread samples every few ms.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace chat::demo {

struct ProcUsage {
  uint64_t threads = 0;  // peak
  uint64_t rss_kib = 0;  // peak (VmHWM, the kernel's own high-water mark)
  double cpu_s = 0;      // user + system
};

// One reading of /proc/PID; zeros if the process is gone.
ProcUsage read_proc(pid_t pid);

class ProcSampler {
 public:
  explicit ProcSampler(pid_t pid);
  ~ProcSampler();
  ProcSampler(const ProcSampler&) = delete;
  ProcSampler& operator=(const ProcSampler&) = delete;

  // Stops sampling and returns the peaks (CPU time from the last reading).
  ProcUsage finish();

 private:
  pid_t pid_;
  std::atomic<bool> running_{true};
  ProcUsage peak_;
  std::thread thread_;
};

}  // namespace chat::demo
