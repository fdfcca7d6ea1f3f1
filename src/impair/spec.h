#pragma once
// The impairment model's vocabulary: one spec string, the same for every command
// (`--impair 'loss=2%,delay=20ms,jitter=5ms,…'`), parsed into a value the link applies to every IP
// packet. The words follow netem's man page so a reader who knows `tc … netem` feels at home; where
// we differ from netem (jitter alone never reorders) the README says so.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "src/util/result.h"

namespace chat::impair {

enum class LossKind { kNone, kBernoulli, kGilbertElliott };

// Gilbert–Elliott with netem's gemodel parameters: p = P(good → bad), r = P(bad → good),
// h = P(a packet gets through | bad), k = P(a packet gets through | good). With h = 0 and k = 1
// (the defaults) every packet in the bad state is lost and the mean burst is 1/r packets.
struct LossSpec {
  LossKind kind = LossKind::kNone;
  double p = 0;  // Bernoulli: loss probability; Gilbert–Elliott: good → bad
  double r = 1;  // bad → good
  double h = 0;
  double k = 1;
  bool operator==(const LossSpec&) const = default;
};

enum class DelayDistribution { kUniform, kNormal, kPareto, kParetoNormal };
enum class QueueUnit { kPackets, kBytes };
enum class Aqm { kDropTail, kCoDel };

struct Spec {
  LossSpec loss;
  std::chrono::nanoseconds delay{0};
  std::chrono::nanoseconds jitter{0};
  DelayDistribution distribution = DelayDistribution::kUniform;
  double reorder = 0;        // probability a packet is held back behind the next `reorder_gap`
  uint32_t reorder_gap = 1;  // packets that overtake a held-back one
  double duplicate = 0;
  double corrupt = 0;           // one bit flipped past the IP header (the L4 checksum then fails)
  uint64_t rate_bps = 0;        // bottleneck rate in bit/s; 0: unlimited
  uint64_t queue_limit = 1000;  // bottleneck queue bound, in `queue_unit`s
  QueueUnit queue_unit = QueueUnit::kPackets;
  Aqm aqm = Aqm::kDropTail;
  uint32_t mtu = 1500;           // the link's MTU (set on the TUN devices)
  std::optional<uint64_t> seed;  // unset: a random seed, recorded with the results

  // True when the spec changes nothing (the forwarder's fast path).
  bool is_identity() const;
  bool operator==(const Spec&) const = default;
};

// Parses "loss=2%,delay=20ms,…"; "" and "none" give the identity spec. An error names the field
// and lists the accepted forms.
Result<Spec> parse_spec(std::string_view text);

// The canonical spec string (fields in a fixed order, only those that differ from the default);
// parse_spec(format_spec(s)) == s.
std::string format_spec(const Spec& spec);

// Accepted fields and forms, one per line, for --help and error messages.
std::string spec_help();

}  // namespace chat::impair
