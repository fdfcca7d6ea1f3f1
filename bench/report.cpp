#include "bench/report.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "bench/results.h"
#include "bench/subprocess.h"

namespace chat::bench {
namespace {

// Debian's interpreter, never a pyenv shim first on PATH: python3-matplotlib lives only here.
constexpr const char* kPython = "/usr/bin/python3";

// `chat demo` writes its own documents; the renderer turns them into the thinking-questions
// chapter.
bool is_demo_document(const std::filesystem::path& path) {
  std::ifstream in(path);
  const Json doc = Json::parse(in, nullptr, false);
  return doc.is_object() && doc.value("schema", std::string()) == "chat-demo-results";
}

}  // namespace

std::filesystem::path find_renderer() {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("CHAT_RENDERER")) candidates.emplace_back(env);
#ifdef CHAT_SOURCE_DIR
  candidates.push_back(std::filesystem::path(CHAT_SOURCE_DIR) / "reports" / "render.py");
#endif
  const auto exe = std::filesystem::path(self_executable()).parent_path();
  candidates.push_back(exe / ".." / "reports" / "render.py");
  candidates.push_back(exe / "reports" / "render.py");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(c, ec)) return c;
  }
  return {};
}

Result<std::filesystem::path> render_report(const std::vector<std::filesystem::path>& inputs,
                                            const std::filesystem::path& out_dir) {
  if (inputs.empty()) return make_error("report: give at least one results JSON file");
  // Refuse bad input here with our own words rather than a Python traceback.
  for (const auto& in : inputs) {
    if (is_demo_document(in)) continue;
    if (auto doc = load_document(in); !doc) return doc.error();
  }
  const auto renderer = find_renderer();
  if (renderer.empty())
    return make_error("report: cannot find reports/render.py (set CHAT_RENDERER to its path)");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return make_error(fmt::format("report: cannot create {}: {}", out_dir.string(), ec.message()));
  const auto log = out_dir / ".render.log";
  std::filesystem::remove(log, ec);
  std::vector<std::string> argv = {kPython, renderer.string(), out_dir.string()};
  for (const auto& in : inputs) argv.push_back(in.string());
  auto child = Subprocess::spawn(argv, log, log);
  if (!child) return child.error();
  const auto status = child->wait(std::chrono::minutes(2));
  if (!status) {
    child->stop();
    return make_error("report: the renderer took more than 2 minutes; stopped it");
  }
  if (*status != 0) {
    auto text = read_file(log);
    if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
    return make_error(fmt::format("report: {} {} failed (exit {}):\n{}", kPython, renderer.string(),
                                  *status, text));
  }
  std::filesystem::remove(log, ec);
  return out_dir / "report.md";
}

}  // namespace chat::bench
