#include "tests/support/udp_peers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <regex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "src/util/clock.h"
#include "src/wire/bundle_codec.h"
#include "src/wire/frame_codec.h"
#include "tests/support/raw_peer.h"

namespace chat::testing {
namespace {

using Clock = std::chrono::steady_clock;
using wire::FrameType;

std::string frame_bytes(FrameType type, uint32_t seq, uint64_t token, std::string_view payload) {
  wire::Frame f;
  f.type = type;
  f.seq = seq;
  f.timestamp_ns = now_ns();
  f.token = token;
  f.payload = std::string(payload);
  return wire::encode_frame(f);
}

}  // namespace

std::optional<std::string> code_in(std::string_view line) {
  static const std::regex code_re(R"(type (\d{4}) to join)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(line.begin(), line.end(), m, code_re)) return std::nullopt;
  return m[1].str();
}

std::optional<std::string> join_as_text(RawPeer& raw, std::string_view first) {
  if (!raw.send(first)) return std::nullopt;
  auto line = raw.wait_for("to join", std::chrono::milliseconds(5000));
  if (!line) return std::nullopt;
  auto code = code_in(*line);
  if (!code || !raw.send(*code + "\n")) return std::nullopt;
  return code;
}

sockaddr_in ipv4(const std::string& address, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  return a;
}

// ---------------------------------------------------------------------------------------------
// FramedPeer

FramedPeer::FramedPeer(const std::string& host, uint16_t port)
    : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
  const sockaddr_in to = ipv4(host, port);
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) fd_.reset();
}

uint16_t FramedPeer::local_port() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

bool FramedPeer::send_bytes(std::string_view bytes) {
  return ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(bytes.size());
}

bool FramedPeer::send(FrameType type, std::string_view payload, std::optional<uint64_t> token) {
  return send_bytes(frame_bytes(type, seq_++, token.value_or(token_), payload));
}

std::optional<wire::Frame> FramedPeer::next(std::chrono::milliseconds timeout) {
  if (!queued_.empty()) {
    wire::Frame f = std::move(queued_.front());
    queued_.pop_front();
    return f;
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, left_ms(deadline)) <= 0) return std::nullopt;
    uint8_t buf[65536];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    bytes_received_ += static_cast<size_t>(n);
    // The hub packs what one loop turn sends a member into a bundle: take it apart in order.
    std::vector<std::span<const uint8_t>> inner;
    if (wire::decode_bundle({buf, static_cast<size_t>(n)}, sizeof buf, inner).status ==
        wire::DecodeStatus::kOk) {
      for (const auto& bytes : inner) {
        wire::Frame f;
        if (wire::decode_datagram(bytes, sizeof buf, f).status == wire::DecodeStatus::kOk)
          queued_.push_back(std::move(f));
      }
      if (queued_.empty()) continue;
      wire::Frame f = std::move(queued_.front());
      queued_.pop_front();
      return f;
    }
    wire::Frame f;
    if (wire::decode_datagram({buf, static_cast<size_t>(n)}, sizeof buf, f).status ==
        wire::DecodeStatus::kOk)
      return f;
  }
}

std::optional<wire::Frame> FramedPeer::wait_for(FrameType type, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto f = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!f) return std::nullopt;
    if (f->type == type) return f;
    if (f->type == FrameType::kPing) send_bytes(frame_bytes(FrameType::kPong, f->seq, token_, {}));
  }
  return std::nullopt;
}

bool FramedPeer::join(const std::string& name, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  uint64_t cookie = 0;
  while (Clock::now() < deadline) {
    send(FrameType::kJoin, name, cookie);
    auto f = next(std::chrono::milliseconds(250));
    if (!f) continue;
    if (f->type == FrameType::kChallenge) {
      cookie = f->token;
    } else if (f->type == FrameType::kWelcome) {
      token_ = f->token;
      id_ = f->sender;
      return token_ != 0;
    }
  }
  return false;
}

