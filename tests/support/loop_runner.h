#pragma once
// Drives an EventLoop in a test until a condition holds, never longer than a deadline.
#include <chrono>
#include <functional>

#include "src/net/event_loop.h"

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

}  // namespace chat::testing
