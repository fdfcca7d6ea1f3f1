#pragma once
// `chat client --io lockstep`: the course's client with its two threads taken out, exactly as its
// first thinking question asks. One thread, every call blocking, in a fixed order: read a line
// from the keyboard, send it, then one recv() of up to 1,024 bytes (the lab's BUFFER_SIZE), print
// what came, and only then read the keyboard again. While it waits for the keyboard nothing is
// received; while it waits in recv nothing can be typed. It speaks plain text, as the lab did.
#include <cstdint>
#include <string>

namespace chat::iomodels {

struct LockstepOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 10000;
  size_t receive_size = 1024;
};

// Runs until end of input, `q`, or the server closing; returns the process exit code.
int run_lockstep_client(const LockstepOptions& options);

}  // namespace chat::iomodels
