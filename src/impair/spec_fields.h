#pragma once
// The spec's field table, shared by the parser (its error messages) and spec_help().
#include <array>
#include <string_view>

namespace chat::impair::detail {

enum class Field {
  kLoss,
  kDelay,
  kJitter,
  kDist,
  kReorder,
  kGap,
  kDup,
  kCorrupt,
  kRate,
  kQueue,
  kAqm,
  kMtu,
  kSeed
};

struct FieldInfo {
  Field field;
  std::string_view name;
  std::string_view forms;  // accepted values, for help and errors
};

inline constexpr std::array<FieldInfo, 13> kFieldTable{{
    {Field::kLoss, "loss",
     "N% (independent, Bernoulli) or ge:p=N%,r=N%[,h=N%,k=N%] (Gilbert-Elliott: p good->bad, "
     "r bad->good, h/k chance a packet gets through in the bad/good state; defaults h=0%, k=100%)"},
    {Field::kDelay, "delay",
     "a duration: 20ms, 1.5s, 500us (or µs), 250000ns; a bare number is ms"},
    {Field::kJitter, "jitter", "a duration like delay; spread around delay, drawn from dist"},
    {Field::kDist, "dist",
     "uniform (delay +- jitter), normal, pareto, paretonormal (jitter is their std); alias "
     "distribution"},
    {Field::kReorder, "reorder", "N%: chance a packet is held back behind the next `gap` packets"},
    {Field::kGap, "gap", "an integer >= 1 (default 1): packets that overtake a held-back one"},
    {Field::kDup, "dup", "N%: chance a packet is sent twice; alias duplicate"},
    {Field::kCorrupt, "corrupt", "N%: chance one bit past the IP header is flipped"},
    {Field::kRate, "rate",
     "a bottleneck rate: 10mbit, 512kbit, 1gbit, 64000bit (bits/s, k=1000), or 1mbps, 100kbps, "
     "bps, "
     "gbps (BYTES/s, as tc reads them); 0 = unlimited"},
    {Field::kQueue, "queue",
     "a bottleneck queue bound: 100pkt or a bare 100 (packets), 1500b, 150kb, 64kib, 1mb, 1mib "
     "(bytes); default 1000pkt"},
    {Field::kAqm, "aqm", "droptail (default) or codel (RFC 8289, target 5ms, interval 100ms)"},
    {Field::kMtu, "mtu", "the link's MTU in bytes, 68..65535 (default 1500)"},
    {Field::kSeed, "seed", "an unsigned 64-bit integer; unset: a random seed, recorded"},
}};

inline constexpr std::string_view kFieldList =
    "loss, delay, jitter, dist, reorder, gap, dup, corrupt, rate, queue, aqm, mtu, seed";

inline constexpr std::string_view kPercentForms = "a percentage N% (e.g. 2%, 0.5%) or 0";

}  // namespace chat::impair::detail
