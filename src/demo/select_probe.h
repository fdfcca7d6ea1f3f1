#pragma once
// Finds select(2)'s ceiling on a running `chat server --io select`: `clients` framed clients join,
// all kept connected, and each answer (WELCOME or REFUSE) is counted. Every wait is bounded.
#include <cstdint>
#include <string>

namespace chat::demo {

struct SelectProbe {
  size_t admitted = 0;
  size_t refused = 0;
  std::string reason;  // the hub's own words for the first refusal
  std::string error;   // the probe itself could not run
  double seconds = 0;
};

SelectProbe probe_select_limit(uint16_t port, size_t clients);

}  // namespace chat::demo
