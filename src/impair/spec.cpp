// The spec parser. Items are split on commas first; the Gilbert–Elliott sub-fields (p, r, h, k)
// are items of their own that follow `loss=ge:`, so `loss=ge:p=1%,r=30%,delay=20ms` needs no
// quoting or nesting, and a sub-field anywhere else is an error rather than a silent no-op.
#include <fmt/format.h>

#include <bitset>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/impair/spec.h"
#include "src/impair/spec_fields.h"

namespace chat::impair {
namespace {

using detail::Field;
using detail::kFieldList;
using detail::kFieldTable;

constexpr double kMaxDelayNs = 60e9;  // one minute: well past any real path
constexpr double kMaxRateBps = 1e12;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<Field> field_named(std::string_view key) {
  if (key == "distribution") return Field::kDist;
  if (key == "duplicate") return Field::kDup;
  for (const auto& f : kFieldTable)
    if (f.name == key) return f.field;
  return std::nullopt;
}

std::string_view forms_of(Field field) {
  return kFieldTable[static_cast<size_t>(field)].forms;
}

Error fail(std::string_view item, std::string_view why) {
  return make_error(fmt::format("--impair: '{}': {}", item, why));
}

Error bad_value(std::string_view item, Field field, std::string_view why = {}) {
  const auto name = kFieldTable[static_cast<size_t>(field)].name;
  if (why.empty()) return fail(item, fmt::format("{} takes {}", name, forms_of(field)));
  return fail(item, fmt::format("{}; {} takes {}", why, name, forms_of(field)));
}

// A non-negative decimal literal ("12", "0.5", "3.") and what follows it (its unit).
struct Number {
  std::string_view digits;
  std::string unit;  // lower-cased
};

std::optional<Number> split_number(std::string_view value) {
  size_t n = 0, dots = 0, digits = 0;
  for (; n < value.size(); ++n) {
    if (value[n] == '.') {
      ++dots;
    } else if (value[n] >= '0' && value[n] <= '9') {
      ++digits;
    } else {
      break;
    }
  }
  if (digits == 0 || dots > 1) return std::nullopt;
  return Number{value.substr(0, n), lower(trim(value.substr(n)))};
}

// Decimal text to a double through from_chars, so the locale never matters; `exponent` shifts it
// exactly ("2" with -2 is the double nearest 0.02, which is what keeps format/parse round trips
// exact).
double to_double(std::string_view digits, int exponent = 0) {
  std::string text(digits);
  if (text.back() == '.') text.pop_back();
  if (exponent != 0) text += fmt::format("e{}", exponent);
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::optional<uint64_t> to_integer(std::string_view digits) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

bool negative(std::string_view value) {
  return !value.empty() && value.front() == '-';
}

Result<double> parse_percent(std::string_view item, Field field, std::string_view value,
                             std::string_view name) {
  if (value == "0") return 0.0;
  auto number = split_number(value);
  if (negative(value)) return fail(item, fmt::format("{} cannot be negative", name));
  if (!number || number->unit != "%") {
    const auto forms =
        field == Field::kLoss && name == "loss" ? forms_of(field) : detail::kPercentForms;
    return fail(item, fmt::format("{} takes {}; a bare fraction like 0.02 is refused as ambiguous",
                                  name, forms));
  }
  const double p = to_double(number->digits, -2);
  if (p > 1.0) return fail(item, fmt::format("{} is at most 100%", name));
  return p;
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view item, Field field,
                                                std::string_view value) {
  if (negative(value)) return bad_value(item, field, "cannot be negative");
  auto number = split_number(value);
  if (!number) return bad_value(item, field);
  // Powers of ten from the unit to nanoseconds: the decimal point moves exactly.
  int shift = 0;
  const std::string& u = number->unit;
  if (u == "ns")
    shift = 0;
  else if (u == "us" || u == "µs")
    shift = 3;
  else if (u.empty() || u == "ms")
    shift = 6;
  else if (u == "s")
    shift = 9;
  else
    return bad_value(item, field, fmt::format("unknown unit '{}'", number->unit));
  const double ns = to_double(number->digits, shift);
  if (ns > kMaxDelayNs) return bad_value(item, field, "at most 60s");
  return std::chrono::nanoseconds(std::llround(ns));
}

Result<uint64_t> parse_rate(std::string_view item, std::string_view value) {
  if (negative(value)) return bad_value(item, Field::kRate, "cannot be negative");
  auto number = split_number(value);
  if (!number) return bad_value(item, Field::kRate);
  if (number->unit.empty()) {
    if (to_double(number->digits) == 0) return uint64_t{0};
    return bad_value(item, Field::kRate, "a rate needs a unit");
  }
  // (unit, power of ten, bits per unit of that power): bps and friends count bytes, as in tc.
  static constexpr struct {
    std::string_view name;
    int shift;
    double bits;
  } kUnits[] = {
      {"bit", 0, 1}, {"kbit", 3, 1}, {"mbit", 6, 1}, {"gbit", 9, 1},
      {"bps", 0, 8}, {"kbps", 3, 8}, {"mbps", 6, 8}, {"gbps", 9, 8},
  };
  for (const auto& unit : kUnits) {
    if (number->unit != unit.name) continue;
    const double bps = to_double(number->digits, unit.shift) * unit.bits;
    if (bps > kMaxRateBps) return bad_value(item, Field::kRate, "at most 1000gbit");
    const auto rounded = static_cast<uint64_t>(std::llround(bps));
    if (rounded == 0 && bps > 0) return bad_value(item, Field::kRate, "below 1 bit/s");
    return rounded;
  }
  return bad_value(item, Field::kRate, fmt::format("unknown unit '{}'", number->unit));
}

Result<std::pair<uint64_t, QueueUnit>> parse_queue(std::string_view item, std::string_view value) {
  if (negative(value)) return bad_value(item, Field::kQueue, "cannot be negative");
  auto number = split_number(value);
  auto count = number ? to_integer(number->digits) : std::nullopt;
  if (!count) return bad_value(item, Field::kQueue, "a whole number is needed");
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1}, {"pkt", 1}, {"b", 1}, {"kb", 1000}, {"kib", 1024}, {"mb", 1000000}, {"mib", 1 << 20},
  };
  for (const auto& [name, mult] : kUnits) {
    if (number->unit != name) continue;
    if (*count == 0) return bad_value(item, Field::kQueue, "must be at least 1");
    if (*count > (uint64_t{1} << 40) / mult) return bad_value(item, Field::kQueue, "too large");
    const auto unit = (name.empty() || name == "pkt") ? QueueUnit::kPackets : QueueUnit::kBytes;
    return std::pair{*count * mult, unit};
  }
  return bad_value(item, Field::kQueue, fmt::format("unknown unit '{}'", number->unit));
}

Result<uint64_t> parse_integer(std::string_view item, Field field, std::string_view value,
                               uint64_t min, uint64_t max) {
  auto v = to_integer(value);
  if (!v || *v < min || *v > max) return bad_value(item, field);
  return *v;
}

// Fills `loss` from the items of one `loss=ge:…` group.
Result<void> parse_gilbert_elliott(
    const std::vector<std::pair<std::string_view, std::string_view>>& group, LossSpec& loss) {
  std::bitset<4> seen;
  loss = LossSpec{LossKind::kGilbertElliott};
  for (const auto& [item, sub] : group) {
    const auto eq = sub.find('=');
    const auto key = trim(sub.substr(0, eq));
    static constexpr std::string_view kKeys = "prhk";
    const auto index = key.size() == 1 ? kKeys.find(key[0]) : std::string_view::npos;
    if (eq == std::string_view::npos || index == std::string_view::npos)
      return bad_value(item, Field::kLoss, "expected p=, r=, h= or k= after loss=ge:");
    if (seen[index]) return fail(item, fmt::format("loss=ge: sets {} twice", key));
    seen[index] = true;
    auto v = parse_percent(item, Field::kLoss, trim(sub.substr(eq + 1)),
                           fmt::format("loss=ge: {}", key));
    if (!v) return v.error();
    double* slots[] = {&loss.p, &loss.r, &loss.h, &loss.k};
    *slots[index] = *v;
  }
  if (!seen[0] || !seen[1])
    return bad_value(group.front().first, Field::kLoss, "loss=ge: needs both p and r");
  return {};
}

}  // namespace

