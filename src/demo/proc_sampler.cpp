#include "src/demo/proc_sampler.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace chat::demo {

ProcUsage read_proc(pid_t pid) {
  ProcUsage u;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "Threads:") status >> u.threads;
    if (key == "VmHWM:") status >> u.rss_kib;
    status.ignore(1 << 12, '\n');
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  // Fields after the command name (which may hold spaces) start after its closing ')'.
  const size_t close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    u.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  return u;
}

ProcSampler::ProcSampler(pid_t pid) : pid_(pid) {
  thread_ = std::thread([this] {
    while (running_) {
      const ProcUsage u = read_proc(pid_);
      peak_.threads = std::max(peak_.threads, u.threads);
      peak_.rss_kib = std::max(peak_.rss_kib, u.rss_kib);
      if (u.cpu_s > 0) peak_.cpu_s = u.cpu_s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

ProcSampler::~ProcSampler() {
  finish();
}

ProcUsage ProcSampler::finish() {
  if (thread_.joinable()) {
    running_ = false;
    thread_.join();
    const ProcUsage last = read_proc(pid_);
    peak_.threads = std::max(peak_.threads, last.threads);
    peak_.rss_kib = std::max(peak_.rss_kib, last.rss_kib);
    if (last.cpu_s > 0) peak_.cpu_s = last.cpu_s;
  }
  return peak_;
}

}  // namespace chat::demo
