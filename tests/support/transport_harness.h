#pragma once
// What the in-process transport suites share: loopback configurations, and a way to drive an
// EventLoop until a condition holds, never longer than a deadline.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "src/net/event_loop.h"
#include "transports/transport.h"

namespace chat::testing {

// Runs `loop` until `done()` holds or `deadline` passes; returns done(). The condition is checked
// every millisecond, so no test sleeps to synchronise.
inline bool run_until(net::EventLoop& loop, const std::function<bool()>& done,
                      std::chrono::milliseconds deadline = std::chrono::milliseconds(3000)) {
  if (done()) return true;
  const net::TimerId check = loop.run_every(std::chrono::milliseconds(1), [&] {
    if (done()) loop.stop();
  });
  const net::TimerId limit = loop.run_after(deadline, [&] { loop.stop(); });
  loop.run();
  loop.cancel(check);
  loop.cancel(limit);
  return done();
}

// Runs `loop` for one turn: what is already deferred on it runs, then it stops. Returns whether it
// got that far (work deferred before this call runs first, in order).
inline bool run_one_turn(net::EventLoop& loop) {
  bool stopped = false;
  loop.defer([&] {
    stopped = true;
    loop.stop();
  });
  loop.run();
  return stopped;
}

// A server on 127.0.0.1 with an ephemeral port (read it back from local_address()).
inline TransportConfig loopback_server_config() {
  TransportConfig c;
  c.side = Side::kServer;
  c.bind = "127.0.0.1";
  c.port = 0;
  return c;
}

inline TransportConfig loopback_client_config(std::string name, uint16_t port) {
  TransportConfig c;
  c.side = Side::kClient;
  c.host = "127.0.0.1";
  c.port = port;
  c.name = std::move(name);
  return c;
}

}  // namespace chat::testing
