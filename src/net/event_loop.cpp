#include "src/net/event_loop.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "src/net/socket.h"

namespace chat::net {

using Clock = std::chrono::steady_clock;

namespace {

// Watches carry a generation >= 1 in the upper half, so an all-zero tag is free for the timerfd.
constexpr uint64_t kTimerTag = 0;

}  // namespace

EventLoop::EventLoop(IoBackend backend)
    : timer_fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
  if (backend == IoBackend::kUring) poller_ = make_uring_poller();
  if (backend == IoBackend::kBlocking) poller_ = make_blocking_poller();
  if (!poller_) poller_ = make_epoll_poller();  // io_uring refused here: epoll serves the same
  // Construction failing means the process cannot work at all; this is the one throw.
  if (!timer_fd_.valid())
    throw std::runtime_error(std::string("timerfd_create: ") + strerror(errno));
  if (const int err = poller_->add(timer_fd_.get(), EPOLLIN, kTimerTag); err != 0)
    throw std::runtime_error(std::string("watching the timerfd: ") + strerror(err));
}

EventLoop::~EventLoop() = default;

namespace {

// CHAT_IO_BACKEND picks one for a whole process tree (the event loop's tests run once per backend).
std::optional<IoBackend> backend_from_environment() {
  IoBackend b{};
  const char* named = std::getenv("CHAT_IO_BACKEND");
  if (named && parse_io_backend(named, b)) return b;
  return std::nullopt;
}

}  // namespace

IoBackend default_io_backend() {
  // epoll: io_uring's one call per round trip instead of three saves ~0.5 us of a ~40 us loopback
  // round trip, which compare's alternating rounds could not tell from noise (README, "Where the
  // time goes"), while its one datagram per wake-up costs bulk UDP what recvmmsg batches save.
  return backend_from_environment().value_or(IoBackend::kEpoll);
}

IoBackend latency_io_backend() {
  if (auto named = backend_from_environment()) return *named;
  // `chat bench rtt --pin` at 64 B against sockperf, 10 alternating rounds, p50 ÷ sockperf's:
  // blocking 0.980 (UDP) and 0.960 (TCP) where io_uring gave 1.088 and 1.084 (README, "Waiting:
  // epoll, io_uring or blocking"). It needs no kernel feature, so it is always there.
  return IoBackend::kBlocking;
}

void EventLoop::add(int fd, uint32_t events, IoHandler handler) {
  const uint64_t gen = next_generation_++;
  // The generation in the upper half tells a stale event for a reused fd number from a live one.
  if (const int err = poller_->add(fd, events, (gen << 32) | static_cast<uint32_t>(fd)); err != 0)
    throw std::runtime_error(std::string("watching fd ") + std::to_string(fd) + ": " +
                             strerror(err));
  if (static_cast<size_t>(fd) >= watches_.size()) watches_.resize(static_cast<size_t>(fd) + 1);
  watches_[fd] = Watch{gen, std::make_shared<IoHandler>(std::move(handler))};
}

void EventLoop::modify(int fd, uint32_t events) {
  const Watch* w = watch_of(fd);
  if (!w) return;
  poller_->modify(fd, events, (w->generation << 32) | static_cast<uint32_t>(fd));
}

bool EventLoop::has_unread(int fd) const {
  return holds_read_ahead(fd) || has_bytes_waiting(fd);
}

void EventLoop::remove(int fd) {
  if (watch_of(fd)) {
    watches_[fd] = Watch{};
    poller_->remove(fd);
  }
}

TimerId EventLoop::run_after(Duration delay, std::function<void()> fn) {
  const TimerId id = next_timer_++;
  timers_[id] = Timer{Duration::zero(), std::move(fn)};
  timer_queue_.emplace(Clock::now() + delay, id);
  return id;
}

TimerId EventLoop::run_every(Duration period, std::function<void()> fn) {
  const TimerId id = next_timer_++;
  timers_[id] = Timer{period, std::move(fn)};
  timer_queue_.emplace(Clock::now() + period, id);
  return id;
}

void EventLoop::cancel(TimerId id) {
  timers_.erase(id);
}

void EventLoop::defer_for(const void* owner, std::function<void()> fn) {
  deferred_.push_back(Deferred{owner, std::move(fn)});
}

