#include "src/link/netns.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include <fmt/format.h>

namespace chat::link {
namespace {

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

bool have_net_admin() {
  if (::geteuid() == 0) return true;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  auto has = [&](int cap) { return (data[cap / 32].effective & (1U << (cap % 32))) != 0; };
  return has(CAP_NET_ADMIN) && has(CAP_SYS_ADMIN);
}

Result<void> become_root_in_user_namespace() {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER) != 0) return errno_error("cannot make a user namespace");
  // An unprivileged process may map only its own ids, and only after giving up setgroups.
  if (!write_file("/proc/self/setgroups", "deny") ||
      !write_file("/proc/self/uid_map", fmt::format("0 {} 1\n", uid)) ||
      !write_file("/proc/self/gid_map", fmt::format("0 {} 1\n", gid)))
    return make_error("cannot map ids in the new user namespace");
  return {};
}

Result<net::Fd> unshare_netns() {
  if (::unshare(CLONE_NEWNET) != 0) return errno_error("cannot make a network namespace");
  net::Fd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("cannot open the new namespace");
  return fd;
}

Result<void> enter_namespace(int fd, int nstype, const std::string& what) {
  if (::setns(fd, nstype) != 0) return errno_error("cannot enter " + what);
  return {};
}

Result<void> write_sysctl(const std::string& path, const std::string& value) {
  if (!write_file("/proc/sys/" + path, value))
    return make_error(fmt::format("cannot set {} to {}", path, value));
  return {};
}

}  // namespace chat::link
