#include "transports/udp/udp_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "src/util/clock.h"
#include "src/wire/message_codec.h"

namespace chat {
namespace {

using namespace std::chrono_literals;
using wire::FrameType;

constexpr size_t kServerBatch = 64;
constexpr size_t kClientBatch = 32;
constexpr size_t kSendQueueLimit = 64;      // queued datagrams that trigger an immediate flush
constexpr int kReceiveRoundsPerWakeup = 8;  // then let timers and other sockets have a turn
constexpr auto kJoinRetransmit = 250ms;

udp::TimePoint to_time_point(uint64_t ns) {
  return udp::TimePoint{
      std::chrono::duration_cast<udp::SteadyClock::duration>(std::chrono::nanoseconds{ns})};
}

std::string seconds_text(std::chrono::milliseconds d) {
  return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

std::span<const uint8_t> bytes_of(std::string_view s) {
  return wire::as_bytes(s);
}

}  // namespace

UdpTransport::UdpTransport(net::EventLoop& loop, TransportConfig config)
    : loop_(loop),
      config_(std::move(config)),
      max_payload_(std::min(config_.max_payload, wire::kMaxUdpFramePayload)),
      members_(udp::MembershipConfig{config_.max_peers, config_.expiry, config_.text_expiry}),
      splitter_(config_.max_line) {}

UdpTransport::~UdpTransport() {
  stop_timers();
  if (io_) io_->unwatch();
}

template <class Fn>
void UdpTransport::defer_guarded(Fn fn) {
  loop_.defer([weak = std::weak_ptr<int>(alive_), fn = std::move(fn)]() mutable {
    if (weak.lock()) fn();
  });
}

std::unique_ptr<udp::DatagramIo> UdpTransport::wrap(net::Fd fd, size_t batch) {
  udp::DatagramSocketOptions options;
  options.batch = batch;
  options.buffer_bytes = config_.socket_buffer;
  std::unique_ptr<udp::DatagramIo> io =
      std::make_unique<udp::DatagramSocket>(std::move(fd), options);
  if (io_wrapper_) io = io_wrapper_(std::move(io));
  io->watch(loop_, [this] { on_readable(); });
  return io;
}

Result<void> UdpTransport::start(TransportCallbacks callbacks) {
  if (started_) return make_error("udp transport already started");
  started_ = true;
  callbacks_ = std::move(callbacks);
  auto r = config_.side == Side::kServer ? start_server() : start_client();
  if (!r) return r;
  const auto shortest = std::min(config_.heartbeat, config_.expiry);
  const auto period = std::clamp<std::chrono::milliseconds>(shortest / 4, 5ms, 250ms);
  tick_timer_ = loop_.run_every(period, [this] { on_tick(); });
  return {};
}

Result<void> UdpTransport::start_server() {
  auto fd = net::bind_udp(config_.bind, config_.port);
  if (!fd) return make_error(fmt::format("udp: {}", fd.error().message));
  batch_ = kServerBatch;
  io_ = wrap(std::move(*fd), batch_);
  return {};
}

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

void UdpTransport::stop_timers() {
  for (net::TimerId* t : {&tick_timer_, &join_timer_, &join_deadline_}) {
    if (*t) loop_.cancel(*t);
    *t = 0;
  }
}

UdpTransport::Link* UdpTransport::find_link(PeerId peer) {
  if (config_.side == Side::kClient)
    return peer == kServerPeer && client_state_ != ClientState::kIdle ? &server_link_ : nullptr;
  auto it = links_.find(peer);
  return it == links_.end() ? nullptr : &it->second;
}

const UdpTransport::Link* UdpTransport::find_link(PeerId peer) const {
  return const_cast<UdpTransport*>(this)->find_link(peer);
}

// ---------------------------------------------------------------------------------------------
// Receiving

void UdpTransport::on_readable() {
  for (int round = 0; round < kReceiveRoundsPerWakeup && io_ && !stopped_; ++round) {
    const udp::ReceiveOutcome r = io_->receive();
    if (r.error == ECONNREFUSED) {
      // Only a connected (client) socket hears ICMP errors; a server ignores them.
      if (config_.side == Side::kClient) schedule_refused();
      continue;
    }
    if (r.error != 0) {
      if (r.error != EAGAIN && r.error != EWOULDBLOCK)
        spdlog::debug("udp: receive: {}", net::errno_text(r.error));
      break;
    }
    for (const udp::InboundDatagram& d : r.datagrams) {
      if (stopped_) return;
      if (config_.side == Side::kServer)
        handle_server_datagram(d);
      else
        handle_client_datagram(d);
    }
    // A short read means the socket is drained. Count kernel buffers, not datagrams: a coalesced
    // (GRO) buffer holds many. Layers that do not report buffers are judged by datagrams.
    if ((r.buffers ? r.buffers : r.datagrams.size()) < batch_) break;
  }
  flush_pending();
}

void UdpTransport::handle_server_datagram(const udp::InboundDatagram& d) {
  if (d.truncated) {
    spdlog::warn("udp: dropped a datagram from {} longer than {} bytes", d.from.to_string(),
                 d.bytes.size());
    return;
  }
  udp::Member* member = members_.find(d.from);
  if (!member) return handle_stranger(d);
  if (member->text) {
    member->last_heard = to_time_point(d.received_ns);
    return handle_text(member->id, d);
  }
  const PeerId id = member->id;
  if (d.bytes.empty() || !wire::looks_framed(d.bytes[0])) {
    spdlog::warn("udp: dropped a datagram from {}: not a frame ({} bytes)", d.from.to_string(),
                 d.bytes.size());
    return;
  }
  const wire::DecodeResult r = wire::decode_datagram(d.bytes, max_payload_, frame_);
  if (r.status != wire::DecodeStatus::kOk) {
    spdlog::warn("udp: dropped a bad datagram from {}: {}", d.from.to_string(), r.reason);
    return;
  }
  // Only a well-formed frame keeps a member alive: garbage from its address proves nothing.
  member->last_heard = to_time_point(d.received_ns);
  handle_member_frame(id, d);
}

void UdpTransport::handle_stranger(const udp::InboundDatagram& d) {
  if (d.bytes.empty()) return;
  const auto now = to_time_point(d.received_ns);
  if (!wire::looks_framed(d.bytes[0])) {
    // A plain-text peer (nc -u, the course's client) is a member from its first line.
    if (members_.full()) {
      shared_line_ = (config_.full_reason.empty()
                          ? fmt::format("server full: {} members max", config_.max_peers)
                          : config_.full_reason) +
                     "\n";
      const udp::OutboundDatagram out{{}, bytes_of(shared_line_), &d.from};
      io_->send({&out, 1});
      return;
    }
    const std::string address = d.from.to_string();
    const PeerId id = *members_.join(d.from, address, true, now);
    Link& link = links_[id];
    link.last_sent = now;
    if (callbacks_.on_peer_up) callbacks_.on_peer_up(PeerInfo{id, address, address, true});
    if (stopped_ || !members_.find(id)) return;
    return handle_text(id, d);
  }
  const wire::DecodeResult r = wire::decode_datagram(d.bytes, max_payload_, frame_);
  if (r.status != wire::DecodeStatus::kOk) {
    spdlog::debug("udp: dropped a bad datagram from stranger {}: {}", d.from.to_string(), r.reason);
    return;
  }
  if (frame_.type != FrameType::kJoin) {
    spdlog::debug("udp: dropped {} from {}, which has not joined",
                  wire::frame_type_name(frame_.type), d.from.to_string());
    return;
  }
  if (members_.full()) {
    const std::string reason = config_.full_reason.empty()
                                   ? fmt::format("server full: {} members max", config_.max_peers)
                                   : config_.full_reason;
    spdlog::info("udp: refused {} from {}: {}", wire::sanitize_for_terminal(frame_.payload),
                 d.from.to_string(), reason);
    Link scratch;  // a refusal belongs to no link
    queue_frame(kNoPeer, scratch, &d.from, FrameType::kRefuse, reason, false, false);
    flush_pending();
    return;
  }
  const std::string address = d.from.to_string();
  std::string nick = frame_.payload.substr(0, wire::kMaxNameLength);
  if (nick.empty()) nick = address;
  const PeerId id = *members_.join(d.from, nick, false, now);
  Link& link = links_[id];
  link.stats.bytes_received += d.bytes.size();
  link.tracker.record(frame_.seq, frame_.timestamp_ns, d.received_ns);
  // The WELCOME goes into the queue before anything the role sends from on_peer_up.
  queue_frame(id, link, &members_.find(id)->address, FrameType::kWelcome, {}, false);
  if (callbacks_.on_peer_up) callbacks_.on_peer_up(PeerInfo{id, std::move(nick), address, false});
}

void UdpTransport::handle_text(PeerId id, const udp::InboundDatagram& d) {
  Link* link = find_link(id);
  if (!link) return;
  link->stats.bytes_received += d.bytes.size();
  lines_.clear();
  const std::string_view text(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size());
  // One datagram is one read burst: its last line needs no newline (the course's client sends
  // none), and "a\nb\n" is two messages.
  splitter_.feed(text, lines_);
  splitter_.flush(lines_);
  std::vector<std::string> lines = std::move(lines_);
  lines_.clear();
  for (std::string& line : lines) {
    if (stopped_) return;
    Link* l = find_link(id);  // a callback may have closed the member
    if (!l) return;
    ++l->stats.messages_received;
    Message m = Message::chat(std::move(line));
    m.received_ns = d.received_ns;
    if (callbacks_.on_message) callbacks_.on_message(id, std::move(m));
  }
}

void UdpTransport::handle_member_frame(PeerId id, const udp::InboundDatagram& d) {
  Link& link = links_[id];
  link.stats.bytes_received += d.bytes.size();
  udp::Arrival arrival = udp::Arrival::kNext;
  if (frame_.type != FrameType::kPong)
    arrival = link.tracker.record(frame_.seq, frame_.timestamp_ns, d.received_ns);
  switch (frame_.type) {
    case FrameType::kJoin: {
      // Our WELCOME was lost: say it again; the member is not new.
      udp::Member* m = members_.find(id);
      queue_frame(id, link, &m->address, FrameType::kWelcome, {}, false);
      return;
    }
    case FrameType::kData:
    case FrameType::kNotice:
      if (arrival == udp::Arrival::kDuplicate) return;
      return deliver(id, link, d);
    case FrameType::kLeave: {
      std::string why = frame_.payload.empty() ? "left" : frame_.payload;
      remove_member(id);
      if (callbacks_.on_peer_down) callbacks_.on_peer_down(id, DownReason::kLeft, why);
      return;
    }
    case FrameType::kHeartbeat:
      return;
    case FrameType::kPing: {
      udp::Member* m = members_.find(id);
      queue_frame(id, link, &m->address, FrameType::kPong, {}, false, false, frame_.seq,
                  frame_.timestamp_ns);
      return;
    }
    case FrameType::kPong:
      return record_pong(link, frame_.timestamp_ns);
    case FrameType::kWelcome:
    case FrameType::kRefuse:
      spdlog::debug("udp: ignored {} from member {}", wire::frame_type_name(frame_.type), id);
      return;
  }
}

void UdpTransport::deliver(PeerId id, Link& link, const udp::InboundDatagram& d) {
  auto message = wire::frame_to_message(frame_);
  if (!message) {
    spdlog::warn("udp: dropped a bad message from {}: {}", d.from.to_string(),
                 message.error().message);
    return;
  }
  message->received_ns = d.received_ns;
  ++link.stats.messages_received;
  if (callbacks_.on_message) callbacks_.on_message(id, std::move(*message));
}

void UdpTransport::record_pong(Link& link, uint64_t echoed_ns) {
  const uint64_t now = now_ns();
  if (echoed_ns == 0 || echoed_ns > now) return;  // not one of ours
  link.stats.rtt_ns = now - echoed_ns;
  ++link.stats.rtt_samples;
}

void UdpTransport::handle_client_datagram(const udp::InboundDatagram& d) {
  if (client_state_ != ClientState::kJoining && client_state_ != ClientState::kJoined) return;
  if (d.truncated) {
    spdlog::warn("udp: dropped a datagram from the hub longer than {} bytes", d.bytes.size());
    return;
  }
  const wire::DecodeResult r = wire::decode_datagram(d.bytes, max_payload_, frame_);
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
    if (frame_.type != FrameType::kWelcome) return;  // nothing counts before we are admitted
    client_state_ = ClientState::kJoined;
    my_id_ = frame_.sender;
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
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Sending

Result<void> UdpTransport::check_size(size_t text_size, size_t datagram_size) const {
  if (datagram_size <= wire::kHeaderSize + max_payload_ && datagram_size <= wire::kMaxUdpDatagram)
    return {};
  if (max_payload_ < wire::kMaxUdpFramePayload)
    return make_error(
        fmt::format("message of {} bytes exceeds the configured maximum payload of {} bytes",
                    text_size, max_payload_));
  return make_error(fmt::format(
      "message of {} bytes cannot fit one UDP datagram ({} bytes with framing; IPv4 limit: "
      "65,507 bytes per datagram)",
      text_size, datagram_size));
}

std::string& UdpTransport::next_slot() {
  if (pending_.size() >= kSendQueueLimit) flush_pending();
  if (slots_.size() <= pending_.size()) slots_.resize(pending_.size() + 1);
  std::string& slot = slots_[pending_.size()];
  slot.clear();
  return slot;
}

void UdpTransport::commit_slot(PeerId peer, const net::SocketAddress* to, bool is_message) {
  pending_.push_back(Pending{peer, is_message, to != nullptr, to ? *to : net::SocketAddress{}});
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    defer_guarded([this] {
      flush_scheduled_ = false;
      flush_pending();
    });
  }
}

void UdpTransport::queue_frame(PeerId peer, Link& link, const net::SocketAddress* to,
                               wire::FrameType type, std::string_view payload, bool is_message,
                               bool sequenced, uint32_t seq, uint64_t timestamp) {
  std::string& slot = next_slot();
  wire::Frame f;
  f.type = type;
  f.sender = config_.side == Side::kServer ? (type == FrameType::kWelcome ? peer : 0) : my_id_;
  const uint64_t now = now_ns();
  f.seq = sequenced ? link.send_seq++ : seq;
  f.timestamp_ns = sequenced ? now : timestamp;
  f.payload.assign(payload);
  wire::encode_frame(f, slot);
  link.last_sent = to_time_point(now);
  commit_slot(peer, to, is_message);
}

void UdpTransport::queue_message(PeerId peer, Link& link, const net::SocketAddress* to,
                                 const Message& message) {
  std::string& slot = next_slot();
  const uint64_t now = now_ns();
  wire::encode_message_frame(message, config_.side == Side::kServer ? 0 : my_id_, link.send_seq++,
                             now, slot);
  link.last_sent = to_time_point(now);
  commit_slot(peer, to, true);
}

void UdpTransport::queue_text(PeerId peer, Link& link, const net::SocketAddress& to,
                              std::string_view line, bool is_message) {
  std::string& slot = next_slot();
  slot.append(line);
  slot.push_back('\n');
  link.last_sent = to_time_point(now_ns());
  commit_slot(peer, &to, is_message);
}

void UdpTransport::flush_pending() {
  if (pending_.empty() || !io_) {
    pending_.clear();
    return;
  }
  out_.clear();
  out_links_.clear();
  out_is_message_.clear();
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Pending& p = pending_[i];
    out_.push_back(udp::OutboundDatagram{{}, bytes_of(slots_[i]), p.has_address ? &p.to : nullptr});
    out_links_.push_back(find_link(p.peer));
    out_is_message_.push_back(p.message);
  }
  pending_.clear();
  send_batch();
}

void UdpTransport::send_batch() {
  const std::span<const udp::OutboundDatagram> batch = out_;
  size_t i = 0;
  while (i < batch.size()) {
    const udp::SendOutcome r = io_->send(batch.subspan(i));
    for (size_t k = i; k < i + r.sent; ++k) {
      if (Link* link = out_links_[k]) {
        link->stats.bytes_sent += batch[k].head.size() + batch[k].body.size();
        link->stats.messages_sent += out_is_message_[k];
      }
    }
    i += r.sent;
    if (i >= batch.size()) break;
    // UDP is lossy by nature: what the kernel will not take now is dropped, never queued.
    const bool buffer_full = r.error == EAGAIN || r.error == EWOULDBLOCK || r.error == ENOBUFS;
    const size_t failed = buffer_full ? batch.size() - i : 1;
    for (size_t k = i; k < i + failed; ++k)
      if (Link* link = out_links_[k]) ++link->stats.dropped;
    if (r.error == ECONNREFUSED && config_.side == Side::kClient)
      schedule_refused();
    else if (!buffer_full)
      spdlog::debug("udp: send to {}: {}", batch[i].to ? batch[i].to->to_string() : "the hub",
                    net::errno_text(r.error));
    i += failed;
  }
}

Result<void> UdpTransport::send(PeerId peer, const Message& message) {
  if (stopped_) return make_error("udp transport is shut down");
  if (config_.side == Side::kClient) {
    if (peer != kServerPeer) return make_error(fmt::format("no such peer {}", peer));
    if (client_state_ != ClientState::kJoined)
      return make_error(client_state_ == ClientState::kJoining ? "not admitted to the udp hub yet"
                                                               : "not connected to the udp hub");
    const size_t payload = wire::payload_overhead(message) + message.text.size();
    if (auto r = check_size(message.text.size(), wire::kHeaderSize + payload); !r) return r;
    queue_message(kServerPeer, server_link_, nullptr, message);
    return {};
  }
  udp::Member* member = members_.find(peer);
  Link* link = find_link(peer);
  if (!member || !link) return make_error(fmt::format("no such peer {}", peer));
  if (member->text) {
    const std::string line = wire::message_to_line(message);
    if (auto r = check_size(message.text.size(), line.size() + 1); !r) return r;
    queue_text(peer, *link, member->address, line, true);
    return {};
  }
  const size_t payload = wire::payload_overhead(message) + message.text.size();
  if (auto r = check_size(message.text.size(), wire::kHeaderSize + payload); !r) return r;
  queue_message(peer, *link, &member->address, message);
  return {};
}

size_t UdpTransport::broadcast(const Message& message, PeerId except) {
  if (stopped_) return 0;
  if (config_.side == Side::kClient) {
    if (except == kServerPeer) return 0;
    return send(kServerPeer, message).ok() ? 1 : 0;
  }
  const size_t payload = wire::payload_overhead(message) + message.text.size();
  if (auto r = check_size(message.text.size(), wire::kHeaderSize + payload); !r) {
    spdlog::warn("udp: broadcast not sent: {}", r.error().message);
    return 0;
  }
  flush_pending();  // keep per-link order: anything queued earlier goes first
  wire::Frame f = wire::message_to_frame(message);
  f.timestamp_ns = now_ns();
  shared_frame_.clear();
  wire::encode_frame(f, shared_frame_);
  const auto body = bytes_of(shared_frame_).subspan(wire::kHeaderSize);
  bool line_ready = false;
  bool line_fits = true;

  const auto now = to_time_point(f.timestamp_ns);
  const auto members = members_.members();
  heads_.resize(members.size());
  out_.clear();
  out_links_.clear();
  for (const udp::Member& m : members) {
    if (m.id == except) continue;
    Link* link = find_link(m.id);
    if (!link) continue;
    if (m.text) {
      if (!line_ready) {
        line_ready = true;
        shared_line_ = wire::message_to_line(message) + "\n";
        line_fits = shared_line_.size() <= wire::kMaxUdpDatagram;
      }
      if (!line_fits) continue;
      out_.push_back(udp::OutboundDatagram{{}, bytes_of(shared_line_), &m.address});
    } else {
      // One encoding for everyone; only the per-link sequence number differs.
      auto& head = heads_[out_.size()];
      std::memcpy(head.data(), shared_frame_.data(), wire::kHeaderSize);
      wire::stamp_seq(head.data(), link->send_seq++);
      out_.push_back(udp::OutboundDatagram{head, body, &m.address});
    }
    link->last_sent = now;
    out_links_.push_back(link);
  }
  out_is_message_.assign(out_.size(), 1);
  if (!out_.empty()) send_batch();
  return out_.size();
}

void UdpTransport::send_control_to_members(wire::FrameType type, bool only_idle,
                                           udp::TimePoint now) {
  if (!io_) return;
  flush_pending();
  wire::Frame f;
  f.type = type;
  f.timestamp_ns = now_ns();
  shared_frame_.clear();
  wire::encode_frame(f, shared_frame_);
  const auto members = members_.members();
  heads_.resize(members.size());
  out_.clear();
  out_links_.clear();
  for (const udp::Member& m : members) {
    if (m.text) continue;  // a terminal would show our frames as garbage
    Link* link = find_link(m.id);
    if (!link || (only_idle && now - link->last_sent < config_.heartbeat)) continue;
    auto& head = heads_[out_.size()];
    std::memcpy(head.data(), shared_frame_.data(), wire::kHeaderSize);
    wire::stamp_seq(head.data(), link->send_seq++);
    out_.push_back(udp::OutboundDatagram{head, {}, &m.address});
    link->last_sent = now;
    out_links_.push_back(link);
  }
  out_is_message_.assign(out_.size(), 0);
  if (!out_.empty()) send_batch();
}

void UdpTransport::ping(PeerId peer) {
  if (stopped_) return;
  if (config_.side == Side::kClient) {
    if (peer == kServerPeer && client_state_ == ClientState::kJoined)
      queue_frame(kServerPeer, server_link_, nullptr, FrameType::kPing, {}, false);
    return;
  }
  udp::Member* m = members_.find(peer);
  Link* link = find_link(peer);
  if (m && link && !m->text) queue_frame(peer, *link, &m->address, FrameType::kPing, {}, false);
}

// ---------------------------------------------------------------------------------------------
// Membership changes, timers, shutdown

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
    if (!why.empty()) queue_text(peer, *link, m->address, why, false);
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
  for (const udp::Member& m : members_.expire(now)) {
    links_.erase(m.id);
    if (stopped_) return;
    if (callbacks_.on_peer_down)
      callbacks_.on_peer_down(m.id, DownReason::kTimedOut,
                              fmt::format("silent for {}", seconds_text(m.text ? config_.text_expiry
                                                                               : config_.expiry)));
  }
  if (!stopped_) send_control_to_members(FrameType::kHeartbeat, true, now);
}

