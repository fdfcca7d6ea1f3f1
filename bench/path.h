#pragma once
// The path a scenario's traffic takes, recorded with every result: loopback (the default), an
// emulated link (--impair: a private link whose server side runs the servers and whose client side
// this process moves into), or a remote host (--target HOST:PORT, nothing started here).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/results.h"
#include "src/impair/spec.h"
#include "src/link/link.h"
#include "src/net/fd.h"

namespace chat::bench {

class BenchPath {
 public:
  // Loopback: servers bind and clients connect to 127.0.0.1.
  BenchPath() = default;
  // Starts a private link and moves this (single-threaded) process to its client side; the link
  // and its namespaces go when the path is destroyed (or the process dies).
  static Result<std::shared_ptr<BenchPath>> emulated(const impair::Spec& up,
                                                     const impair::Spec& down);
  static std::shared_ptr<BenchPath> remote(const std::string& host);
  ~BenchPath();
  BenchPath(const BenchPath&) = delete;
  BenchPath& operator=(const BenchPath&) = delete;

  const std::string& kind() const { return kind_; }
  bool is_emulated() const { return link_.has_value(); }
  // Where servers bind and clients connect.
  const std::string& server_host() const { return host_; }
  // argv run on the server side (unchanged off the emulated link).
  std::vector<std::string> server_argv(std::vector<std::string> argv) const;

  // The link's round trip of delay and jitter (zero off the link), for timeouts that must not
  // mistake a slow answer for a lost one.
  std::chrono::nanoseconds round_trip_delay() const;

  // Changes the link's impairment between points (emulated only).
  Result<void> set(const impair::Spec& up, const impair::Spec& down);
  // {"kind": …, and for a link its spec and seeds per direction (read from `counters`, the
  // forwarder's status), or the remote host}.
  Json describe(const Json& counters) const;
  // The link's counters now, per direction (empty off the link); subtract two for one point.
  Json counters() const;
  static Json counter_delta(const Json& before, const Json& after);

 private:
  std::string kind_ = "loopback";
  std::string host_ = "127.0.0.1";
  std::optional<link::Link> link_;
  net::Fd home_netns_;  // where this process was before it moved to the client side
  impair::Spec up_, down_;
};

// The path for a command's flags: --impair* (an emulated link), --target on another host (remote),
// or loopback. Parse errors name the field; nothing is started when they fail.
struct ImpairFlags;
Result<std::shared_ptr<BenchPath>> make_path(const ImpairFlags& flags,
                                             const std::string& target = {});

}  // namespace chat::bench
