// The hub as the course's Python server was built: one thread per client, every call blocking.
// Each thread sleeps in recv() on its own socket, so "receive while someone else sends" comes
// from the kernel scheduling many threads, and the room shared between them needs a lock. The
// costs are the threads themselves (a stack each, a context switch per message) and the blocking
// send: a client that stops reading blocks the thread of whoever speaks to it.
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "src/iomodels/hub_core.h"
#include "src/iomodels/hub_models.h"
#include "src/net/socket.h"

namespace chat::iomodels {
namespace {

struct Conn {
  net::Fd fd;
  std::mutex write_mutex;  // one writer at a time, so frames from two threads never interleave
};

class ThreadsHub {
 public:
  ThreadsHub(const HubModelOptions& o, net::Fd listener)
      : core_({o.max_payload, o.high_water_bytes}), listener_(std::move(listener)) {}

  // Accepts until stop() shuts the listener down.
  void accept_loop() {
    for (;;) {
      net::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd.valid()) {
        if (stopping_) return;
        if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(kPauseWhenOutOfFds);
        continue;
      }
      net::set_nodelay(fd.get());
      auto conn = std::make_shared<Conn>();
      const int id = fd.get();
      conn->fd = std::move(fd);
      {
        std::lock_guard lock(room_);
        core_.add(id, net::peer_address(id).to_string());
        conns_[id] = conn;
        ++live_;
      }
      std::thread([this, id, conn] { serve(id, conn); }).detach();
    }
  }

  // Unblocks every thread (a shut-down socket fails its recv and send) and waits for them; false
  // if some thread is still stuck after the wait.
  bool stop() {
    stopping_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    std::unique_lock lock(room_);
    for (auto& [id, conn] : conns_) ::shutdown(conn->fd.get(), SHUT_RDWR);
    return all_gone_.wait_for(lock, std::chrono::seconds(3), [this] { return live_ == 0; });
  }

 private:
  static constexpr std::chrono::milliseconds kPauseWhenOutOfFds{100};

  // One client's thread: block in recv, hand the bytes to the room, write what it produced.
  void serve(int id, std::shared_ptr<Conn> conn) {
    char buffer[16 * 1024];
    // Silence at first means a plain-text peer (telnet waits to be spoken to): the first recv
    // waits only so long.
    timeval sniff{0, HubCore::kSniffTimeoutMs * 1000};
    ::setsockopt(conn->fd.get(), SOL_SOCKET, SO_RCVTIMEO, &sniff, sizeof sniff);
    bool sniffing = true;
    for (;;) {
      const ssize_t got = ::recv(conn->fd.get(), buffer, sizeof buffer, 0);
      if (sniffing) {
        sniffing = false;
        timeval forever{0, 0};
        ::setsockopt(conn->fd.get(), SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof forever);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          std::vector<int> dirty;
          {
            std::lock_guard lock(room_);
            core_.admit_silent(id);
            dirty = core_.take_dirty();
          }
          deliver(dirty);
          continue;
        }
      }
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      std::vector<int> dirty, closing;
      bool stay = false;
      {
        std::lock_guard lock(room_);
        stay = core_.feed(id, std::string_view(buffer, static_cast<size_t>(got)));
        dirty = core_.take_dirty();
        closing = core_.take_closing();
      }
      deliver(dirty);
      for (int other : closing) shut(other);
      if (!stay) break;
    }
    std::vector<int> dirty;
    {
      std::lock_guard lock(room_);
      core_.remove(id, "left");
      conns_.erase(id);
      dirty = core_.take_dirty();
    }
    deliver(dirty);
    conn.reset();  // the socket closes here, unless a writer still holds it
    std::lock_guard lock(room_);
    if (--live_ == 0) all_gone_.notify_all();
  }

  // Writes each client's queued bytes with a blocking send, in the order they were queued.
  void deliver(const std::vector<int>& ids) {
    for (int id : ids) {
      std::shared_ptr<Conn> conn;
      {
        std::lock_guard lock(room_);
        auto it = conns_.find(id);
        if (it == conns_.end()) continue;
        conn = it->second;
      }
      std::lock_guard write(conn->write_mutex);
      std::string bytes;
      {
        std::lock_guard lock(room_);
        if (std::string* out = core_.output(id)) bytes.swap(*out);
      }
      size_t done = 0;
      while (done < bytes.size()) {
        const ssize_t sent =
            ::send(conn->fd.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) break;  // its own thread sees the broken socket and cleans up
        done += static_cast<size_t>(sent);
      }
    }
  }

  void shut(int id) {
    std::lock_guard lock(room_);
    if (auto it = conns_.find(id); it != conns_.end()) ::shutdown(it->second->fd.get(), SHUT_RDWR);
  }

  std::mutex room_;  // guards core_, conns_ and live_
  HubCore core_;
  std::map<int, std::shared_ptr<Conn>> conns_;
  size_t live_ = 0;
  std::condition_variable all_gone_;
  net::Fd listener_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

int run_hub_threads(const HubModelOptions& o) {
  raise_fd_limit_for_model();
  net::Fd signals = signals_as_fd();
  Result<net::Fd> listener = listen_for_model(o, "one thread per client", true);
  if (!listener) {
    fmt::print(stderr, "chat: {}\n", listener.error().message);
    return 1;
  }
  ThreadsHub hub(o, std::move(*listener));
  std::thread acceptor([&hub] { hub.accept_loop(); });
  // This thread only waits for SIGINT/SIGTERM; the acceptor and the client threads do the work.
  signalfd_siginfo info{};
  while (::read(signals.get(), &info, sizeof info) < 0 && errno == EINTR) {
  }
  const bool clean = hub.stop();
  acceptor.join();
  if (!clean) std::_Exit(0);  // a thread the hub still owns is stuck: do not destroy it under it
  return 0;
}

}  // namespace chat::iomodels
