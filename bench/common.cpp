#include "bench/common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "bench/path.h"
#include "bench/placement.h"
#include "bench/results.h"
#include "src/net/fd.h"

namespace chat::bench {

void Progress::show(std::string_view text) {
  if (!enabled_) return;
  std::string line(text.substr(0, 100));
  const size_t width = line.size();
  if (width < last_width_) line.append(last_width_ - width, ' ');
  std::fprintf(stderr, "\r%s", line.c_str());
  std::fflush(stderr);
  last_width_ = width;
}

void Progress::clear() {
  if (!enabled_ || last_width_ == 0) return;
  std::fprintf(stderr, "\r%s\r", std::string(last_width_, ' ').c_str());
  std::fflush(stderr);
  last_width_ = 0;
}

Result<ListeningChild> start_listening(std::vector<std::string> argv, std::filesystem::path log,
                                       std::string_view needle, std::chrono::milliseconds timeout) {
  const std::string what = argv.empty() ? "?" : argv[0];
  auto child = Subprocess::spawn(std::move(argv), log, log);
  if (!child) return child.error();
  ListeningChild out;
  out.process = std::move(*child);
  out.log = log;
  auto line = wait_for_line_in_file(log, needle, timeout, &out.process);
  if (!line) {
    out.process.stop(std::chrono::milliseconds(500));
    auto text = read_file(log);
    if (text.size() > 600) text = text.substr(text.size() - 600);
    return make_error(
        fmt::format("{} did not start listening within {} ms: {}", what, timeout.count(), text));
  }
  const auto colon = line->rfind(':');
  unsigned port = 0;
  if (colon != std::string::npos) {
    const char* b = line->data() + colon + 1;
    std::from_chars(b, line->data() + line->size(), port);
  }
  if (port == 0 || port > 65535)
    return make_error(fmt::format("{}: cannot read a port from '{}'", what, *line));
  out.port = static_cast<uint16_t>(port);
  return out;
}

Result<ListeningChild> start_chat_server(const ScratchDir& dir, const std::string& mode,
                                         const std::string& transport,
                                         std::vector<std::string> extra, int cpu,
                                         const BenchPath* path, int realtime) {
  const std::string host = path ? path->server_host() : "127.0.0.1";
  std::vector<std::string> argv = {self_executable(), "server",  "--mode", mode,
                                   "--transport",     transport, "--bind", host,
                                   "--port",          "0",       "-q"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto log = dir / fmt::format("server-{}-{}-{}.log", mode, transport,
                                     std::chrono::steady_clock::now().time_since_epoch().count());
  argv = pinned(std::move(argv), cpu, realtime);
  if (path) argv = path->server_argv(std::move(argv));
  return start_listening(std::move(argv), log);
}

PathProbe::PathProbe(const BenchPath* path)
    : path_(path), before_(path ? path->counters() : Json::object()) {}

void PathProbe::stamp(RunRecord& record) const {
  if (!path_) {
    record.params["path"] = Json{{"kind", "loopback"}};
    return;
  }
  // One status request serves both: the spec and seeds, and the counters after the point.
  const Json after = path_->counters();
  record.params["path"] = path_->describe(after);
  if (path_->is_emulated()) record.metrics["link"] = BenchPath::counter_delta(before_, after);
}

uint16_t free_loopback_port(bool udp) {
  net::Fd fd(::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

bool wait_for_tcp_port(uint16_t port, std::chrono::milliseconds timeout, Subprocess* child) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    net::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (child && !child->running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

uint64_t raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

Result<HostPort> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size())
    return make_error(fmt::format("'{}' is not HOST:PORT", text));
  HostPort hp;
  hp.host = std::string(text.substr(0, colon));
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  unsigned port = 0;
  const auto ps = text.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port == 0 || port > 65535)
    return make_error(fmt::format("'{}' has no valid port", text));
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  const std::string h(host);
  return ::inet_pton(AF_INET, h.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::string make_text_payload(uint32_t sender, uint32_t seq, uint64_t ns, size_t size) {
  std::string s = fmt::format("~F{:08x}{:08x}{:016x}", sender, seq, ns);
  if (s.size() < size) s.append(size - s.size(), '.');
  return s;
}

std::optional<TextPayload> parse_text_payload(std::string_view line) {
  const auto at = line.find("~F");
  if (at == std::string_view::npos || line.size() - at < kTextHeader) return std::nullopt;
  auto hex = [&](size_t off, size_t len, auto& out) {
    const char* b = line.data() + at + off;
    auto [p, ec] = std::from_chars(b, b + len, out, 16);
    return ec == std::errc() && p == b + len;
  };
  TextPayload t;
  if (!hex(2, 8, t.sender) || !hex(10, 8, t.seq) || !hex(18, 16, t.ns)) return std::nullopt;
  return t;
}

std::vector<size_t> parse_size_list(const std::string& text) {
  std::vector<size_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec == std::errc() && v > 0) out.push_back(v);
  }
  return out;
}

std::vector<std::string> all_wires() {
  std::vector<std::string> out;
  for (auto name : transport_names()) out.emplace_back(name);
  return out;
}

std::string unreliable_wire() {
  for (auto name : transport_names()) {
    auto caps = transport_caps(name, TransportConfig{});
    if (caps && !caps->reliable) return std::string(name);
  }
  return std::string(default_transport());
}

std::string text_stream_wire() {
  for (auto name : transport_names()) {
    auto caps = transport_caps(name, TransportConfig{});
    if (caps && caps->text_peers && caps->reliable && caps->ordered) return std::string(name);
  }
  return std::string(default_transport());
}

size_t wire_max_message(const std::string& transport, size_t max_payload) {
  TransportConfig config;
  config.max_payload = max_payload;
  auto caps = transport_caps(transport, config);
  return caps ? caps->max_message : 0;
}

}  // namespace chat::bench