std::optional<std::chrono::nanoseconds> FramedPeer::ping(std::chrono::milliseconds timeout) {
  const uint32_t seq = seq_;
  const uint64_t sent = now_ns();
  if (!send(FrameType::kPing)) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto f =
        wait_for(FrameType::kPong,
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!f) return std::nullopt;
    if (f->seq == seq) return std::chrono::nanoseconds(now_ns() - sent);
  }
  return std::nullopt;
}

void FramedPeer::drain() {
  queued_.clear();
  uint8_t buf[65536];
  while (::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT) >= 0) {
  }
}

size_t FramedPeer::take_bytes_received() {
  return std::exchange(bytes_received_, 0);
}

// ---------------------------------------------------------------------------------------------
// Forged sources

bool send_forged_udp4(const sockaddr_in& from, const sockaddr_in& to, std::string_view payload,
                      std::string* why) {
  // IPPROTO_RAW: we write the IP header ourselves; the kernel fills its checksum and length.
  net::Fd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!s.valid()) {
    if (why) *why = std::string("raw socket: ") + std::strerror(errno);
    return false;
  }
  std::string packet(sizeof(iphdr) + sizeof(udphdr) + payload.size(), '\0');
  auto* ip = reinterpret_cast<iphdr*>(packet.data());
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons(static_cast<uint16_t>(packet.size()));
  ip->saddr = from.sin_addr.s_addr;
  ip->daddr = to.sin_addr.s_addr;
  auto* udp = reinterpret_cast<udphdr*>(packet.data() + sizeof(iphdr));
  udp->source = from.sin_port;
  udp->dest = to.sin_port;
  udp->len = htons(static_cast<uint16_t>(sizeof(udphdr) + payload.size()));
  udp->check = 0;  // none: allowed for UDP over IPv4
  std::memcpy(packet.data() + sizeof(iphdr) + sizeof(udphdr), payload.data(), payload.size());
  if (::sendto(s.get(), packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof to) != static_cast<ssize_t>(packet.size())) {
    if (why) *why = std::string("raw send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The namespace

std::optional<SpoofNamespace> SpoofNamespace::enter(std::string& why) {
  net::Fd original(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) {
    why = std::string("cannot open /proc/self/ns/net: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    why = std::string("cannot make a network namespace (needs root or CAP_SYS_ADMIN): ") +
          std::strerror(errno);
    return std::nullopt;
  }
  SpoofNamespace ns(std::move(original));
  net::Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0 ||
      (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0)) {
    why = std::string("cannot bring lo up: ") + std::strerror(errno);
    return std::nullopt;
  }
  // An address with a prefix on the loopback device makes the whole prefix local (the kernel
  // adds a "local" route for it), so any of its addresses may be a source.
  ifreq alias{};
  std::strncpy(alias.ifr_name, "lo:spoof", IFNAMSIZ - 1);
  auto* sin = reinterpret_cast<sockaddr_in*>(&alias.ifr_addr);
  *sin = ipv4("198.18.0.1", 0);
  if (::ioctl(sock.get(), SIOCSIFADDR, &alias) != 0) {
    why = std::string("cannot add 198.18.0.1 to lo: ") + std::strerror(errno);
    return std::nullopt;
  }
  *sin = ipv4("255.254.0.0", 0);
  if (::ioctl(sock.get(), SIOCSIFNETMASK, &alias) != 0) {
    why = std::string("cannot set the /15 netmask: ") + std::strerror(errno);
    return std::nullopt;
  }
  return ns;
}

SpoofNamespace::~SpoofNamespace() {
  if (original_.valid()) (void)::setns(original_.get(), CLONE_NEWNET);
}

// ---------------------------------------------------------------------------------------------
// The flood

FloodResult spoofed_flood(uint16_t port, size_t sources, double rate, uint64_t limit,
                          const std::atomic<bool>& stop, std::string_view kinds) {
  FloodResult out;
  net::Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(s.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  int big = 8 << 20;
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  const sockaddr_in any = ipv4("0.0.0.0", 0);
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
    out.error = std::string("bind: ") + std::strerror(errno);
    return out;
  }
  const sockaddr_in hub = ipv4("127.0.0.1", port);
  // 198.18.1.0 onwards: 198.18.0.x is left for anything else in the namespace.
  auto source = [](size_t i) {
    in_addr a{};
    a.s_addr = htonl((198u << 24) | (18u << 16) | static_cast<uint32_t>(256 + i));
    return a;
  };
  const std::string join = frame_bytes(FrameType::kJoin, 0, 0, "mallory");
  const std::string data = frame_bytes(FrameType::kData, 1, 0x5eed5eed5eed5eedULL, "spoofed");
  std::vector<std::string> payloads;
  for (char k : kinds) {
    if (k == 't') payloads.push_back("x");
    if (k == 'h') payloads.push_back("hello\n");
    if (k == 'j') payloads.push_back(join);
    if (k == 'd') payloads.push_back(data);
  }
  if (payloads.empty()) {
    out.error = "no datagram kinds to send";
    return out;
  }
  std::vector<uint64_t> sent_to(sources, 0), back_to(sources, 0);
  std::unordered_map<uint32_t, size_t> index;
  for (size_t i = 0; i < sources; ++i) index[source(i).s_addr] = i;

  auto drain = [&] {
    for (;;) {
      char buf[2048];
      char control[CMSG_SPACE(sizeof(in_pktinfo))];
      iovec iov{buf, sizeof buf};
      msghdr h{};
      h.msg_iov = &iov;
      h.msg_iovlen = 1;
      h.msg_control = control;
      h.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(s.get(), &h, MSG_DONTWAIT);
      if (n < 0) return;
      out.answered_bytes += static_cast<uint64_t>(n);
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_PKTINFO) continue;
        in_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        auto it = index.find(info.ipi_addr.s_addr);
        if (it != index.end()) back_to[it->second] += static_cast<uint64_t>(n);
      }
    }
  };

  const auto start = Clock::now();
  constexpr size_t kBatch = 64;
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<iovec> iovs(kBatch);
  std::vector<std::array<char, CMSG_SPACE(sizeof(in_pktinfo))>> controls(kBatch);
  uint64_t n = 0;
  while (!stop.load() && n < limit) {
    // Paced: datagram n leaves no earlier than n / rate seconds after the start.
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(n) / rate));
    if (due > Clock::now()) {
      drain();
      std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::milliseconds(5)));
      continue;
    }
    const size_t count = static_cast<size_t>(std::min<uint64_t>(kBatch, limit - n));
    for (size_t k = 0; k < count; ++k) {
      const uint64_t at = n + k;
      const size_t src = static_cast<size_t>(at % sources);
      const std::string& p = payloads[(at / sources) % payloads.size()];
      iovs[k] = {const_cast<char*>(p.data()), p.size()};
      msghdr& h = msgs[k].msg_hdr;
      h = msghdr{};
      h.msg_name = const_cast<sockaddr_in*>(&hub);
      h.msg_namelen = sizeof hub;
      h.msg_iov = &iovs[k];
      h.msg_iovlen = 1;
      h.msg_control = controls[k].data();
      h.msg_controllen = controls[k].size();
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      info.ipi_spec_dst = source(src);  // the source address this datagram claims
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
    const int done = ::sendmmsg(s.get(), msgs.data(), static_cast<unsigned>(count), 0);
    if (done < 0) {
      if (errno == EAGAIN || errno == ENOBUFS) continue;
      out.error = std::string("sendmmsg: ") + std::strerror(errno);
      break;
    }
    for (int k = 0; k < done; ++k) {
      sent_to[static_cast<size_t>((n + static_cast<uint64_t>(k)) % sources)] += iovs[k].iov_len;
      out.sent_bytes += iovs[k].iov_len;
    }
    n += static_cast<uint64_t>(done);
    out.sent_datagrams += static_cast<uint64_t>(done);
    drain();
  }
  // What the hub still had on its way back.
  const auto tail = Clock::now() + std::chrono::milliseconds(300);
  while (Clock::now() < tail) {
    drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (size_t i = 0; i < sources; ++i) {
    if (back_to[i] == 0) continue;
    ++out.sources_answered;
    if (sent_to[i] > 0)
      out.worst_factor = std::max(
          out.worst_factor, static_cast<double>(back_to[i]) / static_cast<double>(sent_to[i]));
  }
  return out;
}

}  // namespace chat::testing
