// `chat link`: an emulated network between two namespaces, for people at a terminal.
//   up     makes the link (the forwarder keeps running in the background)
//   set    changes the impairment of a running link
//   status counters per direction and the spec in force
//   exec   runs any program on one side (chat server, nc, iperf3, ping, tshark)
//   down   takes it down; nothing is left behind
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "bench/impair_flags.h"
#include "src/cli/commands.h"
#include "src/link/link.h"

namespace chat::cli {
namespace {

struct LinkCliOptions {
  std::string name = "chat";
  bench::ImpairFlags impair;
  bool json = false;
  std::string side;
  std::vector<std::string> command;
};

int fail(const std::string& what, const std::string& why, int code = 1) {
  fmt::print(stderr, "chat link {}: {}\n", what, why);
  return code;
}

// A spec that does not parse is a usage error: exit 2, as for any bad flag.
constexpr int kUsage = 2;

std::string human_bytes(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

void print_status(const std::string& name, const std::string& json_text) {
  const auto j = nlohmann::json::parse(json_text);
  fmt::print("link '{}' is up (forwarder pid {})\n", name, j.value("pid", 0));
  fmt::print("  client side {} / {}  ⇄  server side {} / {}\n\n", link::kClientV4, link::kClientV6,
             link::kServerV4, link::kServerV6);
  const auto& u = j["up"];
  const auto& d = j["down"];
  auto spec = [](const nlohmann::json& x) {
    const std::string s = x.value("spec", "");
    return s.empty() ? std::string("none") : s;
  };
  auto row = [&](const char* label, const std::string& a, const std::string& b) {
    fmt::print("  {:<18} {:<28} {}\n", label, a, b);
  };
  auto num = [](const nlohmann::json& x, const char* k) {
    return fmt::format("{}", x.value(k, uint64_t{0}));
  };
  row("", "up (client → server)", "down (server → client)");
  row("impairment", spec(u), spec(d));
  row("seed", num(u, "seed"), num(d, "seed"));
  row("packets in", num(u, "packets_in"), num(d, "packets_in"));
  row("forwarded",
      fmt::format("{} ({})", num(u, "packets_out"), human_bytes(u.value("bytes_out", 0.0))),
      fmt::format("{} ({})", num(d, "packets_out"), human_bytes(d.value("bytes_out", 0.0))));
  row("lost (loss model)", num(u, "lost"), num(d, "lost"));
  row("dropped (queue)", num(u, "queue_drops"), num(d, "queue_drops"));
  row("dropped (CoDel)", num(u, "aqm_drops"), num(d, "aqm_drops"));
  row("duplicated", num(u, "duplicated"), num(d, "duplicated"));
  row("reordered", num(u, "reordered"), num(d, "reordered"));
  row("corrupted", num(u, "corrupted"), num(d, "corrupted"));
  row("in flight now", num(u, "queued_packets"), num(d, "queued_packets"));
  row("in flight, most", num(u, "max_queued_packets"), num(d, "max_queued_packets"));
  auto late = [](const nlohmann::json& x) {
    const auto& l = x["lateness_us"];
    return fmt::format("p50 {:.0f} p99 {:.0f} max {:.0f} µs", l.value("p50", 0.0),
                       l.value("p99", 0.0), l.value("max", 0.0));
  };
  row("late vs schedule", late(u), late(d));
}

void register_up(CLI::App* link, const std::shared_ptr<LinkCliOptions>& o, int& exit_code) {
  CLI::App* up = link->add_subcommand("up", "make the link: two namespaces joined through TUN");
  up->add_option("--name", o->name, "link name")->capture_default_str();
  o->impair.add_to(up);
  up->callback([o, &exit_code] {
    auto specs = o->impair.resolve();
    if (!specs) {
      exit_code = fail("up", specs.error().message, kUsage);
      return;
    }
    link::LinkOptions lo;
    lo.name = o->name;
    lo.up = specs->first;
    lo.down = specs->second;
    lo.detach = true;
    for (const auto& stale : link::clean_stale_links())
      fmt::print(stderr, "chat link: removed the stale link '{}'\n", stale);
    auto l = link::Link::start(lo);
    if (!l) {
      exit_code = fail("up", l.error().message);
      return;
    }
    fmt::print(
        "link '{}' is up: client side {} / {}, server side {} / {} (forwarder pid {})\n"
        "  chat link exec server -- chat server --mode hub\n"
        "  chat link exec client -- chat client --host {} --port 10001\n"
        "  chat link status | chat link set --impair 'loss=1%' | chat link down\n",
        o->name, link::kClientV4, link::kClientV6, link::kServerV4, link::kServerV6, l->pid(),
        link::kServerV4);
  });
}

}  // namespace

void register_link(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<LinkCliOptions>();
  CLI::App* link = root.add_subcommand(
      "link",
      "an emulated network you can dial: loss, delay, jitter, reordering, rate (TUN "
      "between two namespaces; root, or an unprivileged user namespace)");
  link->require_subcommand(1);
  register_up(link, o, exit_code);

  CLI::App* set = link->add_subcommand("set", "change the impairment of a running link");
  set->add_option("--name", o->name, "link name")->capture_default_str();
  o->impair.add_to(set);
  set->callback([o, &exit_code] {
    auto specs = o->impair.resolve();
    if (!specs) {
      exit_code = fail("set", specs.error().message, kUsage);
      return;
    }
    auto l = link::Link::attach(o->name);
    if (!l) {
      exit_code = fail("set", l.error().message);
      return;
    }
    if (auto r = l->set(specs->first, specs->second); !r) {
      exit_code = fail("set", r.error().message);
      return;
    }
    fmt::print(
        "link '{}': up {}, down {}\n", o->name,
        impair::format_spec(specs->first).empty() ? "none" : impair::format_spec(specs->first),
        impair::format_spec(specs->second).empty() ? "none" : impair::format_spec(specs->second));
  });

  CLI::App* status = link->add_subcommand("status", "counters per direction, the spec in force");
  status->add_option("--name", o->name, "link name")->capture_default_str();
  status->add_flag("--json", o->json, "the forwarder's counters as JSON");
  status->callback([o, &exit_code] {
    auto l = link::Link::attach(o->name);
    if (!l) {
      exit_code = fail("status", l.error().message);
      return;
    }
    auto s = l->status_json();
    if (!s) {
      exit_code = fail("status", s.error().message);
      return;
    }
    if (o->json)
      fmt::print("{}\n", *s);
    else
      print_status(o->name, *s);
  });

  CLI::App* exec = link->add_subcommand(
      "exec", "run a program on one side: chat link exec server -- chat server --mode hub");
  exec->add_option("--name", o->name, "link name")->capture_default_str();
  exec->add_option("side", o->side, "client or server")
      ->required()
      ->check(CLI::IsMember({"client", "server"}));
  exec->add_option("command", o->command, "the program and its arguments, after --")->required();
  exec->callback([o, &exit_code] {
    auto r = link::exec_in_link(
        o->name, o->side == "client" ? link::Side::kClient : link::Side::kServer, o->command);
    exit_code = fail("exec", r.error().message);
  });

  CLI::App* down = link->add_subcommand("down", "take the link down; nothing is left behind");
  down->add_option("--name", o->name, "link name")->capture_default_str();
  down->callback([o, &exit_code] {
    auto l = link::Link::attach(o->name);
    if (!l) {
      const auto stale = link::clean_stale_links();
      if (!stale.empty()) return;  // a crashed link: its state is gone now
      exit_code = fail("down", l.error().message);
      return;
    }
    (void)l->down();
    fmt::print("link '{}' is down\n", o->name);
  });
}

}  // namespace chat::cli
