#include "transports/udp/membership.h"

#include <algorithm>

namespace chat::udp {

std::optional<PeerId> Membership::join(const net::SocketAddress& address, std::string name,
                                       bool text, TimePoint now) {
  if (auto it = by_address_.find(address); it != by_address_.end()) {
    Member& m = members_[it->second];
    m.last_heard = now;
    return m.id;
  }
  if (full()) return std::nullopt;
  const PeerId id = next_id_++;
  const size_t index = members_.size();
  members_.push_back(Member{id, std::move(name), address, now, text});
  by_id_.emplace(id, index);
  by_address_.emplace(address, index);
  return id;
}

Member* Membership::find(const net::SocketAddress& address) {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : &members_[it->second];
}

const Member* Membership::find(const net::SocketAddress& address) const {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : &members_[it->second];
}

Member* Membership::find(PeerId id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &members_[it->second];
}

const Member* Membership::find(PeerId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &members_[it->second];
}

bool Membership::touch(PeerId id, TimePoint now) {
  Member* m = find(id);
  if (!m) return false;
  m->last_heard = now;
  return true;
}

void Membership::remove_at(size_t index) {
  by_id_.erase(members_[index].id);
  by_address_.erase(members_[index].address);
  const size_t last = members_.size() - 1;
  if (index != last) {
    // Swap-remove keeps the vector dense; the moved member's two index entries follow it.
    members_[index] = std::move(members_[last]);
    by_id_[members_[index].id] = index;
    by_address_[members_[index].address] = index;
  }
  members_.pop_back();
}

std::optional<Member> Membership::leave(PeerId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  const size_t index = it->second;
  Member out = members_[index];
  remove_at(index);
  return out;
}

std::vector<Member> Membership::expire(TimePoint now, TimePoint heard_by) {
  std::vector<Member> out;
  for (size_t i = 0; i < members_.size();) {
    if (now - std::max(members_[i].last_heard, heard_by) >= expiry_of(members_[i])) {
      out.push_back(members_[i]);
      remove_at(i);  // the last member moved into slot i: look at it again
    } else {
      ++i;
    }
  }
  return out;
}

TimePoint Membership::next_expiry() const {
  TimePoint next = TimePoint::max();
  for (const Member& m : members_) next = std::min(next, m.last_heard + expiry_of(m));
  return next;
}

}  // namespace chat::udp