void UdpTransport::client_tick(udp::TimePoint now) {
  if (client_state_ != ClientState::kJoined) return;
  if (now - server_heard_ >= config_.expiry) {
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
                fmt::format("nothing listening on udp {} (port unreachable)", hub_text()));
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

// ---------------------------------------------------------------------------------------------
// Introspection

PeerStats UdpTransport::stats(PeerId peer) const {
  const Link* link = find_link(peer);
  if (!link) return {};
  PeerStats s = link->stats;
  s.lost = link->tracker.lost();
  // Arrivals older than the window may be duplicates or very late: reported with duplicates.
  s.duplicates = link->tracker.duplicates() + link->tracker.stale();
  s.reordered = link->tracker.reordered();
  return s;
}

uint64_t UdpTransport::jitter_ns(PeerId peer) const {
  const Link* link = find_link(peer);
  return link ? link->tracker.jitter_ns() : 0;
}

std::vector<PeerInfo> UdpTransport::peers() const {
  std::vector<PeerInfo> out;
  if (config_.side == Side::kClient) {
    if (client_state_ == ClientState::kJoined)
      out.push_back(PeerInfo{kServerPeer, "server", server_address_.to_string(), false});
    return out;
  }
  out.reserve(members_.size());
  for (const udp::Member& m : members_.members())
    out.push_back(PeerInfo{m.id, m.name, m.address.to_string(), m.text});
  return out;
}

net::SocketAddress UdpTransport::local_address() const {
  return io_ ? io_->local_address() : net::SocketAddress{};
}

}  // namespace chat