void EventLoop::forget(const void* owner) {
  // Marked, not erased: one of them may be the function running right now.
  for (Deferred& d : deferred_)
    if (d.owner == owner) d.forgotten = true;
  for (std::vector<Deferred>* batch : walking_)
    for (Deferred& d : *batch)
      if (d.owner == owner) d.forgotten = true;
}

void EventLoop::on_signals(std::function<void(int)> fn) {
  signal_handler_ = std::move(fn);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  add(signal_fd_.get(), EPOLLIN, [this](uint32_t) {
    signalfd_siginfo info{};
    while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info)
      if (signal_handler_) signal_handler_(static_cast<int>(info.ssi_signo));
  });
}

EventLoop::WaitFor EventLoop::prepare_wait() {
  // Cancelled entries are dropped here, lazily: their ids are gone from timers_.
  while (!timer_queue_.empty() && !timers_.count(timer_queue_.begin()->second))
    timer_queue_.erase(timer_queue_.begin());
  if (!deferred_.empty() || spinning_) return {0};
  // With no timer at all, a timerfd armed for a cancelled one wakes us once.
  if (timer_queue_.empty()) return {-1};
  const auto when = timer_queue_.begin()->first;
  const auto now = Clock::now();
  if (when <= now) return {0};
  const int64_t quiet_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when - now).count();
  if (when != armed_for_) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch());
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns.count() / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns.count() % 1'000'000'000);
    // steady_clock is CLOCK_MONOTONIC on Linux, so its time points are the timerfd's.
    if (::timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0)
      return {1, quiet_ns};
    armed_for_ = when;
  }
  return {-1, quiet_ns};
}

void EventLoop::run_timers() {
  const auto now = Clock::now();
  while (!timer_queue_.empty() && timer_queue_.begin()->first <= now) {
    const auto [when, id] = *timer_queue_.begin();
    timer_queue_.erase(timer_queue_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;
    if (it->second.period > Duration::zero()) {
      timer_queue_.emplace(
          when + it->second.period < now ? now + it->second.period : when + it->second.period, id);
      auto fn = it->second.fn;  // copy: the callback may cancel its own timer
      fn();
    } else {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      fn();
    }
  }
}

void EventLoop::run_deferred() {
  while (!deferred_.empty()) {
    // The batch runs from the spare list swapped with deferred_, so both keep their capacity and
    // a loop that defers a flush every turn allocates nothing for it. The spare is taken out while
    // in use: a loop nested in deferred work finds none and makes its own. What this batch defers
    // goes into the emptied deferred_ and runs in the next pass.
    std::vector<Deferred> batch = std::move(spare_deferred_);
    batch.swap(deferred_);
    walking_.push_back(&batch);
    struct Walked {  // however the batch ends, a throw included
      EventLoop& loop;
      std::vector<Deferred>& batch;
      ~Walked() {
        loop.walking_.pop_back();
        batch.clear();
        loop.spare_deferred_ = std::move(batch);
      }
    } walked{*this, batch};
    for (Deferred& d : batch)
      if (!d.forgotten) d.fn();
  }
}

void EventLoop::run() {
  running_ = true;
  struct Depth {  // counted down however run() ends
    int& depth;
    explicit Depth(int& d) : depth(++d) {}
    ~Depth() { --depth; }
  } nested{depth_};
  std::vector<PollEvent> ready;  // local: a handler may run a nested loop
  ready.reserve(64);
  while (running_) {
    ready.clear();
    const WaitFor w = prepare_wait();
    const int n = poller_->wait(ready, w.timeout_ms, w.quiet_ns);
    if (n < 0 && errno != EINTR)
      throw std::runtime_error(std::string(io_backend_name(backend())) +
                               " wait: " + strerror(errno));
    for (const PollEvent& event : ready) {
      if (event.tag == kTimerTag) {
        uint64_t expirations = 0;
        (void)!::read(timer_fd_.get(), &expirations, sizeof expirations);
        armed_for_ = Clock::time_point::max();
        continue;
      }
      const int fd = static_cast<int>(event.tag & 0xFFFFFFFF);
      const uint64_t gen = event.tag >> 32;
      const Watch* w = watch_of(fd);
      if (!w || w->generation != gen) continue;
      auto handler = w->handler;  // keeps the handler alive if it removes itself
      (*handler)(event.events);
    }
    run_timers();
    run_deferred();
  }
  run_deferred();
}

}  // namespace chat::net