Result<Spec> parse_spec(std::string_view text) {
  Spec spec;
  text = trim(text);
  if (text.empty() || text == "none") return spec;

  std::vector<std::string_view> items;
  for (size_t start = 0;;) {
    const auto comma = text.find(',', start);
    items.push_back(trim(text.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }

  std::bitset<kFieldTable.size()> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto item = items[i];
    if (item.empty())
      return make_error(
          fmt::format("--impair: '{}': empty item (stray comma?); "
                      "fields: {}",
                      text, kFieldList));
    const auto eq = item.find('=');
    const auto key = trim(item.substr(0, eq));
    auto field = field_named(key);
    if (!field) {
      if (key == "p" || key == "r" || key == "h" || key == "k")
        return fail(item, fmt::format("'{}' belongs to Gilbert-Elliott loss and must follow "
                                      "loss=ge:, e.g. loss=ge:p=1%,r=30%",
                                      key));
      return fail(item, fmt::format("unknown field '{}'; fields: {}", key, kFieldList));
    }
    const auto index = static_cast<size_t>(*field);
    if (eq == std::string_view::npos) return bad_value(item, *field, "no value");
    if (seen[index]) return fail(item, fmt::format("{} is given twice", kFieldTable[index].name));
    seen[index] = true;
    const auto value = trim(item.substr(eq + 1));

    Result<void> ok;
    switch (*field) {
      case Field::kLoss: {
        if (value.starts_with("ge:") || value == "ge") {
          std::vector<std::pair<std::string_view, std::string_view>> group;
          group.emplace_back(item, value.size() > 3 ? value.substr(3) : std::string_view());
          for (; i + 1 < items.size(); ++i) {
            const auto next_key = trim(items[i + 1].substr(0, items[i + 1].find('=')));
            if (next_key.size() != 1 ||
                std::string_view("prhk").find(next_key) == std::string_view::npos)
              break;
            group.emplace_back(items[i + 1], items[i + 1]);
          }
          ok = parse_gilbert_elliott(group, spec.loss);
          break;
        }
        auto p = parse_percent(item, Field::kLoss, value, "loss");
        if (!p) return p.error();
        spec.loss = LossSpec{LossKind::kBernoulli, *p};
        break;
      }
      case Field::kDelay:
      case Field::kJitter: {
        auto d = parse_duration(item, *field, value);
        if (!d) return d.error();
        (*field == Field::kDelay ? spec.delay : spec.jitter) = *d;
        break;
      }
      case Field::kDist:
        if (value == "uniform")
          spec.distribution = DelayDistribution::kUniform;
        else if (value == "normal")
          spec.distribution = DelayDistribution::kNormal;
        else if (value == "pareto")
          spec.distribution = DelayDistribution::kPareto;
        else if (value == "paretonormal")
          spec.distribution = DelayDistribution::kParetoNormal;
        else
          ok = bad_value(item, *field);
        break;
      case Field::kReorder:
      case Field::kDup:
      case Field::kCorrupt: {
        auto p = parse_percent(item, *field, value, kFieldTable[index].name);
        if (!p) return p.error();
        (*field == Field::kReorder ? spec.reorder
         : *field == Field::kDup   ? spec.duplicate
                                   : spec.corrupt) = *p;
        break;
      }
      case Field::kGap: {
        auto g = parse_integer(item, *field, value, 1, 1000);
        if (!g) return g.error();
        spec.reorder_gap = static_cast<uint32_t>(*g);
        break;
      }
      case Field::kRate: {
        auto r = parse_rate(item, value);
        if (!r) return r.error();
        spec.rate_bps = *r;
        break;
      }
      case Field::kQueue: {
        auto q = parse_queue(item, value);
        if (!q) return q.error();
        spec.queue_limit = q->first;
        spec.queue_unit = q->second;
        break;
      }
      case Field::kAqm:
        if (value == "droptail")
          spec.aqm = Aqm::kDropTail;
        else if (value == "codel")
          spec.aqm = Aqm::kCoDel;
        else
          ok = bad_value(item, *field);
        break;
      case Field::kMtu: {
        auto m = parse_integer(item, *field, value, 68, 65535);
        if (!m) return m.error();
        spec.mtu = static_cast<uint32_t>(*m);
        break;
      }
      case Field::kSeed: {
        auto s = parse_integer(item, *field, value, 0, UINT64_MAX);
        if (!s) return s.error();
        spec.seed = *s;
        break;
      }
    }
    if (!ok) return ok.error();
  }
  return spec;
}

}  // namespace chat::impair
