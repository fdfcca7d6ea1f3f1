#include "src/link/forwarder.h"

#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "src/link/netns.h"
#include "src/link/tun.h"

namespace chat::link {
namespace {

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// How early the timer fires before a packet is due; the loop polls the rest (see run). 50 µs
// missed the schedule by more than 100 µs at p99 on a shared 2-core VM; 100 µs did not.
constexpr int64_t kEarlyWake = 100'000;

// Bounded work per wake-up, so one busy direction cannot starve the other or the control socket.
constexpr int kBurst = 64;

nlohmann::ordered_json direction_json(const Direction& d) {
  const auto& c = d.pipe.counters();
  nlohmann::ordered_json j;
  j["spec"] = impair::format_spec(d.pipe.spec());
  j["seed"] = d.pipe.seed();
  j["packets_in"] = c.packets_in;
  j["bytes_in"] = c.bytes_in;
  j["packets_out"] = c.packets_out;
  j["bytes_out"] = c.bytes_out;
  j["lost"] = c.lost;
  j["queue_drops"] = c.queue_drops;
  j["aqm_drops"] = c.aqm_drops;
  j["duplicated"] = c.duplicated;
  j["reordered"] = c.reordered;
  j["corrupted"] = c.corrupted;
  j["queued_packets"] = c.queued_packets;
  j["queued_bytes"] = c.queued_bytes;
  j["max_queued_packets"] = c.max_queued_packets;
  j["write_errors"] = d.write_errors;
  j["lateness_us"] = {{"count", d.lateness.count()},
                      {"p50", d.lateness.percentile_us(0.50)},
                      {"p99", d.lateness.percentile_us(0.99)},
                      {"p999", d.lateness.percentile_us(0.999)},
                      {"max", d.lateness.max_us()}};
  return j;
}

}  // namespace

void LatenessHistogram::record(int64_t ns) {
  if (ns < 0) ns = 0;
  const size_t b = std::min<size_t>(static_cast<size_t>(ns / 1000), kBuckets - 1);
  ++buckets_[b];
  ++count_;
  max_ns_ = std::max(max_ns_, ns);
}

double LatenessHistogram::percentile_us(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    // The bucket's upper edge: a conservative reading of "within N µs".
    if (seen >= rank) return std::min(static_cast<double>(b + 1), max_us());
  }
  return max_us();
}

Forwarder::Forwarder(ForwarderSetup setup)
    : setup_(std::move(setup)),
      up_{"up", impair::Pipe(setup_.up, setup_.up.seed.value_or(setup_.seed))},
      down_{"down", impair::Pipe(setup_.down, setup_.down.seed.value_or(setup_.seed ^ 0x5bd1e995))},
      buffer_(65536) {
  up_.from = setup_.tun_client.get();
  up_.to = setup_.tun_server.get();
  down_.from = setup_.tun_server.get();
  down_.to = setup_.tun_client.get();
  timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  apply_offload(up_);
  apply_offload(down_);
}

bool offload_allowed(const impair::Spec& s) {
  const bool lossless = s.loss.kind == impair::LossKind::kNone ||
                        (s.loss.kind == impair::LossKind::kBernoulli && s.loss.p == 0);
  return lossless && s.jitter.count() == 0 && s.reorder == 0 && s.duplicate == 0 &&
         s.corrupt == 0 && s.rate_bps == 0;
}

void Forwarder::apply_offload(Direction& d) {
  d.offload = offload_allowed(d.pipe.spec());
  (void)set_offload(d.from, d.offload);
}

void Forwarder::forward(Direction& d, int64_t now) {
  std::array<uint8_t, kVnetHeader> header{};
  for (int i = 0; i < kBurst; ++i) {
    iovec iov[2] = {{header.data(), header.size()}, {buffer_.data(), buffer_.size()}};
    const ssize_t n = ::readv(d.from, iov, 2);
    if (n <= static_cast<ssize_t>(kVnetHeader)) break;  // EAGAIN: drained
    impair::Packet p;
    if (!pool_.empty()) {
      p = std::move(pool_.back());
      pool_.pop_back();
    }
    p.assign(buffer_.data(), buffer_.data() + (n - static_cast<ssize_t>(kVnetHeader)));
    if (header != std::array<uint8_t, kVnetHeader>{}) d.headers[p.data()] = header;
    d.pipe.push(std::move(p), now);
  }
  flush_due(d, now);
}

void Forwarder::flush_due(Direction& d, int64_t now) {
  due_.clear();
  d.pipe.pop_due(now, due_);
  static constexpr std::array<uint8_t, kVnetHeader> kPlain{};
  for (auto& dep : due_) {
    const uint8_t* header = kPlain.data();
    auto h = d.headers.end();
    if (!d.headers.empty() && (h = d.headers.find(dep.packet.data())) != d.headers.end())
      header = h->second.data();
    iovec iov[2] = {{const_cast<uint8_t*>(header), kVnetHeader},
                    {dep.packet.data(), dep.packet.size()}};
    // A packet leaves when it is handed to the other device; the write itself may go on to run
    // the receiving stack, which is the far side's time, not the link's.
    d.lateness.record(now_ns() - dep.due);
    if (::writev(d.to, iov, 2) < 0) ++d.write_errors;
    if (h != d.headers.end()) d.headers.erase(h);
    if (pool_.size() < 1024) pool_.push_back(std::move(dep.packet));
  }
  // A header whose packet the pipe dropped must not be matched to a later buffer at that address.
  if (!d.headers.empty() && d.pipe.counters().queued_packets == 0) d.headers.clear();
}

