#pragma once
// A TUN device (layer 3, no packet-info header) in the calling thread's network namespace, set up
// with ioctls so the link needs no helper programs: addresses, MTU, up. The device lives as long as
// its descriptor, so a forwarder that dies takes its devices with it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "src/net/fd.h"
#include "src/util/result.h"

namespace chat::link {

// The virtio-net header before every packet read from or written to the devices.
inline constexpr size_t kVnetHeader = 10;

struct TunAddresses {
  std::string v4_self, v4_peer;  // a point-to-point pair: the peer gets a host route
  std::string v6_self;           // /64 on the device, so the peer's address routes through it
};

// Opens /dev/net/tun and creates `name` in the current namespace (non-blocking).
Result<net::Fd> create_tun(const std::string& name);

// Gives `name` its addresses and MTU and brings it and `lo` up.
Result<void> configure_tun(const std::string& name, const TunAddresses& addresses, uint32_t mtu);

// Offload on: the kernel may hand us (and take) TCP batches up to 64 KB with checksums left to the
// receiver, for links whose spec treats every byte alike (no impairment, or delay alone). Off:
// every packet is a wire-sized, fully checksummed IP packet, as the model needs.
Result<void> set_offload(int tun, bool on);

Result<void> set_mtu(const std::string& name, uint32_t mtu);

}  // namespace chat::link
