// UdpTransport, membership changes, timers and shutdown: close, expiry, heartbeats, refusals.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "transports/udp/udp_transport.h"
#include "transports/udp/udp_transport_internal.h"

namespace chat {
namespace {

using udp::detail::seconds_text;
using wire::FrameType;

}  // namespace

void UdpTransport::remove_member(PeerId id) {
  flush_pending();  // queued datagrams for it still carry its address and link
  members_.leave(id);
  links_.erase(id);
}

void UdpTransport::close(PeerId peer, std::string_view reason) {
  if (stopped_) return;
  const std::string why(reason);
  if (config_.side == Side::kClient) {
    if (peer != kServerPeer) return;
    if (client_state_ != ClientState::kJoined && client_state_ != ClientState::kJoining) return;
    queue_frame(kServerPeer, server_link_, nullptr, FrameType::kLeave, why, false);
    flush_pending();
    client_down(DownReason::kClosed, why);
    return;
  }
  udp::Member* m = members_.find(peer);
  Link* link = find_link(peer);
  if (!m || !link) return;
  if (m->text) {
    if (!why.empty()) queue_text(peer, *link, m->address, std::string(why) + "\n", false);
  } else {
    queue_frame(peer, *link, &m->address, FrameType::kLeave, why, false);
  }
  remove_member(peer);
  if (callbacks_.on_peer_down) callbacks_.on_peer_down(peer, DownReason::kClosed, why);
}

void UdpTransport::on_tick() {
  if (stopped_) return;
  const auto now = udp::SteadyClock::now();
  if (config_.side == Side::kServer)
    server_tick(now);
  else
    client_tick(now);
}

void UdpTransport::server_tick(udp::TimePoint now) {
  flush_pending();
  admission_->rotate_if_due(now);
  report_refused(now);
  // While datagrams wait unread in the kernel, silence is measured to the last moment the socket
  // was read dry, and none counts from before the kernel last dropped datagrams for want of
  // buffer (they may have been anyone's): a hub busy relaying a burst must not blame its members
  // for its own backlog. A flood that keeps the buffer overflowing thus keeps everyone in the
  // room; that fails safe, and the room's size is bounded by --max-clients.
  const auto judged_at = behind_ ? std::min(now, caught_up_) : now;
  for (const udp::Member& m : members_.expire(judged_at, overflowed_at_)) {
    links_.erase(m.id);
    if (stopped_) return;
    if (callbacks_.on_peer_down)
      callbacks_.on_peer_down(m.id, DownReason::kTimedOut,
                              fmt::format("silent for {}", seconds_text(m.text ? config_.text_expiry
                                                                               : config_.expiry)));
  }
  if (!stopped_) send_control_to_members(FrameType::kHeartbeat, true, now);
}

void UdpTransport::report_refused(udp::TimePoint now) {
  constexpr auto kReportEvery = std::chrono::seconds(1);
  if (!refused_.any() || now - refused_reported_ < kReportEvery) return;
  refused_reported_ = now;
  const Refused r = std::exchange(refused_, Refused{});
  // One line a second at most, however hard the hub is pushed; tests and operators read it.
  spdlog::info(
      "udp: turned away: {} challenged, {} answers withheld (3x limit), {} shed unread, {} "
      "frames from non-members, {} malformed{}, {} without the member's token, {} codes from "
      "addresses out of tries",
      r.challenged, r.withheld, r.shed, r.not_joined, r.malformed,
      r.malformed ? fmt::format(" (first: {})", r.first_malformed) : std::string(), r.wrong_token,
      r.locked);
}

void UdpTransport::shutdown(std::chrono::milliseconds /*linger*/, std::function<void()> done) {
  // Datagrams leave at once, so there is no queue to linger over: say goodbye and close.
  if (!stopped_ && io_) {
    if (config_.side == Side::kServer) {
      send_control_to_members(FrameType::kLeave, false, udp::SteadyClock::now());
    } else if (client_state_ == ClientState::kJoined || client_state_ == ClientState::kJoining) {
      queue_frame(kServerPeer, server_link_, nullptr, FrameType::kLeave, {}, false);
    }
    flush_pending();
  }
  stopped_ = true;
  stop_timers();
  if (config_.side == Side::kClient && client_state_ != ClientState::kIdle)
    client_state_ = ClientState::kDown;
  if (io_) {
    io_->unwatch();
    // We may be inside a receive batch whose buffers the socket owns: close it after the batch.
    loop_.defer([io = std::shared_ptr<udp::DatagramIo>(std::move(io_))] {});
  }
  if (done) loop_.defer(std::move(done));
}

}  // namespace chat
