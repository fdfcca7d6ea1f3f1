#pragma once
// What the select(2) and poll(2) hubs share: one thread, non-blocking sockets, and the work done
// once the kernel says a socket is ready — accept, read, write, drop, and admitting silent peers
// as plain text. Each model's own file keeps only what differs: how it asks which sockets are
// ready (hub_select.cpp, hub_poll.cpp), so the two can be read side by side.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "src/iomodels/hub_core.h"
#include "src/iomodels/hub_models.h"
#include "src/net/fd.h"

namespace chat::iomodels {

class ReadyHub {
 public:
  ReadyHub(const HubModelOptions& o, net::Fd listener, net::Fd signals);
  virtual ~ReadyHub() = default;
  ReadyHub(const ReadyHub&) = delete;
  ReadyHub& operator=(const ReadyHub&) = delete;

 protected:
  // Accepts every waiting connection into the room (each speaks, or counts as text after 300 ms);
  // EAGAIN or running out of fds ends the round, and the next wait says so again.
  void accept_all();
  // A model that cannot watch every descriptor turns this one away; true when it did.
  virtual bool refused(net::Fd& fd) {
    (void)fd;
    return false;
  }
  void read_from(int fd);
  void write_to(int fd);
  void drop(int fd, const std::string& why);
  // Writes what the round queued (most sockets take it at once) and closes whom the core gave up.
  void settle();
  // Connections that have not spoken yet become plain-text peers when their time comes.
  void admit_silent();
  // How long the wait may block before the next silent connection is due (-1: no limit).
  int64_t ms_until_next_admission() const;
  bool has_output(int fd) { return !core_.output(fd)->empty(); }

  HubCore core_;
  net::Fd listener_;
  net::Fd signals_;
  std::map<int, net::Fd> conns_;

 private:
  void admit(net::Fd fd);

  std::map<int, uint64_t> silent_;
  char buffer_[64 * 1024];
};

// Serves a ReadyHub model (`Hub`) until SIGINT/SIGTERM: the entry point each model's file exports.
template <class Hub>
int run_ready_hub(const HubModelOptions& o, const char* what) {
  raise_fd_limit_for_model();
  net::Fd signals = signals_as_fd();
  Result<net::Fd> listener = listen_for_model(o, what, false);
  if (!listener) {
    fmt::print(stderr, "chat: {}\n", listener.error().message);
    return 1;
  }
  auto hub = std::make_unique<Hub>(o, std::move(*listener), std::move(signals));
  return hub->run();
}

}  // namespace chat::iomodels
