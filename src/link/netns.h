#pragma once
// Network namespaces for the emulated link: made anonymous (unshare) so they vanish with the last
// process or descriptor that holds them — a crashed run leaves no namespace behind — and entered
// through a descriptor (setns) by whoever holds one.
#include <string>

#include "src/net/fd.h"
#include "src/util/result.h"

namespace chat::link {

// True when this process may make namespaces and TUN devices as it is: root, or CAP_NET_ADMIN and
// CAP_SYS_ADMIN in its effective set.
bool have_net_admin();

// Moves this (single-threaded) process into a new user namespace in which it is root, so it can
// make network namespaces without privilege. Fails where unprivileged user namespaces are off.
Result<void> become_root_in_user_namespace();

// Moves the calling thread into a new, empty network namespace and returns a descriptor of it.
Result<net::Fd> unshare_netns();

// Moves the calling thread into the namespace `fd` refers to (CLONE_NEWNET or CLONE_NEWUSER).
Result<void> enter_namespace(int fd, int nstype, const std::string& what);

// Writes a sysctl of the calling thread's network namespace (path under /proc/sys/).
Result<void> write_sysctl(const std::string& path, const std::string& value);

}  // namespace chat::link
