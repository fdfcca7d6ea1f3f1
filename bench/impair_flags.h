#pragma once
// The impairment flags every command shares: --impair for both directions, --impair-up and
// --impair-down to set one direction apart. Parsed before anything starts, so a bad spec stops
// the command with an error that names the field.
#include <CLI/CLI.hpp>

#include <string>
#include <utility>

#include "src/impair/spec.h"
#include "src/util/result.h"

namespace chat::bench {

struct ImpairFlags {
  std::string both, up, down;

  void add_to(CLI::App* app);
  bool given() const { return !both.empty() || !up.empty() || !down.empty(); }
  // {up, down}: each direction's own flag if given, else --impair, else no impairment.
  Result<std::pair<impair::Spec, impair::Spec>> resolve() const;
};

}  // namespace chat::bench
