// UdpTransport's client half: resolving and opening the connected socket, JOIN until WELCOME or
// REFUSE, what the hub sends us, keeping the hub alive and noticing when it is gone.
#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/util/clock.h"
#include "src/wire/message_codec.h"
#include "transports/udp/udp_transport.h"
#include "transports/udp/udp_transport_internal.h"

namespace chat {
namespace {

using namespace std::chrono_literals;
using udp::detail::bytes_of;
using udp::detail::seconds_text;
using udp::detail::to_time_point;
using wire::FrameType;

constexpr size_t kClientBatch = 32;
constexpr auto kJoinRetransmit = 250ms;

}  // namespace

Result<void> UdpTransport::start_client() {
  auto resolved = net::resolve(config_.host, config_.port, SOCK_DGRAM, false);
  if (!resolved) return make_error(fmt::format("udp: {}", resolved.error().message));
  candidates_ = std::move(*resolved);
  candidate_ = 0;
  batch_ = kClientBatch;
  if (auto r = open_client_socket(); !r) return r;
  client_state_ = ClientState::kJoining;
  send_join();
  join_timer_ = loop_.run_every(kJoinRetransmit, [this] { send_join(); });
  join_deadline_ = loop_.run_after(config_.connect_timeout, [this] {
    join_deadline_ = 0;
    if (client_state_ == ClientState::kJoining)
      client_down(DownReason::kTimedOut,
                  fmt::format("no answer from udp hub at {} within {}", hub_text(),
                              seconds_text(config_.connect_timeout)));
  });
  return {};
}

// Tries the resolved addresses from candidate_ on: the first one we can open a socket for wins.
Result<void> UdpTransport::open_client_socket() {
  std::string last_error = "no address";
  for (; candidate_ < candidates_.size(); ++candidate_) {
    auto fd = net::open_udp_for(candidates_[candidate_]);
    if (!fd) {
      last_error = fd.error().message;
      continue;
    }
    if (io_) io_->unwatch();
    io_ = wrap(std::move(*fd), batch_);
    server_address_ = candidates_[candidate_];
    return {};
  }
  return make_error(fmt::format("udp: {}", last_error));
}

std::string UdpTransport::hub_text() const {
  if (config_.host.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", config_.host, config_.port);
  return fmt::format("{}:{}", config_.host, config_.port);
}

void UdpTransport::handle_client_datagram(const udp::InboundDatagram& d) {
  if (client_state_ != ClientState::kJoining && client_state_ != ClientState::kJoined) return;
  if (d.truncated) {
    spdlog::warn("udp: dropped a datagram from the hub longer than {} bytes", d.bytes.size());
    return;
  }
  const wire::DecodeResult r =
      wire::decode_datagram(d.bytes, max_payload_ + wire::kMaxPayloadOverhead, frame_);
  if (r.status != wire::DecodeStatus::kOk) {
    spdlog::warn("udp: dropped a bad datagram from {}: {}", d.from.to_string(), r.reason);
    return;
  }
  Link& link = server_link_;
  if (client_state_ == ClientState::kJoining) {
    if (frame_.type == FrameType::kRefuse) {
      client_down(DownReason::kRefused,
                  frame_.payload.empty() ? "refused by the udp hub" : frame_.payload);
      return;
    }
    if (frame_.type == FrameType::kChallenge) {
      // The hub wants proof that we receive at this address: echo its cookie at once.
      if (frame_.token == 0 || frame_.token == link.token) return;
      link.token = frame_.token;
      send_join();
      return;
    }
    if (frame_.type != FrameType::kWelcome) return;  // nothing counts before we are admitted
    client_state_ = ClientState::kJoined;
    my_id_ = frame_.sender;
    link.token = frame_.token;  // our secret: every frame we send from now on carries it
    for (net::TimerId* t : {&join_timer_, &join_deadline_}) {
      if (*t) loop_.cancel(*t);
      *t = 0;
    }
    link.stats.bytes_received += d.bytes.size();
    link.tracker.record(frame_.seq, frame_.timestamp_ns, d.received_ns);
    server_heard_ = to_time_point(d.received_ns);
    if (callbacks_.on_peer_up)
      callbacks_.on_peer_up(PeerInfo{kServerPeer, "server", server_address_.to_string(), false});
    return;
  }
  server_heard_ = to_time_point(d.received_ns);
  link.stats.bytes_received += d.bytes.size();
  udp::Arrival arrival = udp::Arrival::kNext;
  if (frame_.type != FrameType::kPong)
    arrival = link.tracker.record(frame_.seq, frame_.timestamp_ns, d.received_ns);
  switch (frame_.type) {
    case FrameType::kData:
    case FrameType::kNotice:
      if (arrival == udp::Arrival::kDuplicate) return;
      return deliver(kServerPeer, link, d);
    case FrameType::kLeave:
      return client_down(DownReason::kLeft,
                         frame_.payload.empty() ? "the hub left" : frame_.payload);
    case FrameType::kPing:
      queue_frame(kServerPeer, link, nullptr, FrameType::kPong, {}, false, false, frame_.seq,
                  frame_.timestamp_ns);
      return;
    case FrameType::kPong:
      return record_pong(link, frame_.timestamp_ns);
    case FrameType::kHeartbeat:
    case FrameType::kWelcome:  // a repeat: our JOIN was retransmitted
    case FrameType::kRefuse:
    case FrameType::kJoin:
    case FrameType::kChallenge:
    case FrameType::kBundle:  // taken apart before it gets here
      return;
  }
}

void UdpTransport::client_tick(udp::TimePoint now) {
  if (client_state_ != ClientState::kJoined) return;
  // Datagrams waiting unread are the server speaking: one loop serving thousands of members (the
  // fan-out bench's) may come back to this socket only seconds later, and silence is judged then.
  if (now - server_heard_ >= config_.expiry && !(io_ && io_->unread())) {
    client_down(DownReason::kTimedOut,
                fmt::format("server silent for {}", seconds_text(config_.expiry)));
    return;
  }
  if (now - server_link_.last_sent >= config_.heartbeat) {
    queue_frame(kServerPeer, server_link_, nullptr, FrameType::kHeartbeat, {}, false);
    flush_pending();
  }
}

void UdpTransport::send_join() {
  if (client_state_ != ClientState::kJoining || !io_) return;
  queue_frame(kServerPeer, server_link_, nullptr, FrameType::kJoin, config_.name, false);
  flush_pending();
}

void UdpTransport::schedule_refused() {
  if (refused_pending_) return;
  refused_pending_ = true;
  // Handled outside the send or receive that noticed it, so no callback runs inside send().
  defer_guarded([this] {
    refused_pending_ = false;
    on_refused();
  });
}

void UdpTransport::on_refused() {
  if (stopped_) return;
  if (client_state_ == ClientState::kJoining) {
    // "localhost" may resolve to ::1 while the hub listens on 127.0.0.1 only: try the next one.
    ++candidate_;
    if (candidate_ < candidates_.size() && open_client_socket()) {
      send_join();
      return;
    }
    client_down(DownReason::kRefused,
                fmt::format("nothing listening on udp {} (port unreachable); is the server "
                            "running with --transport udp?",
                            hub_text()));
  } else if (client_state_ == ClientState::kJoined) {
    client_down(DownReason::kError,
                fmt::format("udp hub at {} went away (port unreachable)", hub_text()));
  }
}

void UdpTransport::client_down(DownReason reason, const std::string& why) {
  if (client_state_ == ClientState::kDown || client_state_ == ClientState::kIdle) return;
  client_state_ = ClientState::kDown;
  stop_timers();
  flush_pending();
  if (io_) io_->unwatch();
  if (!stopped_ && callbacks_.on_peer_down) callbacks_.on_peer_down(kServerPeer, reason, why);
}

}  // namespace chat
