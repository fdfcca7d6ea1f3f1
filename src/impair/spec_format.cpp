// The canonical spec string, the help text and the identity test.
#include <fmt/format.h>

#include <charconv>
#include <string>
#include <vector>

#include "src/impair/spec.h"
#include "src/impair/spec_fields.h"

namespace chat::impair {
namespace {

// The shortest decimal that reads back as `fraction`, written as a percentage: the digits come
// from to_chars' shortest form and only the decimal point moves, so the parser (which shifts the
// point back exactly) recovers the same double.
std::string percent(double fraction) {
  if (fraction == 0) return "0%";
  char buf[64];
  const auto end =
      std::to_chars(buf, buf + sizeof buf, fraction, std::chars_format::scientific).ptr;
  const std::string_view text(buf, static_cast<size_t>(end - buf));  // "d.ddde-XX"
  const auto e = text.find('e');
  std::string digits(1, text[0]);
  if (e > 1) digits += text.substr(2, e - 2);
  int exponent = 0;
  auto exp_text = text.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  const int point = exponent + 2 + 1;  // digits before the point, in percent
  std::string out;
  if (point <= 0) {
    out = "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (static_cast<size_t>(point) >= digits.size()) {
    out = digits + std::string(static_cast<size_t>(point) - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(point)) + "." +
          digits.substr(static_cast<size_t>(point));
  }
  return out + "%";
}

// The largest unit that divides the value evenly, so the text is exact.
template <size_t N>
std::string with_unit(uint64_t value, const std::pair<uint64_t, const char*> (&units)[N]) {
  for (const auto& [size, name] : units)
    if (value % size == 0) return fmt::format("{}{}", value / size, name);
  return std::to_string(value);
}

std::string duration(std::chrono::nanoseconds d) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {1000000000, "s"}, {1000000, "ms"}, {1000, "us"}, {1, "ns"}};
  return with_unit(static_cast<uint64_t>(d.count()), kUnits);
}

const char* distribution_name(DelayDistribution d) {
  switch (d) {
    case DelayDistribution::kUniform:
      return "uniform";
    case DelayDistribution::kNormal:
      return "normal";
    case DelayDistribution::kPareto:
      return "pareto";
    case DelayDistribution::kParetoNormal:
      return "paretonormal";
  }
  return "uniform";
}

}  // namespace

bool Spec::is_identity() const {
  const bool no_loss = loss.kind == LossKind::kNone ||
                       (loss.kind == LossKind::kBernoulli && loss.p == 0) ||
                       (loss.kind == LossKind::kGilbertElliott && loss.p == 0 && loss.k == 1);
  return no_loss && delay.count() == 0 && jitter.count() == 0 && reorder == 0 && duplicate == 0 &&
         corrupt == 0 && rate_bps == 0;
}

std::string format_spec(const Spec& spec) {
  const Spec defaults;
  std::vector<std::string> items;
  switch (spec.loss.kind) {
    case LossKind::kNone:
      break;
    case LossKind::kBernoulli:
      items.push_back("loss=" + percent(spec.loss.p));
      break;
    case LossKind::kGilbertElliott:
      items.push_back(fmt::format("loss=ge:p={},r={}", percent(spec.loss.p), percent(spec.loss.r)));
      if (spec.loss.h != defaults.loss.h) items.push_back("h=" + percent(spec.loss.h));
      if (spec.loss.k != defaults.loss.k) items.push_back("k=" + percent(spec.loss.k));
      break;
  }
  if (spec.delay != defaults.delay) items.push_back("delay=" + duration(spec.delay));
  if (spec.jitter != defaults.jitter) items.push_back("jitter=" + duration(spec.jitter));
  if (spec.distribution != defaults.distribution)
    items.push_back(fmt::format("dist={}", distribution_name(spec.distribution)));
  if (spec.reorder != defaults.reorder) items.push_back("reorder=" + percent(spec.reorder));
  if (spec.reorder_gap != defaults.reorder_gap)
    items.push_back(fmt::format("gap={}", spec.reorder_gap));
  if (spec.duplicate != defaults.duplicate) items.push_back("dup=" + percent(spec.duplicate));
  if (spec.corrupt != defaults.corrupt) items.push_back("corrupt=" + percent(spec.corrupt));
  if (spec.rate_bps != defaults.rate_bps) {
    static constexpr std::pair<uint64_t, const char*> kUnits[] = {
        {1000000000, "gbit"}, {1000000, "mbit"}, {1000, "kbit"}, {1, "bit"}};
    items.push_back("rate=" + with_unit(spec.rate_bps, kUnits));
  }
  if (spec.queue_limit != defaults.queue_limit || spec.queue_unit != defaults.queue_unit) {
    static constexpr std::pair<uint64_t, const char*> kBytes[] = {
        {1000000, "mb"}, {1 << 20, "mib"}, {1000, "kb"}, {1024, "kib"}, {1, "b"}};
    items.push_back("queue=" + (spec.queue_unit == QueueUnit::kPackets
                                    ? fmt::format("{}pkt", spec.queue_limit)
                                    : with_unit(spec.queue_limit, kBytes)));
  }
  if (spec.aqm != defaults.aqm) items.push_back("aqm=codel");
  if (spec.mtu != defaults.mtu) items.push_back(fmt::format("mtu={}", spec.mtu));
  if (spec.seed) items.push_back(fmt::format("seed={}", *spec.seed));
  if (items.empty()) return "none";
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::string spec_help() {
  std::string out =
      "--impair takes comma-separated key=value items, or 'none'. Percentages are written N% "
      "(or 0).\n";
  for (const auto& f : detail::kFieldTable) out += fmt::format("  {:<8} {}\n", f.name, f.forms);
  out +=
      "Example: loss=ge:p=1%,r=30%,delay=20ms,jitter=5ms,dist=normal,rate=10mbit,queue=100pkt\n"
      "dist, gap, queue and aqm only shape what jitter, reorder and rate turn on.\n";
  return out;
}

}  // namespace chat::impair
