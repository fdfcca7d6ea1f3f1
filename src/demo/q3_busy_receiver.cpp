// Q3, loss that loopback can show without an emulator: the receiver is busy for a moment (as a
// program is while it does something else) and a burst arrives meanwhile. UDP's receive buffer
// holds what it can and the kernel drops the rest; TCP's flow control makes the sender wait, so
// everything arrives, later.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "src/demo/q3_probes.h"
#include "src/net/fd.h"
#include "src/util/clock.h"

namespace chat::demo {
namespace {

constexpr size_t kMessage = 1000;
constexpr auto kBusy = std::chrono::milliseconds(100);

// What the receiver counted from the sequence numbers and send times in each message.
struct Tally {
  uint64_t received = 0, duplicates = 0, reordered = 0;
  uint64_t max_delay_ns = 0, last_arrival_ns = 0;
  std::vector<bool> seen;
  int64_t highest = -1;

  void count(const char* msg) {
    uint64_t seq = 0, sent = 0;
    std::memcpy(&seq, msg, 8);
    std::memcpy(&sent, msg + 8, 8);
    const uint64_t now = now_ns();
    if (seq >= seen.size()) return;
    if (seen[seq]) {
      ++duplicates;
      return;
    }
    seen[seq] = true;
    ++received;
    if (static_cast<int64_t>(seq) < highest) ++reordered;
    highest = std::max<int64_t>(highest, static_cast<int64_t>(seq));
    max_delay_ns = std::max(max_delay_ns, now - sent);
    last_arrival_ns = now;
  }
  Json json(uint64_t sent, uint64_t first_send_ns) const {
    return Json{
        {"sent", sent},
        {"received", received},
        {"lost", sent - received},
        {"duplicates", duplicates},
        {"reordered", reordered},
        {"max_delay_ms", static_cast<double>(max_delay_ns) / 1e6},
        {"all_delivered_after_ms",
         received == sent ? static_cast<double>(last_arrival_ns - first_send_ns) / 1e6 : -1.0}};
  }
};

void stamp(char* msg, uint64_t seq) {
  const uint64_t t = now_ns();
  std::memcpy(msg, &seq, 8);
  std::memcpy(msg + 8, &t, 8);
}

Json udp_burst(uint64_t count) {
  net::Fd rx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  ::bind(rx.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(rx.get(), reinterpret_cast<sockaddr*>(&a), &len);
  // Reads end after 300 ms with nothing: every datagram that survived has long arrived by then.
  timeval quiet{0, 300'000};
  ::setsockopt(rx.get(), SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof quiet);
  int granted = 0;
  len = sizeof granted;
  ::getsockopt(rx.get(), SOL_SOCKET, SO_RCVBUF, &granted, &len);
  net::Fd tx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ::connect(tx.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);

  Tally tally;
  tally.seen.assign(count, false);
  std::thread receiver([&] {
    std::this_thread::sleep_for(kBusy);
    char msg[kMessage];
    while (::recv(rx.get(), msg, sizeof msg, 0) == static_cast<ssize_t>(kMessage)) tally.count(msg);
  });
  const uint64_t t0 = now_ns();
  char msg[kMessage] = {};
  uint64_t send_errors = 0;
  for (uint64_t seq = 0; seq < count; ++seq) {
    stamp(msg, seq);
    if (::send(tx.get(), msg, sizeof msg, 0) != static_cast<ssize_t>(kMessage)) ++send_errors;
  }
  const double send_ms = static_cast<double>(now_ns() - t0) / 1e6;
  receiver.join();
  Json j = tally.json(count, t0);
  j["sender_ms"] = send_ms;
  j["send_errors"] = send_errors;
  j["receive_buffer_bytes"] = granted;
  return j;
}

Json tcp_burst(uint64_t count) {
  net::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  ::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(listener.get(), 1);
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len);
  net::Fd tx(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(tx.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return Json{{"error", "connect failed"}};
  net::Fd rx(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  timeval bound{5, 0};
  ::setsockopt(rx.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  ::setsockopt(tx.get(), SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);

  Tally tally;
  tally.seen.assign(count, false);
  std::thread receiver([&] {
    std::this_thread::sleep_for(kBusy);
    char msg[kMessage];
    // Fixed-size records: the reader supplies the boundaries TCP does not keep.
    for (uint64_t i = 0; i < count; ++i) {
      if (::recv(rx.get(), msg, sizeof msg, MSG_WAITALL) != static_cast<ssize_t>(kMessage)) break;
      tally.count(msg);
    }
  });
  const uint64_t t0 = now_ns();
  char msg[kMessage] = {};
  for (uint64_t seq = 0; seq < count; ++seq) {
    stamp(msg, seq);
    if (::send(tx.get(), msg, sizeof msg, MSG_NOSIGNAL) != static_cast<ssize_t>(kMessage)) break;
  }
  const double send_ms = static_cast<double>(now_ns() - t0) / 1e6;
  receiver.join();
  Json j = tally.json(count, t0);
  j["sender_ms"] = send_ms;
  return j;
}

}  // namespace

Json measure_busy_receiver(bool quick) {
  const uint64_t count = quick ? 2000 : 5000;
  return Json{{"messages", count},
              {"message_bytes", kMessage},
              {"busy_ms", kBusy.count()},
              {"udp", udp_burst(count)},
              {"tcp", tcp_burst(count)}};
}

}  // namespace chat::demo
