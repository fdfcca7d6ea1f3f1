#pragma once
// The hub under three more server I/O models, for the course's second question ("besides threads,
// how else can a socket send and receive at the same time?"). Each is one small file, meant to be
// read side by side with the others and with the default epoll loop (src/net/event_loop.cpp):
//
//   hub_threads.cpp  one thread per client, blocking accept/recv/send, a lock around the room
//   hub_select.cpp   one thread, select(2) over fd_sets (fds must stay below FD_SETSIZE, 1,024)
//   hub_poll.cpp     one thread, poll(2) over an array of pollfd (no fd limit, O(n) per call)
//
// All three speak the epoll hub's wire through HubCore (framed clients and plain-text peers),
// TCP only. Each returns the process exit code; SIGINT/SIGTERM stop them in order.
#include <cstdint>
#include <string>

#include "src/net/fd.h"
#include "src/util/result.h"

namespace chat::iomodels {

struct HubModelOptions {
  std::string bind;
  uint16_t port = 10001;
  size_t max_payload = 64 * 1024;
  size_t high_water_bytes = 4 * 1024 * 1024;
};

int run_hub_threads(const HubModelOptions& options);
int run_hub_select(const HubModelOptions& options);
int run_hub_poll(const HubModelOptions& options);

// Shared set-up (hub_listen.cpp): the listening socket, the "listening on" line scripts wait for,
// and SIGINT/SIGTERM turned into a readable fd (so select and poll can wait for them too).
Result<net::Fd> listen_for_model(const HubModelOptions& options, const char* model, bool blocking);
net::Fd signals_as_fd();
// The fd limit raised to the hard limit: 1,000 clients need more than the default 1,024 fds.
void raise_fd_limit_for_model();

}  // namespace chat::iomodels
