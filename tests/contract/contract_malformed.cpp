// Malformed input, per wire: each joins as a real client would, then sends a frame with a bad
// version byte. Raw sockets for tcp and udp; a bare ENet host for enet.
#include <enet/enet.h>

#include "src/wire/frame_codec.h"
#include "tests/contract/contract_support.h"
#include "tests/support/raw_peer.h"

namespace chat::testing {
namespace {

std::string join_frame(uint64_t cookie = 0) {
  wire::Frame f;
  f.type = wire::FrameType::kJoin;
  f.payload = "mallory";
  f.token = cookie;
  return wire::encode_frame(f);
}

std::string bad_frame() {
  std::string bytes = join_frame();
  bytes[2] = static_cast<char>(0x7f);  // the version byte: no such version
  return bytes;
}

struct EnetRaw {
  ENetHost* host = nullptr;
  ENetPeer* peer = nullptr;
  bool disconnected = false;
  ~EnetRaw() {
    if (host) enet_host_destroy(host);
  }
  void service() {
    ENetEvent e;
    while (host && enet_host_service(host, &e, 0) > 0) {
      if (e.type == ENET_EVENT_TYPE_RECEIVE) enet_packet_destroy(e.packet);
      if (e.type == ENET_EVENT_TYPE_DISCONNECT) disconnected = true;
    }
  }
  bool connected() const { return peer && peer->state == ENET_PEER_STATE_CONNECTED; }
  void send(const std::string& bytes) {
    enet_peer_send(peer, 0,
                   enet_packet_create(bytes.data(), bytes.size(), ENET_PACKET_FLAG_RELIABLE));
    enet_host_flush(host);
  }
};

}  // namespace

MalformedPeer send_malformed(std::string_view wire, net::EventLoop& loop, uint16_t port) {
  MalformedPeer out;
  if (wire == "tcp" || wire == "udp") {
    auto raw = std::make_shared<RawPeer>(wire == "tcp" ? RawPeer::tcp(port) : RawPeer::udp(port));
    raw->send(join_frame());
    run_until(
        loop, [] { return false; }, std::chrono::milliseconds(100));
    if (wire == "udp") {
      // The hub answers a first JOIN with a CHALLENGE; echoing its cookie admits us.
      const std::string challenge =
          raw->read_bytes(wire::kHeaderSize, std::chrono::milliseconds(1));
      wire::Frame f;
      if (wire::decode_datagram(wire::as_bytes(challenge), 0, f).status == wire::DecodeStatus::kOk)
        raw->send(join_frame(f.token));
      run_until(
          loop, [] { return false; }, std::chrono::milliseconds(100));
    }
    raw->send(bad_frame());
    if (wire == "tcp") {
      auto closed = std::make_shared<bool>(false);
      out.cut_off = [raw, closed] {
        if (!*closed) *closed = raw->wait_closed(std::chrono::milliseconds(1));
        return *closed;
      };
    } else {
      out.cut_off = [] { return false; };
    }
    out.keep = raw;
    return out;
  }
  auto raw = std::make_shared<EnetRaw>();
  raw->host = enet_host_create(nullptr, 1, 1, 0, 0);
  ENetAddress to{};
  enet_address_set_host_ip(&to, "127.0.0.1");
  to.port = port;
  raw->peer = enet_host_connect(raw->host, &to, 1, 0);
  const net::TimerId pump = loop.run_every(std::chrono::milliseconds(1), [raw] { raw->service(); });
  run_until(loop, [raw] { return raw->connected(); });
  raw->send(join_frame());
  run_until(
      loop, [] { return false; }, std::chrono::milliseconds(100));
  raw->send(bad_frame());
  loop.cancel(pump);
  out.cut_off = [raw] {
    raw->service();
    return raw->disconnected;
  };
  out.keep = raw;
  return out;
}

}  // namespace chat::testing
