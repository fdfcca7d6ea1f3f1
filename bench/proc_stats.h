#pragma once
// What a process costs, read from /proc: the hub's resident memory per member and the CPU both
// sides of a fan-out spend, so a run can say which one was the bottleneck.
#include <sys/types.h>

#include <cstdint>

namespace chat::bench {

// Resident set size in KiB (VmRSS of /proc/PID/status); 0 when it cannot be read.
uint64_t resident_kib(pid_t pid);

// User plus system CPU seconds the process has used so far; negative when it cannot be read.
double cpu_seconds(pid_t pid);

}  // namespace chat::bench
