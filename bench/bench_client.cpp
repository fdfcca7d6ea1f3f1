#include "bench/bench_client.h"

#include <fmt/format.h>

namespace chat::bench {

BenchClient::BenchClient(net::EventLoop& loop, LinkOptions options)
    : loop_(loop), options_(std::move(options)) {}

BenchClient::~BenchClient() = default;

Result<void> BenchClient::start() {
  TransportConfig config;
  config.side = Side::kClient;
  config.host = options_.host;
  config.port = options_.port;
  config.name = options_.name;
  config.socket_buffer = options_.socket_buffer;
  config.high_water_bytes = options_.high_water_bytes;
  // The bench watches its own queue and never wants the link cut for being fast.
  config.overflow = OverflowPolicy::kDrop;
  config.max_payload = options_.max_payload;
  auto made = make_transport(options_.transport, loop_, config);
  if (!made) return made.error();
  transport_ = std::move(*made);
  TransportCallbacks cb;
  cb.on_peer_up = [this](const PeerInfo& info) {
    server_ = info.id;
    up_ = true;
    if (on_up) on_up();
  };
  cb.on_message = [this](PeerId, Message&& m) {
    if (on_message) on_message(std::move(m));
  };
  cb.on_peer_down = [this](PeerId, DownReason reason, const std::string& why) {
    down_ = true;
    up_ = false;
    down_why_ = fmt::format("{}{}{}", down_reason_name(reason), why.empty() ? "" : ": ", why);
    if (on_down) on_down(down_why_);
  };
  cb.on_writable = [this](PeerId) {
    if (on_writable) on_writable();
  };
  return transport_->start(std::move(cb));
}

Result<void> BenchClient::connect(std::chrono::milliseconds timeout) {
  if (auto r = start(); !r) return r;
  const auto timer = loop_.run_after(timeout, [&] { loop_.stop(); });
  auto saved_up = on_up;
  auto saved_down = on_down;
  on_up = [&] { loop_.stop(); };
  on_down = [&](const std::string&) { loop_.stop(); };
  if (!up_ && !down_) loop_.run();
  loop_.cancel(timer);
  on_up = saved_up;
  on_down = saved_down;
  if (up_) return {};
  if (down_)
    return make_error(fmt::format("{} link to {}:{} went down: {}", options_.transport,
                                  options_.host, options_.port, down_why_));
  return make_error(fmt::format("{} link to {}:{}: not admitted within {} ms", options_.transport,
                                options_.host, options_.port, timeout.count()));
}

void BenchClient::close(std::chrono::milliseconds linger) {
  if (!transport_) return;
  on_message = nullptr;
  bool done = false;
  const auto timer = loop_.run_after(linger + std::chrono::milliseconds(50), [&] { loop_.stop(); });
  transport_->shutdown(linger, [&] {
    done = true;
    loop_.stop();
  });
  if (!done) loop_.run();
  loop_.cancel(timer);
}

}  // namespace chat::bench
