#pragma once
// An emulated link: two network namespaces, the client side and the server side, joined through a
// TUN device in each by a forwarder process that applies an impairment spec per direction.
//
//   client ns  198.18.0.1 / 2001:2::1  [chat0] ⇄ forwarder (up: client → server, down: back) ⇄
//   [chat0]  198.18.0.2 / 2001:2::2  server ns
//
// The namespaces are anonymous: only the forwarder holds them (and whatever runs inside), so when
// it dies they go too, and with them the TUN devices. A small state directory (the forwarder's pid,
// its start time, which of its descriptors are the namespaces, and its control socket) lets other
// processes find a link by name: `chat link exec`, the bench's servers. A state directory whose
// forwarder is gone is stale and is removed by the next `up`.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "src/impair/spec.h"
#include "src/util/result.h"

namespace chat::link {

inline constexpr const char* kClientV4 = "198.18.0.1";
inline constexpr const char* kServerV4 = "198.18.0.2";
inline constexpr const char* kClientV6 = "2001:2::1";
inline constexpr const char* kServerV6 = "2001:2::2";
inline constexpr const char* kDevice = "chat0";

enum class Side { kClient, kServer };

struct LinkOptions {
  std::string name = "chat";
  impair::Spec up, down;
  // true: the forwarder outlives this process (`chat link up`); false: it dies with it (the bench).
  bool detach = false;
};

// Where link state lives: /run/chat-link as root, else $XDG_RUNTIME_DIR (or /tmp)/chat-link-UID.
std::filesystem::path state_root();

// Removes the state of links whose forwarder is gone; returns their names.
std::vector<std::string> clean_stale_links();

class Link {
 public:
  // Makes the namespaces, devices and forwarder; returns once packets can flow.
  static Result<Link> start(const LinkOptions& options);
  // Finds a running link by name.
  static Result<Link> attach(const std::string& name);

  Link(Link&& other) noexcept;
  Link& operator=(Link&& other) noexcept;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  // A link this process started without `detach` is taken down with it.
  ~Link();

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }

  // Control requests to the forwarder.
  Result<std::string> status_json() const;
  Result<void> set(const impair::Spec& up, const impair::Spec& down) const;
  // Stops the forwarder and waits (bounded) for it to go; removes the state.
  Result<void> down();

  // Moves the calling thread (the whole process, when single-threaded) into one side.
  Result<void> enter(Side side) const;
  // `chat link exec --name NAME server -- ARGV…`: the prefix that runs ARGV on one side.
  std::vector<std::string> exec_prefix(Side side, const std::string& self) const;

 private:
  Link() = default;
  Result<std::string> request(const std::string& text) const;

  std::string name_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int client_fd_ = -1, server_fd_ = -1;  // descriptor numbers inside the forwarder
  bool owned_ = false;                   // started by this process, not detached
};

// Runs argv on one side of the named link (setns, then execvp); returns only on failure.
Result<void> exec_in_link(const std::string& name, Side side, const std::vector<std::string>& argv);

}  // namespace chat::link
