// Driving ENet from the event loop. What it costs decides how large a room ENet can serve:
// enet_host_service walks every peer slot of the host twice whenever it has no received event
// queued (send what is queued, read up to 256 datagrams, send again), and a hub's host has 4,095
// slots. Serviced once per datagram, with a flush and a deferred service after each, a hub spent
// most of its time walking empty slots while its members' acknowledgements waited; so:
//   - a readable socket is serviced until it is empty, and the events one read queued are handed
//     out by enet_host_check_events, which walks nothing;
//   - what the handlers queue leaves in one enet_host_flush per service (or per loop turn, for
//     sends from outside it), as few datagrams per peer as fit;
//   - the host's peerCount, which bounds every walk, is kept just above the highest slot in use;
//   - nothing scans every link per datagram: the writable check visits only links owed one, and
//     resends are counted on the timer.
#include <sys/socket.h>

#include <algorithm>

#include "transports/enet/enet_transport.h"

namespace chat {
namespace {

// ENet resends, pings and times out only while it is serviced; between socket events a timer does
// it: every 50 ms while anything is unacknowledged (it bounds how late a resend can be, a quarter
// of the least resend timeout, not the round trip of a delivered message), and only often enough
// to ping when every link is idle. A thousand clients in one process, each busy while its
// acknowledgements are late, would otherwise spend the process on timers at 10 ms.
constexpr auto kBusyServicePeriod = std::chrono::milliseconds(50);
constexpr auto kMaxIdleServicePeriod = std::chrono::milliseconds(250);
// Datagram batches (up to 256 datagrams each) per readiness: one busy host cannot starve the rest
// of the loop; the socket stays readable and the loop comes back to it.
constexpr size_t kMaxReadsPerTurn = 16;
// Free slots kept above the highest one in use: ENet gives a connecting peer the lowest free
// slot within peerCount, and one batch of 256 datagrams may hold that many connects.
constexpr size_t kSpareSlots = 256;
// Events handed out between two reads of the socket while a batch is being relayed, and in all
// in one turn of the loop.
constexpr size_t kEventsBetweenReads = 32;
constexpr size_t kMaxEventsPerTurn = 4096;

}  // namespace

void EnetTransport::service() {
  if (host_ == nullptr) return;
  in_service_ = true;
  ENetEvent event;
  size_t handled = 0;
  bool more = false;
  for (size_t reads = 0; host_ && reads < kMaxReadsPerTurn; ++reads) {
    unflushed_ = false;  // enet_host_service sends what is queued before it reads
    const int got = enet_host_service(host_, &event, 0);
    feed_all();  // the acknowledgements it read made room in windows
    if (got <= 0) break;
    dispatch(event);
    ++handled;
    while (host_ && handled < kMaxEventsPerTurn && enet_host_check_events(host_, &event) > 0) {
      dispatch(event);
      // A hub relays each message to every member: a batch of 256 is seconds of work at a
      // thousand members, in which the members' acknowledgements would overflow the socket and
      // be resent. Between messages ENet reads (and sends) without handing out events.
      if (++handled % kEventsBetweenReads == 0 && host_) {
        unflushed_ = false;
        enet_host_service(host_, nullptr, 0);
        feed_all();
      }
    }
    if (handled >= kMaxEventsPerTurn) {
      more = true;  // events may wait in ENet's queue, where epoll cannot see them
      break;
    }
    if (!host_ || !datagram_waiting()) break;
  }
  if (more && !resume_pending_) {
    // The rest after the loop's other work and timers: a zero delay, not a deferral, which the
    // loop would run before it looks at anything else.
    resume_pending_ = true;
    guard_.defer_after(loop_, std::chrono::milliseconds(0), [this] {
      resume_pending_ = false;
      service();
    });
  }
  in_service_ = false;
  if (host_ == nullptr) return;
  feed_all();
  if (unflushed_) {
    unflushed_ = false;
    enet_host_flush(host_);
  }
  fit_slots();
  after_service();
  if (service_timer_ == 0) arm_service_timer(busy());
}

void EnetTransport::on_service_timer() {
  service_timer_ = 0;
  count_resends();
  service();  // re-arms the timer
}

void EnetTransport::dispatch(const ENetEvent& event) {
  switch (event.type) {
    case ENET_EVENT_TYPE_CONNECT:
      on_connect(event.peer);
      break;
    case ENET_EVENT_TYPE_RECEIVE:
      on_receive(event.peer, event.packet);
      break;
    case ENET_EVENT_TYPE_DISCONNECT:
      on_disconnect(event.peer, event.data);
      break;
    case ENET_EVENT_TYPE_NONE:
      break;
  }
}

bool EnetTransport::datagram_waiting() const {
  // One peek costs less than the two slot walks of a service call that finds nothing.
  char byte;
  return ::recv(host_->socket, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

void EnetTransport::fit_slots() {
  if (host_ == nullptr || config_.side != Side::kServer) return;
  // Down from the current count: the slots above the highest in use are free, so this looks at
  // about kSpareSlots of them, not at all 4,095.
  size_t top = host_->peerCount;
  while (top > 0 && host_->peers[top - 1].state == ENET_PEER_STATE_DISCONNECTED) --top;
  host_->peerCount = std::min(slots_, top + kSpareSlots);
}

void EnetTransport::after_service() {
  if (owing_writable_.empty()) return;
  std::vector<PeerId> writable;
  std::vector<PeerId> still_owing;
  for (const PeerId id : owing_writable_) {
    Link* link = find(id);
    if (link == nullptr || !link->owes_writable) continue;
    if (link->state == State::kUp && link->queued < low_water()) {
      link->owes_writable = false;
      writable.push_back(id);
    } else {
      still_owing.push_back(id);
    }
  }
  owing_writable_ = std::move(still_owing);
  for (const PeerId id : writable)
    if (callbacks_.on_writable && !silenced_ && find_up(id)) callbacks_.on_writable(id);
}

bool EnetTransport::busy() const {
  // Only the links we know: scanning every slot of a 4,095-peer host costs more than a round trip.
  for (const auto& [id, link] : links_) {
    const ENetPeer* p = link->peer;
    if (p == nullptr) continue;
    if (p->state != ENET_PEER_STATE_CONNECTED || !link->backlog.empty() ||
        !enet_list_empty(&p->sentReliableCommands) || !enet_list_empty(&p->outgoingCommands) ||
        !enet_list_empty(&p->acknowledgements))
      return true;
  }
  return false;
}

void EnetTransport::arm_service_timer(bool busy) {
  if (host_ == nullptr) return;
  if (service_timer_) loop_.cancel(service_timer_);
  const auto idle =
      std::min<std::chrono::milliseconds>(config_.heartbeat / 2, kMaxIdleServicePeriod);
  const auto period = busy ? kBusyServicePeriod : std::max(idle, kBusyServicePeriod);
  timer_busy_ = busy;
  service_timer_ = loop_.run_after(period, [this] { on_service_timer(); });
}

void EnetTransport::count_resends() {
  // ENet counts resends in packetsLost and zeroes it every loss interval (10 s): add what grew.
  for (auto& [id, link] : links_) {
    const uint32_t lost = link->peer ? link->peer->packetsLost : 0;
    link->retransmits += lost >= link->lost_seen ? lost - link->lost_seen : lost;
    link->lost_seen = lost;
  }
}

uint64_t EnetTransport::resends(const Link& link) const {
  const uint32_t lost = link.peer ? link.peer->packetsLost : 0;
  return link.retransmits + (lost >= link.lost_seen ? lost - link.lost_seen : 0);
}

}  // namespace chat
