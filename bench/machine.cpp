#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include "bench/results.h"

namespace chat::bench {
namespace {

int64_t read_sysctl(const char* path) {
  std::ifstream in(path);
  int64_t v = -1;
  if (in >> v) return v;
  return -1;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    // x86 says "model name", some ARM kernels only "Hardware" or "CPU part".
    if (line.rfind("model name", 0) == 0 || line.rfind("Hardware", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
      }
    }
  }
  return "unknown";
}

}  // namespace

MachineFacts collect_machine_facts() {
  MachineFacts m;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) m.hostname = host;
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m.cpu_model = cpu_model();
  m.cores = static_cast<int>(std::thread::hardware_concurrency());
  m.rmem_max = read_sysctl("/proc/sys/net/core/rmem_max");
  m.wmem_max = read_sysctl("/proc/sys/net/core/wmem_max");
  m.rmem_default = read_sysctl("/proc/sys/net/core/rmem_default");
  m.wmem_default = read_sysctl("/proc/sys/net/core/wmem_default");
  return m;
}

}  // namespace chat::bench
