#include "bench/path.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bench/common.h"
#include "bench/impair_flags.h"
#include "bench/subprocess.h"

namespace chat::bench {

Result<std::shared_ptr<BenchPath>> BenchPath::emulated(const impair::Spec& up,
                                                       const impair::Spec& down) {
  link::LinkOptions o;
  o.name = fmt::format("bench-{}", ::getpid());
  o.up = up;
  o.down = down;
  auto l = link::Link::start(o);
  if (!l) return make_error("cannot make the emulated link: " + l.error().message);
  auto path = std::shared_ptr<BenchPath>(new BenchPath());
  path->home_netns_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (auto r = l->enter(link::Side::kClient); !r) return r.error();
  path->kind_ = "emulated";
  path->up_ = up;
  path->down_ = down;
  path->host_ = link::kServerV4;
  path->link_.emplace(std::move(*l));
  return path;
}

std::shared_ptr<BenchPath> BenchPath::remote(const std::string& host) {
  auto path = std::shared_ptr<BenchPath>(new BenchPath());
  path->kind_ = "remote";
  path->host_ = host;
  return path;
}

BenchPath::~BenchPath() {
  if (!link_) return;
  link_.reset();  // takes the link down
  // Back home when we may (root); in a user namespace the process stays where it is.
  if (home_netns_.valid()) (void)::setns(home_netns_.get(), CLONE_NEWNET);
}

std::vector<std::string> BenchPath::server_argv(std::vector<std::string> argv) const {
  if (!link_) return argv;
  auto prefix = link_->exec_prefix(link::Side::kServer, self_executable());
  prefix.insert(prefix.end(), argv.begin(), argv.end());
  return prefix;
}

Result<void> BenchPath::set(const impair::Spec& up, const impair::Spec& down) {
  if (!link_) return make_error("no emulated link on this path");
  auto r = link_->set(up, down);
  if (r) {
    up_ = up;
    down_ = down;
  }
  return r;
}

std::chrono::nanoseconds BenchPath::round_trip_delay() const {
  if (!link_) return std::chrono::nanoseconds(0);
  return up_.delay + up_.jitter + down_.delay + down_.jitter;
}

Json BenchPath::describe(const Json& c) const {
  Json j{{"kind", kind_}};
  if (kind_ == "remote") j["host"] = host_;
  if (!link_) return j;
  for (const char* dir : {"up", "down"}) {
    if (!c.contains(dir)) continue;
    j[std::string("impair_") + dir] = c[dir].value("spec", "");
    j[std::string("seed_") + dir] = c[dir].value("seed", uint64_t{0});
  }
  return j;
}

Json BenchPath::counters() const {
  if (!link_) return Json::object();
  auto s = link_->status_json();
  if (!s) return Json::object();
  try {
    return Json::parse(*s);
  } catch (const std::exception&) {
    return Json::object();
  }
}

Json BenchPath::counter_delta(const Json& before, const Json& after) {
  Json out = Json::object();
  for (const char* dir : {"up", "down"}) {
    if (!after.contains(dir)) continue;
    Json d = Json::object();
    for (const char* k : {"packets_in", "packets_out", "bytes_out", "lost", "queue_drops",
                          "aqm_drops", "duplicated", "reordered", "corrupted"}) {
      const uint64_t a = after[dir].value(k, uint64_t{0});
      const uint64_t b = before.contains(dir) ? before[dir].value(k, uint64_t{0}) : 0;
      d[k] = a >= b ? a - b : 0;
    }
    d["max_queued_packets"] = after[dir].value("max_queued_packets", uint64_t{0});
    d["lateness_p99_us"] = after[dir]["lateness_us"].value("p99", 0.0);
    out[dir] = d;
  }
  return out;
}

Result<std::shared_ptr<BenchPath>> make_path(const ImpairFlags& flags, const std::string& target) {
  if (!target.empty()) {
    if (flags.given())
      return make_error("--impair makes a link of its own; it cannot reach --target " + target);
    auto hp = parse_host_port(target);
    if (!hp) return make_error("--target: " + hp.error().message);
    if (is_loopback_host(hp->host)) return std::make_shared<BenchPath>();
    return BenchPath::remote(hp->host);
  }
  if (!flags.given()) return std::make_shared<BenchPath>();
  auto specs = flags.resolve();
  if (!specs) return specs.error();
  return BenchPath::emulated(specs->first, specs->second);
}

}  // namespace chat::bench
