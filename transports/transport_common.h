#pragma once
// Pieces every wire needs the same way: what a refused joiner is told, the sender id a side puts
// in its frames, and the guard that keeps deferred work from running on a destroyed transport.
// Header-only so each wire's library uses it without depending on the factory's.
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "src/net/event_loop.h"
#include "transports/transport.h"

namespace chat::seam {

// The words a joiner gets when the server is full: the role's, or a plain count.
inline std::string full_reason(const TransportConfig& config) {
  if (!config.full_reason.empty()) return config.full_reason;
  return fmt::format("server full: {} members max", config.max_peers);
}

// The same refusal as one line for a plain-text peer, marked as an error as the hub marks them.
inline std::string full_line(const TransportConfig& config) {
  return fmt::format("error: {}\n", full_reason(config));
}

// The server's frames say 0; a client's carry the member id its WELCOME gave it.
inline uint32_t own_sender(Side side, uint32_t member_id) {
  return side == Side::kServer ? 0 : member_id;
}

// Work deferred on the loop holds a weak reference and does nothing once its owner is gone.
class AliveGuard {
 public:
  template <class Fn>
  void defer(net::EventLoop& loop, Fn fn) const {
    loop.defer([weak = std::weak_ptr<bool>(alive_), fn = std::move(fn)]() mutable {
      if (weak.lock()) fn();
    });
  }
  template <class Fn>
  net::TimerId defer_after(net::EventLoop& loop, std::chrono::milliseconds delay, Fn fn) const {
    return loop.run_after(delay,
                          [weak = std::weak_ptr<bool>(alive_), fn = std::move(fn)]() mutable {
                            if (weak.lock()) fn();
                          });
  }

 private:
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chat::seam
