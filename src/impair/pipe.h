#pragma once
// One direction of an emulated link, as a pure scheduler: packets go in with their arrival time and
// come out with their departure time. It knows nothing of sockets or TUN devices, so it is tested
// on synthetic packet streams with a fake clock. Stages, in order:
//   1. loss (Bernoulli or Gilbert–Elliott), then corruption (one bit) and duplication; a lost
//      packet still takes its turn at the bottleneck (the link carried it, then lost it);
//   2. the bottleneck: a token-bucket rate with a bounded queue, drop-tail or CoDel;
//   3. propagation delay with jitter drawn from the distribution; FIFO, so jitter alone never
//      reorders (a packet whose draw would overtake its predecessor leaves right after it);
//   4. reordering, only when asked: a held-back packet leaves after the next `reorder_gap` packets,
//      or 10 ms after it was due if none come.
// Every random draw comes from one seeded generator per pipe, so a seed reproduces a run.
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <vector>

#include "src/impair/ring.h"
#include "src/impair/spec.h"

namespace chat::impair {

using Nanos = int64_t;  // CLOCK_MONOTONIC nanoseconds
using Packet = std::vector<uint8_t>;

struct Departure {
  Packet packet;
  Nanos due = 0;  // when it was scheduled to leave
};

struct PipeCounters {
  uint64_t packets_in = 0, bytes_in = 0;
  uint64_t packets_out = 0, bytes_out = 0;  // handed out by pop_due (duplicates included)
  uint64_t lost = 0;                        // dropped by the loss model
  uint64_t queue_drops = 0;                 // dropped at the bottleneck: queue full (drop-tail)
  uint64_t aqm_drops = 0;                   // dropped by CoDel
  uint64_t duplicated = 0, reordered = 0, corrupted = 0;
  uint64_t queued_packets = 0, queued_bytes = 0;  // in the pipe now
  uint64_t max_queued_packets = 0;
};

class Pipe {
 public:
  Pipe(const Spec& spec, uint64_t seed);

  // A packet arrives at `now` (non-decreasing across calls).
  void push(Packet packet, Nanos now);
  // The earliest time something is due to leave, or nullopt when the pipe is empty.
  std::optional<Nanos> next_due() const;
  // Appends every packet due at or before `now` to `out`, in departure order.
  void pop_due(Nanos now, std::vector<Departure>& out);

  // Takes a new spec; packets already in the pipe keep their schedule. The generator is kept
  // unless the new spec names a different seed.
  void set_spec(const Spec& spec);
  const Spec& spec() const { return spec_; }
  uint64_t seed() const { return seed_; }
  const PipeCounters& counters() const { return counters_; }

 private:
  struct Held {
    Packet packet;
    Nanos timeout = 0;       // when it leaves if too few packets overtake it
    uint32_t remaining = 0;  // packets still to overtake it
    bool overtaken = false;
  };

  void admit(Packet packet, Nanos now);  // stages 2–4, for an original or its copy
  bool bottleneck(uint32_t bytes, Nanos now, Nanos& exit);
  bool codel_drops(Nanos dequeue, Nanos sojourn, uint64_t backlog_bytes);
  Nanos delay_due(Nanos exit);
  void release_held_until(Nanos t);
  void schedule(Packet packet, Nanos due) {
    schedule_.push_back(Departure{std::move(packet), due});
  }
  void enter(size_t bytes);
  void corrupt_one_bit(Packet& packet);
  double uniform();  // [0, 1)
  bool chance(double p) { return p > 0 && (p >= 1 || uniform() < p); }
  double jitter_draw();  // zero mean, unit spread

  Spec spec_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  PipeCounters counters_;
  bool identity_ = true;
  bool ge_bad_ = false;
  Nanos link_free_ = 0;      // when the bottleneck finishes sending what it has
  Nanos last_delivery_ = 0;  // FIFO floor of the delay stage
  // Every insertion lands at or after the last due time (see pipe.cpp), so the departure schedule
  // is a FIFO and equal due times keep arrival order.
  Ring<Departure> schedule_;
  std::deque<Held> held_;  // timeouts non-decreasing front to back
  // Bottleneck occupancy: (time it leaves the queue, bytes) of packets queued or in service.
  Ring<std::pair<Nanos, uint32_t>> in_queue_;
  uint64_t in_queue_bytes_ = 0;
  // CoDel (RFC 8289) state.
  bool codel_dropping_ = false;
  Nanos codel_first_above_ = 0, codel_drop_next_ = 0;
  uint32_t codel_count_ = 0, codel_last_count_ = 0;
};

}  // namespace chat::impair
