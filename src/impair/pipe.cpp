// The pipe's stages. Every packet is scheduled when it is pushed: the bottleneck is a
// deterministic server, so its exit time (and CoDel's verdict at its dequeue time) is known on
// arrival. Each schedule insertion lands at or after every earlier one:
//   - an ordinary packet's due time is floored at the last ordinary one (FIFO delay stage);
//   - a held-back packet released by the gap-th packet leaves at that packet's due time, after it;
//   - a held-back packet whose timeout passes leaves at its timeout, and it is released before
//     any packet due later than that is scheduled, while every packet already scheduled was due
//     before it (else it would have been released then).
// So the schedule is a FIFO: no map, no per-packet allocation.
#include "src/impair/pipe.h"

#include <algorithm>
#include <cmath>

namespace chat::impair {
namespace {

constexpr Nanos kReorderTimeout = 10'000'000;
constexpr Nanos kCoDelTarget = 5'000'000;
constexpr Nanos kCoDelInterval = 100'000'000;
// Jitter draws are capped at this many standard deviations: with FIFO delivery one extreme
// Pareto draw (up to 10^5 sigmas from a 64-bit generator) would otherwise stall the link behind
// it for minutes. The cap is reached by 1.5 Pareto draws in a million and trims its standard
// deviation by about 1 %.
constexpr double kMaxJitterSigmas = 100;
// Whatever the spec (a minute of delay at line rate), the pipe never holds more than this; past
// it packets are dropped as if the queue were full.
constexpr uint64_t kMaxQueuedBytes = uint64_t{256} << 20;

}  // namespace

Pipe::Pipe(const Spec& spec, uint64_t seed) : spec_(spec), seed_(seed), rng_(seed) {
  identity_ = spec_.is_identity();
}

void Pipe::set_spec(const Spec& spec) {
  if (spec.seed && *spec.seed != seed_) {
    seed_ = *spec.seed;
    rng_.seed(seed_);
  }
  if (spec.loss.kind != LossKind::kGilbertElliott) ge_bad_ = false;
  if (spec.aqm != spec_.aqm) {
    codel_dropping_ = false;
    codel_first_above_ = codel_drop_next_ = 0;
    codel_count_ = codel_last_count_ = 0;
  }
  spec_ = spec;
  identity_ = spec_.is_identity();
}

double Pipe::uniform() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

double Pipe::jitter_draw() {
  const auto normal = [this] {
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * uniform());
  };
  // Pareto with shape 3 and scale 1 has mean 1.5 and standard deviation sqrt(3)/2.
  const auto pareto = [this] {
    return (std::pow(1.0 - uniform(), -1.0 / 3.0) - 1.5) / (std::sqrt(3.0) / 2.0);
  };
  double x = 0;
  switch (spec_.distribution) {
    case DelayDistribution::kUniform:
      x = 2.0 * uniform() - 1.0;
      break;
    case DelayDistribution::kNormal:
      x = normal();
      break;
    case DelayDistribution::kPareto:
      x = pareto();
      break;
    case DelayDistribution::kParetoNormal:
      x = (0.25 * normal() + 0.75 * pareto()) / std::sqrt(0.25 * 0.25 + 0.75 * 0.75);
      break;
  }
  return std::clamp(x, -kMaxJitterSigmas, kMaxJitterSigmas);
}

void Pipe::enter(size_t bytes) {
  ++counters_.queued_packets;
  counters_.queued_bytes += bytes;
  counters_.max_queued_packets = std::max(counters_.max_queued_packets, counters_.queued_packets);
}

void Pipe::push(Packet packet, Nanos now) {
  ++counters_.packets_in;
  counters_.bytes_in += packet.size();
  if (counters_.queued_bytes + packet.size() > kMaxQueuedBytes) {
    ++counters_.queue_drops;
    return;
  }
  if (identity_ && held_.empty()) {
    const Nanos due = std::max(now, last_delivery_);
    last_delivery_ = due;
    enter(packet.size());
    schedule(std::move(packet), due);
    return;
  }

  bool lost = false;
  if (spec_.loss.kind == LossKind::kBernoulli) {
    lost = chance(spec_.loss.p);
  } else if (spec_.loss.kind == LossKind::kGilbertElliott) {
    ge_bad_ = ge_bad_ ? !chance(spec_.loss.r) : chance(spec_.loss.p);
    lost = !chance(ge_bad_ ? spec_.loss.h : spec_.loss.k);
  }
  if (lost) {
    // The link carried it and lost it on the way: it still took its turn at the bottleneck, so
    // loss lowers what a full link delivers, as on a wire (netem drops before its rate limit,
    // which lets a flood fill the rate with survivors and hides the loss from goodput).
    Nanos exit = now;
    if (spec_.rate_bps > 0 && !bottleneck(static_cast<uint32_t>(packet.size()), now, exit)) return;
    ++counters_.lost;
    return;
  }
  if (!packet.empty() && chance(spec_.corrupt)) {
    corrupt_one_bit(packet);
    ++counters_.corrupted;
  }
  if (chance(spec_.duplicate)) {
    ++counters_.duplicated;
    Packet copy = packet;
    admit(std::move(packet), now);
    admit(std::move(copy), now);
    return;
  }
  admit(std::move(packet), now);
}

