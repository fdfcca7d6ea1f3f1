#include "src/demo/select_probe.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <vector>

#include <fmt/format.h>

#include "src/net/fd.h"
#include "src/net/socket.h"
#include "src/util/clock.h"
#include "src/wire/frame_codec.h"

namespace chat::demo {
namespace {

// Connects, sends JOIN, and reads the first frame back: WELCOME or REFUSE (with its reason).
enum class Answer { kWelcome, kRefuse, kNothing };

Answer join_one(net::Fd& fd, uint16_t port, size_t i, std::string& reason) {
  fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    reason = fmt::format("socket: {}", net::errno_text(errno));
    return Answer::kNothing;
  }
  timeval wait{2, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    reason = fmt::format("connect: {}", net::errno_text(errno));
    return Answer::kNothing;
  }
  const std::string name = fmt::format("probe{}", i);
  std::string join;
  wire::encode_header(wire::FrameType::kJoin, 0, 0, now_ns(), static_cast<uint32_t>(name.size()),
                      join);
  join += name;
  if (::send(fd.get(), join.data(), join.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(join.size()))
    return Answer::kNothing;
  uint8_t header[wire::kHeaderSize];
  if (::recv(fd.get(), header, sizeof header, MSG_WAITALL) != static_cast<ssize_t>(sizeof header))
    return Answer::kNothing;
  uint32_t length = 0;
  if (wire::peek_header({header, sizeof header}, 1 << 16, length).status != wire::DecodeStatus::kOk)
    return Answer::kNothing;
  const auto type = static_cast<wire::FrameType>(header[3]);
  if (type == wire::FrameType::kWelcome) return Answer::kWelcome;
  if (type != wire::FrameType::kRefuse) return Answer::kNothing;
  reason.assign(length, '\0');
  if (length > 0 && ::recv(fd.get(), reason.data(), length, MSG_WAITALL) != length) reason.clear();
  return Answer::kRefuse;
}

}  // namespace

SelectProbe probe_select_limit(uint16_t port, size_t max_clients, size_t stop_after_refusals) {
  SelectProbe p;
  const uint64_t t0 = now_ns();
  std::vector<net::Fd> kept;  // admitted clients stay connected, holding their fd in the hub
  kept.reserve(max_clients);
  for (size_t i = 0; i < max_clients && p.refused < stop_after_refusals; ++i) {
    net::Fd fd;
    std::string reason;
    switch (join_one(fd, port, i, reason)) {
      case Answer::kWelcome:
        ++p.admitted;
        kept.push_back(std::move(fd));
        break;
      case Answer::kRefuse:
        if (p.refused++ == 0) p.reason = reason;
        break;
      case Answer::kNothing:
        p.error = reason.empty() ? fmt::format("client {} got no answer within 2 s", i) : reason;
        p.seconds = static_cast<double>(now_ns() - t0) / 1e9;
        return p;
    }
    if (now_ns() - t0 > 20'000'000'000ull) {
      p.error = "stopped after 20 s";
      break;
    }
  }
  p.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  return p;
}

}  // namespace chat::demo
