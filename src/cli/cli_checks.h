#pragma once
// Flag checks every subcommand shares (server, client, bench, and whatever comes next), so a bad
// value is refused up front with the flag's name and what would have been accepted. Header-only:
// the bench library uses them too.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "transports/transport.h"

namespace chat::cli {

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline std::string joined(const std::vector<std::string>& items, const char* sep = ",") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// The wires the transport factory knows: -t takes a new wire with no CLI change.
inline std::vector<std::string> wire_names() {
  std::vector<std::string> out;
  for (auto name : transport_names()) out.emplace_back(name);
  return out;
}

// True for a wire that carries plain text on an ordered, reliable stream: what the teaching
// servers and the lockstep client (src/iomodels) speak, so what `--io` other than epoll needs.
inline bool serves_plain_text_stream(const std::string& wire) {
  auto caps = transport_caps(wire, TransportConfig{});
  return caps && caps->text_peers && caps->reliable && caps->ordered;
}

// One of `choices`, in any case; the value is rewritten to the choice as spelled here.
inline CLI::Validator one_of(std::vector<std::string> choices) {
  const std::string desc = "{" + joined(choices) + "}";
  return CLI::Validator(
      [choices](std::string& value) -> std::string {
        const std::string want = lower(value);
        for (const auto& c : choices)
          if (lower(c) == want) {
            value = c;
            return {};
          }
        return "'" + value + "' is not one of {" + joined(choices) + "}";
      },
      desc);
}

// A comma list whose every item is one of `choices` (any case); rewritten in lower case.
inline CLI::Validator list_of(std::vector<std::string> choices) {
  const std::string desc = "LIST of {" + joined(choices) + "}";
  return CLI::Validator(
      [choices](std::string& value) -> std::string {
        std::vector<std::string> items;
        std::string item;
        for (size_t i = 0; i <= value.size(); ++i) {
          if (i < value.size() && value[i] != ',') {
            item.push_back(value[i]);
            continue;
          }
          if (item.empty()) return "'" + value + "' has an empty item";
          const std::string want = lower(item);
          if (std::find(choices.begin(), choices.end(), want) == choices.end())
            return "'" + item + "' is not one of {" + joined(choices) + "}";
          items.push_back(want);
          item.clear();
        }
        value = joined(items);
        return {};
      },
      desc);
}

// A whole number in [lo, hi], said plainly when it is not a number at all.
inline CLI::Validator number_in(long long lo, long long hi, std::string what = "a number") {
  const std::string desc = "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, what](std::string& value) -> std::string {
        long long v = 0;
        const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        const std::string range = std::to_string(lo) + "–" + std::to_string(hi);
        if (ec != std::errc() || p != value.data() + value.size())
          return "'" + value + "' is not " + what + " (" + range + ")";
        if (v < lo || v > hi) return value + " is out of range (" + range + ")";
        return {};
      },
      desc);
}

// A comma list of whole numbers, each at least `min` (message sizes, client counts).
inline CLI::Validator count_list(long long min, std::string what) {
  return CLI::Validator(
      [min, what](std::string& value) -> std::string {
        size_t start = 0;
        while (start <= value.size()) {
          const size_t end = std::min(value.find(',', start), value.size());
          const std::string item = value.substr(start, end - start);
          long long v = 0;
          const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
          if (item.empty() || ec != std::errc() || p != item.data() + item.size())
            return "'" + item + "' is not a " + what;
          if (v < min) return what + " " + item + " is below the minimum of " + std::to_string(min);
          start = end + 1;
        }
        return {};
      },
      "LIST");
}

}  // namespace chat::cli
