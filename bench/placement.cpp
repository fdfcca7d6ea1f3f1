#include "bench/placement.h"

#include <sched.h>

#include <cstring>

#include <fmt/format.h>

#include "bench/subprocess.h"

namespace chat::bench {

namespace {

// Above the normal scheduler, far below the kernel's own real-time threads.
constexpr int kRealtimePriority = 10;

bool may_use_fifo() {
  if (!program_in_path("chrt")) return false;
  sched_param param{};
  param.sched_priority = kRealtimePriority;
  if (::sched_setscheduler(0, SCHED_FIFO, &param) != 0) return false;
  param.sched_priority = 0;
  ::sched_setscheduler(0, SCHED_OTHER, &param);
  return true;
}

}  // namespace

std::string Placement::describe() const {
  if (!active()) return "unpinned";
  if (realtime > 0)
    return fmt::format("client on cpu {}, server on cpu {}, both SCHED_FIFO {}", client_cpu,
                       server_cpu, realtime);
  return fmt::format("client on cpu {}, server on cpu {}", client_cpu, server_cpu);
}

Placement separate_cores() {
  Placement p;
  if (!program_in_path("taskset")) return p;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return p;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    if (p.client_cpu < 0) {
      p.client_cpu = cpu;
    } else {
      p.server_cpu = cpu;
      if (may_use_fifo()) p.realtime = kRealtimePriority;
      return p;
    }
  }
  return Placement{};
}

std::vector<std::string> pinned(std::vector<std::string> argv, int cpu, int realtime) {
  if (realtime > 0) argv.insert(argv.begin(), {"chrt", "-f", std::to_string(realtime)});
  if (cpu < 0) return argv;
  argv.insert(argv.begin(), {"taskset", "-c", std::to_string(cpu)});
  return argv;
}

ScopedAffinity::ScopedAffinity(int cpu, int realtime) {
  if (realtime > 0) {
    old_policy_ = ::sched_getscheduler(0);
    sched_param param{};
    param.sched_priority = realtime;
    restore_policy_ = old_policy_ >= 0 && ::sched_getparam(0, &old_param_) == 0 &&
                      ::sched_setscheduler(0, SCHED_FIFO, &param) == 0;
  }
  if (cpu < 0) return;
  cpu_set_t old;
  if (::sched_getaffinity(0, sizeof old, &old) != 0) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (::sched_setaffinity(0, sizeof one, &one) != 0) return;
  saved_.resize(sizeof old);
  std::memcpy(saved_.data(), &old, sizeof old);
  restore_ = true;
}

ScopedAffinity::~ScopedAffinity() {
  if (restore_policy_) ::sched_setscheduler(0, old_policy_, &old_param_);
  if (!restore_) return;
  cpu_set_t old;
  std::memcpy(&old, saved_.data(), sizeof old);
  ::sched_setaffinity(0, sizeof old, &old);
}

}  // namespace chat::bench