bool Forwarder::arm_timer() {
  std::optional<int64_t> next = up_.pipe.next_due();
  if (auto d = down_.pipe.next_due(); d && (!next || *d < *next)) next = d;
  if (next && *next - now_ns() <= kEarlyWake) return true;  // poll for it
  const int64_t want = next.value_or(-1);
  if (want == armed_for_) return false;
  armed_for_ = want;
  itimerspec spec{};
  if (want >= 0) {
    // Woken a little early, the loop polls the last stretch (see run): a wake-up can take tens
    // of microseconds on a busy VM, more than the precision the link promises.
    // 0 disarms a timerfd, so a due time already past becomes 1 ns.
    const int64_t at = std::max<int64_t>(want - kEarlyWake, 1);
    spec.it_value.tv_sec = at / 1'000'000'000;
    spec.it_value.tv_nsec = at % 1'000'000'000;
  }
  ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  return false;
}

std::string Forwarder::set(const std::string& up, const std::string& down) {
  auto u = impair::parse_spec(up);
  if (!u) return "error: " + u.error().message;
  auto d = impair::parse_spec(down);
  if (!d) return "error: " + d.error().message;
  // The MTU lives on the devices: the client's device sends up, the server's sends down.
  auto mtu = [&](int netns, uint32_t value, uint32_t old) -> Result<void> {
    if (value == old) return {};
    if (auto r = enter_namespace(netns, CLONE_NEWNET, "the link's namespace"); !r) return r;
    return set_mtu(setup_.device, value);
  };
  if (auto r = mtu(setup_.netns_client.get(), u->mtu, up_.pipe.spec().mtu); !r)
    return "error: " + r.error().message;
  if (auto r = mtu(setup_.netns_server.get(), d->mtu, down_.pipe.spec().mtu); !r)
    return "error: " + r.error().message;
  up_.pipe.set_spec(*u);
  down_.pipe.set_spec(*d);
  apply_offload(up_);
  apply_offload(down_);
  return "ok";
}

std::string Forwarder::status_json() const {
  nlohmann::ordered_json j;
  j["pid"] = ::getpid();
  j["up"] = direction_json(up_);
  j["down"] = direction_json(down_);
  return j.dump();
}

std::string Forwarder::handle(const std::string& request, bool& stop) {
  if (request == "status") return status_json();
  if (request == "down") {
    stop = true;
    return "ok";
  }
  if (request.rfind("set\n", 0) == 0) {
    const auto rest = request.substr(4);
    const auto nl = rest.find('\n');
    if (nl == std::string::npos) return "error: set needs an up and a down spec";
    return set(rest.substr(0, nl), rest.substr(nl + 1));
  }
  return "error: unknown request (status, set, down)";
}

void Forwarder::run(int control) {
  // Timer slack defaults to 50 µs; the link promises packets within 100 µs of their schedule.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  // On a busy machine an ordinary thread waits milliseconds for a core after its timer fires; a
  // real-time one is run at once. The loop blocks in epoll_wait, so it never holds the core idle,
  // and the kernel's real-time throttling still leaves others 5 % of it under a flood. Where the
  // policy is not allowed (no privilege), precision degrades with load, and status shows it.
  sched_param rt{};
  rt.sched_priority = 10;
  (void)::sched_setscheduler(0, SCHED_FIFO, &rt);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  net::Fd signals(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  net::Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  watch(up_.from);
  watch(down_.from);
  watch(timer_.get());
  watch(signals.get());
  if (control >= 0) watch(control);

  bool stop = false;
  epoll_event events[8];
  while (!stop) {
    // Whatever is due leaves first. A packet due within kEarlyWake is waited for by polling
    // (epoll_wait with no timeout), so reads go on meanwhile; anything later wakes the timer.
    const int64_t now = now_ns();
    flush_due(up_, now);
    flush_due(down_, now);
    const int timeout = arm_timer() ? 0 : -1;
    const int n = ::epoll_wait(ep.get(), events, 8, timeout);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      const int64_t now = now_ns();
      if (fd == up_.from) {
        forward(up_, now);
      } else if (fd == down_.from) {
        forward(down_, now);
      } else if (fd == timer_.get()) {
        uint64_t ticks = 0;
        (void)!::read(fd, &ticks, sizeof ticks);
        armed_for_ = -1;
      } else if (fd == signals.get()) {
        stop = true;
      } else if (fd == control) {
        net::Fd peer(::accept4(control, nullptr, nullptr, SOCK_CLOEXEC));
        if (!peer.valid()) continue;
        timeval tv{0, 200'000};  // a local client sends at once; never stall the link for long
        ::setsockopt(peer.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string request(4096, '\0');
        const ssize_t got = ::recv(peer.get(), request.data(), request.size(), 0);
        if (got <= 0) continue;
        request.resize(static_cast<size_t>(got));
        const std::string reply = handle(request, stop);
        (void)!::send(peer.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
      }
    }
  }
}

}  // namespace chat::link
