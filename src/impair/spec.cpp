// The spec parser. Items are split on commas first; the Gilbert–Elliott sub-fields (p, r, h, k)
// are items of their own that follow `loss=ge:`, so `loss=ge:p=1%,r=30%,delay=20ms` needs no
// quoting or nesting, and a sub-field anywhere else is an error rather than a silent no-op.
#include <fmt/format.h>

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/impair/spec.h"
#include "src/impair/spec_fields.h"
#include "src/impair/spec_values.h"

namespace chat::impair {
namespace {

using detail::bad_value;
using detail::fail;
using detail::Field;
using detail::kFieldList;
using detail::kFieldTable;
using detail::trim;

std::optional<Field> field_named(std::string_view key) {
  if (key == "distribution") return Field::kDist;
  if (key == "duplicate") return Field::kDup;
  for (const auto& f : kFieldTable)
    if (f.name == key) return f.field;
  return std::nullopt;
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
    auto v = detail::parse_percent(item, Field::kLoss, trim(sub.substr(eq + 1)),
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
        auto p = detail::parse_percent(item, Field::kLoss, value, "loss");
        if (!p) return p.error();
        spec.loss = LossSpec{LossKind::kBernoulli, *p};
        break;
      }
      case Field::kDelay:
      case Field::kJitter: {
        auto d = detail::parse_duration(item, *field, value);
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
        auto p = detail::parse_percent(item, *field, value, kFieldTable[index].name);
        if (!p) return p.error();
        (*field == Field::kReorder ? spec.reorder
         : *field == Field::kDup   ? spec.duplicate
                                   : spec.corrupt) = *p;
        break;
      }
      case Field::kGap: {
        auto g = detail::parse_integer(item, *field, value, 1, 1000);
        if (!g) return g.error();
        spec.reorder_gap = static_cast<uint32_t>(*g);
        break;
      }
      case Field::kRate: {
        auto r = detail::parse_rate(item, value);
        if (!r) return r.error();
        spec.rate_bps = *r;
        break;
      }
      case Field::kQueue: {
        auto q = detail::parse_queue(item, value);
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
        auto m = detail::parse_integer(item, *field, value, 68, 65535);
        if (!m) return m.error();
        spec.mtu = static_cast<uint32_t>(*m);
        break;
      }
      case Field::kSeed: {
        auto s = detail::parse_integer(item, *field, value, 0, UINT64_MAX);
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
