#pragma once
// Finds select(2)'s ceiling on a running `chat server --io select`: framed clients join one after
// another, each kept connected, until the hub refuses some. Blocking sockets, every wait bounded.
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

SelectProbe probe_select_limit(uint16_t port, size_t max_clients, size_t stop_after_refusals);

}  // namespace chat::demo
