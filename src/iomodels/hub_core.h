#pragma once
// The hub's rules over bytes, with no I/O in it: the three teaching servers (one thread per
// client, select(2), poll(2)) each feed it what they read and write out what it queues, so the
// only thing that differs between their files is how they wait for sockets. It speaks the same
// wire as the epoll hub: framed clients (JOIN → WELCOME, DATA, PING → PONG, LEAVE) and plain-text
// peers (lines) in one room, relayed to everyone but the sender, joins and leaves announced.
//
// Not thread-safe: the thread-per-client server holds a lock around every call.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "src/wire/frame.h"
#include "src/wire/message.h"
#include "src/wire/text_codec.h"

namespace chat::iomodels {

struct HubCoreLimits {
  size_t max_payload = wire::kDefaultTcpMaxPayload;
  // A client whose unsent output passes this is dropped rather than let the hub's memory grow.
  size_t high_water_bytes = 4 * 1024 * 1024;
};

class HubCore {
 public:
  explicit HubCore(HubCoreLimits limits = {}) : limits_(limits) {}

  // A connection was accepted; it joins the room once it speaks (JOIN, or a first line of text).
  void add(int id, std::string address);
  // A connection silent since it was accepted (telnet, an idle nc waits to be spoken to) is a
  // plain-text peer; the servers call this once kSniffTimeout has passed. No-op if it spoke.
  void admit_silent(int id);
  static constexpr int kSniffTimeoutMs = 300;
  // Bytes read from `id`. False: the client must be closed once its queued output is written.
  bool feed(int id, std::string_view bytes);
  // The connection is gone; the room hears so if it was a member.
  void remove(int id, std::string_view why);

  // Bytes waiting to be written to `id` (the I/O model erases what it wrote).
  std::string* output(int id);
  // Clients that got output since the last call, and clients to close (overflowed or said `q`).
  std::vector<int> take_dirty();
  std::vector<int> take_closing();

  size_t members() const { return members_; }
  size_t connections() const { return clients_.size(); }

  // What a client hears when the server cannot take it: a REFUSE frame for a framed client, an
  // "error: ..." line for a text peer.
  static std::string refusal(bool framed, std::string_view reason);

 private:
  struct Client {
    std::string address;
    std::string name;
    bool member = false;
    bool sniffed = false;  // the first byte told framed from text
    bool framed = false;
    bool closing = false;
    uint32_t next_seq = 0;
    std::string input;  // unparsed framed bytes
    wire::LineSplitter lines{wire::kDefaultTcpMaxPayload};
    std::string output;
  };

  bool handle_frames(int id, Client& c);
  bool handle_text(int id, Client& c, std::string_view bytes);
  bool handle_message(int id, Client& c, Message&& m);
  void join(int id, Client& c, std::string wanted);
  void send(int id, const Message& m);
  void send_frame(int id, wire::FrameType type, uint32_t sender, uint32_t seq, uint64_t ns,
                  std::string_view payload);
  void broadcast(const Message& m, int except);
  void close_later(int id);
  std::string unique_name(std::string wanted) const;

  HubCoreLimits limits_;
  std::map<int, Client> clients_;
  size_t members_ = 0;
  std::vector<int> dirty_;
  std::vector<int> closing_;
};

}  // namespace chat::iomodels
