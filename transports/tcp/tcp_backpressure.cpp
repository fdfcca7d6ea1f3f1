// What a TCP server does about peers that read more slowly than the room writes to them.
//
// Under the disconnect policy the room waits for them: a queue past the high-water mark stops the
// server reading from every peer, so the senders' own kernel buffers fill and their writes block,
// and nothing queues without bound here. Reading resumes once every queue fell below the
// low-water mark. A peer that cannot drain within the grace (one that stopped reading) is cut, so
// it holds the room up for that long only. Pausing is lazy: a link loses EPOLLIN only when it has
// something to say while the room is full, so a quiet crowd costs no system calls.
//
// Under the drop policy the room does not wait: what a full queue cannot take is dropped, logged
// at most once a second per peer, and the peer is told how much it missed once its queue drained
// (into the kernel's buffers, if not yet to its screen): the notice sits where the gap is.
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/util/clock.h"
#include "transports/tcp/tcp_transport.h"

namespace chat {
namespace {

constexpr uint64_t kDropLogEveryNs = 1'000'000'000;

}  // namespace

size_t TcpTransport::hard_limit() const {
  return config_.high_water_bytes + std::max(config_.high_water_bytes, kReadBudgetBytes) +
         max_frame_payload();
}

void TcpTransport::check_mark(TcpConnection& c) {
  if (!backpressure() || !c.up()) return;
  if (!c.over_mark() && c.queued() >= config_.high_water_bytes) {
    enter_mark(c);
  } else if (c.over_mark() && c.queued() < low_water()) {
    leave_mark(c);
  }
}

void TcpTransport::enter_mark(TcpConnection& c) {
  c.set_over_mark(true);
  ++over_mark_;
  spdlog::debug("tcp: {} ({}) has {} bytes queued; the room stops reading until it drains",
                c.address(), c.info().name, c.queued());
  const PeerId id = c.id();
  const auto grace = config_.slow_reader_grace;
  c.arm_slow_timer(grace, [this, id, grace] {
    TcpConnection* slow = find_up(id);
    if (slow == nullptr || !slow->over_mark()) return;
    cut_slow_reader(*slow, fmt::format("slow reader: {} bytes still queued after {} ms",
                                       slow->queued(), grace.count()));
  });
}

void TcpTransport::leave_mark(TcpConnection& c) {
  if (!c.over_mark()) return;
  c.set_over_mark(false);
  c.cancel_slow_timer();
  if (--over_mark_ == 0) resume_reading();
}

void TcpTransport::pause_reading(TcpConnection& c) {
  if (c.reading_paused()) return;
  c.set_reading_paused(true);
  paused_.push_back(c.id());
}

void TcpTransport::resume_reading() {
  // Level-triggered epoll reports at once what arrived meanwhile.
  for (const PeerId id : paused_)
    if (TcpConnection* c = find(id)) c->set_reading_paused(false);
  paused_.clear();
}

void TcpTransport::cut_slow_reader(TcpConnection& c, const std::string& why) {
  spdlog::warn("tcp: disconnecting {} ({}): {}", c.address(), c.info().name, why);
  announce_down(c, DownReason::kOverflow, why);
  finish(c);
}

void TcpTransport::note_drop(TcpConnection& c) {
  ++c.stats().dropped;
  ++c.missed();
  // A client's sender hears of each drop from send() itself; a server's room would not.
  if (config_.side != Side::kServer) return;
  ++c.unlogged_drops();
  const uint64_t now = now_ns();
  if (now - c.last_drop_log_ns() < kDropLogEveryNs) return;
  spdlog::warn(
      "tcp: {} ({}) reads too slowly: dropped {} message(s) at the {}-byte high-water mark "
      "({} so far)",
      c.address(), c.info().name, c.unlogged_drops(), config_.high_water_bytes, c.stats().dropped);
  c.unlogged_drops() = 0;
  c.last_drop_log_ns() = now;
}

void TcpTransport::tell_missed(TcpConnection& c) {
  if (c.missed() == 0 || !c.up() || config_.side != Side::kServer || shutting_down_) return;
  const uint64_t missed = std::exchange(c.missed(), 0);
  spdlog::info("tcp: {} ({}) queue drained; telling it that it missed {} message(s)", c.address(),
               c.info().name, missed);
  c.unlogged_drops() = 0;
  (void)send_to(
      c, Message::notice(fmt::format("you missed {} message{}: you were reading too slowly", missed,
                                     missed == 1 ? "" : "s")));
}

}  // namespace chat
