#include "bench/impair_flags.h"

namespace chat::bench {

void ImpairFlags::add_to(CLI::App* app) {
  app->add_option("--impair", both,
                  "run over an emulated link with this impairment in both directions, e.g. "
                  "'loss=2%,delay=20ms' (needs root or an unprivileged user namespace)");
  app->add_option("--impair-up", up, "impairment client → server only (overrides --impair)");
  app->add_option("--impair-down", down, "impairment server → client only (overrides --impair)");
  app->footer(impair::spec_help());
}

Result<std::pair<impair::Spec, impair::Spec>> ImpairFlags::resolve() const {
  auto one = [&](const std::string& own, const char* flag) -> Result<impair::Spec> {
    const std::string& text = own.empty() ? both : own;
    auto s = impair::parse_spec(text);
    if (!s) {
      // The parser names --impair; say which of the three flags it was.
      std::string why = s.error().message;
      if (why.rfind("--impair: ", 0) == 0) why = why.substr(10);
      return make_error(std::string(own.empty() ? "--impair" : flag) + ": " + why);
    }
    return s;
  };
  auto u = one(up, "--impair-up");
  if (!u) return u.error();
  auto d = one(down, "--impair-down");
  if (!d) return d.error();
  return std::make_pair(*u, *d);
}

}  // namespace chat::bench
