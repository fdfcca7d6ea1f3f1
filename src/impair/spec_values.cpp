// The spec's value parsers: percentages, durations, rates and queue sizes. Numbers are read as
// exact decimals (a unit only moves the decimal point) and never through the C locale, so "1.5ms"
// means the same under every LC_NUMERIC.
#include "src/impair/spec_values.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>

namespace chat::impair::detail {
namespace {

constexpr double kMaxDelayNs = 60e9;  // one minute: well past any real path
constexpr double kMaxRateBps = 1e12;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view forms_of(Field field) {
  return kFieldTable[static_cast<size_t>(field)].forms;
}

// A non-negative decimal literal ("12", "0.5", "3.") and what follows it: its unit.
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

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Error fail(std::string_view item, std::string_view why) {
  return make_error(fmt::format("--impair: '{}': {}", item, why));
}

Error bad_value(std::string_view item, Field field, std::string_view why) {
  const auto name = kFieldTable[static_cast<size_t>(field)].name;
  if (why.empty()) return fail(item, fmt::format("{} takes {}", name, forms_of(field)));
  return fail(item, fmt::format("{}; {} takes {}", why, name, forms_of(field)));
}

// A non-negative decimal literal ("12", "0.5", "3.") and what follows it (its unit).
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
  else if (u == "us" || u == "\u00b5s" || u == "\u03bcs")  // micro sign or Greek mu
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

}  // namespace chat::impair::detail