void Pipe::corrupt_one_bit(Packet& packet) {
  size_t from = 0;
  const unsigned version = packet[0] >> 4;
  if (version == 4 && packet.size() > 20) {
    const size_t header = (packet[0] & 0x0fu) * 4u;
    if (header >= 20 && header < packet.size()) from = header;
  } else if (version == 6 && packet.size() > 40) {
    from = 40;
  }
  const uint64_t bit = rng_() % ((packet.size() - from) * 8);
  packet[from + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
}

void Pipe::admit(Packet packet, Nanos now) {
  Nanos exit = now;
  if (spec_.rate_bps > 0 && !bottleneck(static_cast<uint32_t>(packet.size()), now, exit)) return;
  const Nanos due = delay_due(exit);
  const size_t bytes = packet.size();
  if (chance(spec_.reorder)) {
    enter(bytes);
    held_.push_back(Held{std::move(packet), due + kReorderTimeout, spec_.reorder_gap});
    return;
  }
  release_held_until(due);
  enter(bytes);
  schedule(std::move(packet), due);
  for (auto it = held_.begin(); it != held_.end();) {
    it->overtaken = true;
    if (--it->remaining == 0) {
      ++counters_.reordered;
      schedule(std::move(it->packet), due);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Pipe::bottleneck(uint32_t bytes, Nanos now, Nanos& exit) {
  while (!in_queue_.empty() && in_queue_.front().first <= now)
    in_queue_bytes_ -= in_queue_.take_front().second;
  const bool full = spec_.queue_unit == QueueUnit::kPackets
                        ? in_queue_.size() >= spec_.queue_limit
                        : in_queue_bytes_ + bytes > spec_.queue_limit;
  if (full) {
    ++counters_.queue_drops;
    return false;
  }
  const Nanos start = std::max(now, link_free_);
  const bool dropped = spec_.aqm == Aqm::kCoDel && codel_drops(start, start - now, in_queue_bytes_);
  // A packet CoDel drops still waited in the queue until its dequeue, but takes no link time.
  const Nanos leaves =
      dropped
          ? start
          : start + static_cast<Nanos>((uint64_t{bytes} * 8 * 1'000'000'000 + spec_.rate_bps - 1) /
                                       spec_.rate_bps);
  in_queue_.push_back({leaves, bytes});
  in_queue_bytes_ += bytes;
  if (dropped) {
    ++counters_.aqm_drops;
    return false;
  }
  link_free_ = exit = leaves;
  return true;
}

// RFC 8289's dequeue logic for one packet, evaluated at its dequeue time. The RFC asks whether
// more than one MTU is left in the queue behind the packet; packets that arrive later are not
// known yet here, so the backlog the packet found on arrival stands in for it.
bool Pipe::codel_drops(Nanos dequeue, Nanos sojourn, uint64_t backlog_bytes) {
  const auto control_law = [](Nanos t, uint32_t count) {
    return t + static_cast<Nanos>(static_cast<double>(kCoDelInterval) / std::sqrt(count));
  };
  bool ok_to_drop = false;
  if (sojourn < kCoDelTarget || backlog_bytes <= spec_.mtu) {
    codel_first_above_ = 0;
  } else if (codel_first_above_ == 0) {
    codel_first_above_ = dequeue + kCoDelInterval;
  } else if (dequeue >= codel_first_above_) {
    ok_to_drop = true;
  }
  if (codel_dropping_) {
    if (!ok_to_drop) {
      codel_dropping_ = false;
      return false;
    }
    if (dequeue < codel_drop_next_) return false;
    ++codel_count_;
    codel_drop_next_ = control_law(codel_drop_next_, codel_count_);
    return true;
  }
  if (!ok_to_drop) return false;
  codel_dropping_ = true;
  const uint32_t delta = codel_count_ - codel_last_count_;
  codel_count_ = (delta > 1 && dequeue - codel_drop_next_ < 16 * kCoDelInterval) ? delta : 1;
  codel_drop_next_ = control_law(dequeue, codel_count_);
  codel_last_count_ = codel_count_;
  return true;
}

Nanos Pipe::delay_due(Nanos exit) {
  Nanos due = exit + spec_.delay.count();
  if (spec_.jitter.count() > 0) {
    due += std::llround(static_cast<double>(spec_.jitter.count()) * jitter_draw());
    due = std::max(due, exit);
  }
  due = std::max(due, last_delivery_);
  last_delivery_ = due;
  return due;
}

void Pipe::release_held_until(Nanos t) {
  while (!held_.empty() && held_.front().timeout <= t) {
    Held& h = held_.front();
    if (h.overtaken) ++counters_.reordered;
    // Keeps the schedule a FIFO even if pop_due ran ahead of a later push's clock.
    last_delivery_ = std::max(last_delivery_, h.timeout);
    schedule(std::move(h.packet), h.timeout);
    held_.pop_front();
  }
}

std::optional<Nanos> Pipe::next_due() const {
  std::optional<Nanos> next;
  if (!schedule_.empty()) next = schedule_.front().due;
  if (!held_.empty() && (!next || held_.front().timeout < *next)) next = held_.front().timeout;
  return next;
}

void Pipe::pop_due(Nanos now, std::vector<Departure>& out) {
  if (!held_.empty()) release_held_until(now);
  while (!schedule_.empty() && schedule_.front().due <= now) {
    Departure d = schedule_.take_front();
    --counters_.queued_packets;
    counters_.queued_bytes -= d.packet.size();
    ++counters_.packets_out;
    counters_.bytes_out += d.packet.size();
    out.push_back(std::move(d));
  }
}

}  // namespace chat::impair
