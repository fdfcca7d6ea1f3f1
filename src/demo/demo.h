#pragma once
// `chat demo q1|q2|q3|all`: the course's three thinking questions, each answered by an experiment
// that runs here and now on loopback, prints its answer with the numbers it measured, and writes
// the same as JSON (DIR/q1.json ...) for `chat report` to turn into a chapter.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "src/demo/transcript.h"
#include "src/util/result.h"

namespace chat::demo {

using Json = nlohmann::json;

struct DemoOptions {
  Lang lang = Lang::kEn;
  bool quick = false;  // a few seconds each, for tests; the answers keep their shape
  std::filesystem::path out_dir = "demo-results";
};

// Each demo prints to `t` and returns its JSON document (the transcript is added by the caller).
Result<Json> run_q1(const DemoOptions& options, Transcript& t);
Result<Json> run_q2(const DemoOptions& options, Transcript& t);
Result<Json> run_q3(const DemoOptions& options, Transcript& t);

void register_commands(CLI::App& root, int& exit_code);

}  // namespace chat::demo
