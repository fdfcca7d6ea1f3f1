#pragma once
// The link's forwarder process, as `Link::start` forks it: it makes both sides (a namespace and a
// TUN device each), writes the state file others find the link by, reports on a pipe, and then
// forwards until told to stop. Split from link.cpp, which keeps the handle other processes use.
#include <sys/types.h>

#include <filesystem>
#include <string>

#include "src/link/link.h"

namespace chat::link {

// /proc/PID/stat's start time, so a reused pid is not mistaken for a link's forwarder.
std::string process_start_time(pid_t pid);

// Builds the link and forwards; writes "ok" or "error: WHY" to `ready` first. Never returns.
[[noreturn]] void forwarder_main(const LinkOptions& options, const std::filesystem::path& dir,
                                 int ready);

}  // namespace chat::link
