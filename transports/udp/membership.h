#pragma once
// The UDP hub's membership table: UDP has no connections, so who is in the
// room is whoever joined from a source address and has been heard from recently.
//
// Pure logic: time is passed in, nothing here touches a socket. Members live in one dense vector
// (broadcast walks it contiguously) indexed by two hash maps, so lookup by source address (every
// datagram) and by member id (every send) are O(1) whatever the size of the room.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/net/socket.h"
#include "transports/transport.h"

namespace chat::udp {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

struct MembershipConfig {
  size_t max_members = 0;  // 0: no limit
  std::chrono::milliseconds expiry{5000};
  // Text members (nc -u) cannot heartbeat; they are forgotten only after a long silence.
  std::chrono::milliseconds text_expiry{300000};
};

struct Member {
  PeerId id = kNoPeer;
  std::string name;
  net::SocketAddress address;
  TimePoint last_heard{};
  bool text = false;
  uint64_t token = 0;  // framed members: the secret every datagram from it must carry
};

class Membership {
 public:
  explicit Membership(MembershipConfig config = {}) : config_(config) {}

  // Admits `address` with a fresh id (ids start at 1 and are never reused). Returns nullopt when
  // the table is at max_members. An address that is already a member keeps its id: it is
  // touched and its id returned, so a repeated JOIN never makes a second member.
  std::optional<PeerId> join(const net::SocketAddress& address, std::string name, bool text,
                             TimePoint now);
  bool contains(const net::SocketAddress& address) const { return by_address_.count(address) > 0; }

  // Pointers stay valid until the next join, leave or expire (members are moved to stay dense).
  Member* find(const net::SocketAddress& address);
  const Member* find(const net::SocketAddress& address) const;
  Member* find(PeerId id);
  const Member* find(PeerId id) const;

  bool touch(PeerId id, TimePoint now);
  // Removes a member; returns it, or nullopt for an unknown id.
  std::optional<Member> leave(PeerId id);
  // Removes and returns every member silent for at least its expiry (text members: text_expiry).
  // Every member counts as heard at `heard_by` at the latest: a moment after which what it sent
  // may have been lost on our side (the kernel dropped datagrams for want of buffer).
  std::vector<Member> expire(TimePoint now, TimePoint heard_by = TimePoint{});
  // When the next member could expire at the earliest (TimePoint::max() for an empty table).
  TimePoint next_expiry() const;

  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  bool full() const { return config_.max_members > 0 && members_.size() >= config_.max_members; }
  std::span<Member> members() { return members_; }
  std::span<const Member> members() const { return members_; }
  const MembershipConfig& config() const { return config_; }

 private:
  std::chrono::milliseconds expiry_of(const Member& m) const {
    return m.text ? config_.text_expiry : config_.expiry;
  }
  void remove_at(size_t index);

  MembershipConfig config_;
  std::vector<Member> members_;
  std::unordered_map<PeerId, size_t> by_id_;
  std::unordered_map<net::SocketAddress, size_t, net::SocketAddressHash> by_address_;
  PeerId next_id_ = 1;
};

}  // namespace chat::udp
