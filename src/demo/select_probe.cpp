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

// Connects and sends JOIN without waiting for the answer: joins in flight together let the hub
// batch its work, so the probe takes a second rather than one round trip per client.
bool start_join(net::Fd& fd, uint16_t port, size_t i, std::string& error) {
  fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = fmt::format("socket: {}", net::errno_text(errno));
    return false;
  }
  timeval wait{2, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    error = fmt::format("connect: {}", net::errno_text(errno));
    return false;
  }
  const std::string name = fmt::format("probe{}", i);
  std::string join;
  wire::encode_header(wire::FrameType::kJoin, 0, 0, now_ns(), static_cast<uint32_t>(name.size()),
                      join);
  join += name;
  if (::send(fd.get(), join.data(), join.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(join.size())) {
    error = fmt::format("send: {}", net::errno_text(errno));
    return false;
  }
  return true;
}

// Reads the hub's first frame: WELCOME or REFUSE (with its reason).
enum class Answer { kWelcome, kRefuse, kNothing };

Answer read_answer(int fd, std::string& reason) {
  uint8_t header[wire::kHeaderSize];
  if (::recv(fd, header, sizeof header, MSG_WAITALL) != static_cast<ssize_t>(sizeof header))
    return Answer::kNothing;
  uint32_t length = 0;
  if (wire::peek_header({header, sizeof header}, 1 << 16, length).status != wire::DecodeStatus::kOk)
    return Answer::kNothing;
  const auto type = static_cast<wire::FrameType>(header[3]);
  if (type == wire::FrameType::kWelcome) return Answer::kWelcome;
  if (type != wire::FrameType::kRefuse) return Answer::kNothing;
  reason.assign(length, '\0');
  if (length > 0 && ::recv(fd, reason.data(), length, MSG_WAITALL) != length) reason.clear();
  return Answer::kRefuse;
}

}  // namespace

SelectProbe probe_select_limit(uint16_t port, size_t clients) {
  SelectProbe p;
  const uint64_t t0 = now_ns();
  std::vector<net::Fd> fds(clients);  // every client stays connected, holding its fd in the hub
  size_t started = 0;
  for (; started < clients; ++started)
    if (!start_join(fds[started], port, started, p.error)) break;
  for (size_t i = 0; i < started; ++i) {
    std::string reason;
    switch (read_answer(fds[i].get(), reason)) {
      case Answer::kWelcome:
        ++p.admitted;
        break;
      case Answer::kRefuse:
        if (p.refused++ == 0) p.reason = reason;
        break;
      case Answer::kNothing:
        if (p.error.empty()) p.error = fmt::format("client {} got no answer within 2 s", i);
        break;
    }
  }
  p.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  return p;
}

}  // namespace chat::demo
