#include "src/cli/cli_main.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace chat::cli {

extern const char* const kGitRevision;  // generated at build time (scripts/version.cmake)

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::vector<CLI::App*> subcommands_of(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

std::string path_of(const std::vector<std::string>& path) {
  std::string out = "chat";
  for (const auto& p : path) out += " " + p;
  return out;
}

void list_subcommands(CLI::App& app, const std::vector<std::string>& path) {
  std::string text = fmt::format("usage: {} <command> [flags]\n\ncommands:\n", path_of(path));
  size_t width = 0;
  for (CLI::App* sub : subcommands_of(app)) width = std::max(width, sub->get_name().size());
  for (CLI::App* sub : subcommands_of(app))
    text += fmt::format("  {:<{}}  {}\n", sub->get_name(), width, sub->get_description());
  text += fmt::format("\nRun '{} <command> --help' for a command's flags.\n", path_of(path));
  std::fputs(text.c_str(), stderr);
}

int usage_error(const std::vector<std::string>& path, const std::string& what) {
  fmt::print(stderr, "{}: {}\nRun '{} --help' for usage.\n", path_of(path), what, path_of(path));
  return kUsageError;
}

}  // namespace

std::string version_text() {
  const std::string rev = kGitRevision;
  return fmt::format("chat {}{}", CHAT_VERSION, rev.empty() ? "" : fmt::format(" (git {})", rev));
}

std::string nearest(std::string_view word, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& n : names) {
    // A prefix is what people type when they abbreviate: `chat serv`.
    const size_t d = n.rfind(word, 0) == 0 ? 0 : edit_distance(word, n);
    if (d < best_distance) best = n, best_distance = d;
  }
  // Past this, the nearest name is not a typo of the word but a different word.
  const size_t plausible = std::max<size_t>(2, word.size() / 3);
  return best_distance <= plausible ? best : std::string();
}

int run_cli(CLI::App& app, int argc, const char* const* argv, const int& exit_code) {
  app.set_version_flag("--version", version_text(), "print the version and exit");

  // Walk the subcommand words first: CLI11 would only say "A subcommand is required".
  std::vector<std::string> path;
  CLI::App* at = &app;
  for (int i = 1;; ++i) {
    const std::vector<CLI::App*> subs = subcommands_of(*at);
    if (subs.empty()) break;
    if (i >= argc) {
      if (at->get_require_subcommand_min() == 0) break;
      list_subcommands(*at, path);
      return kUsageError;
    }
    const std::string word = argv[i];
    if (!word.empty() && word[0] == '-') break;  // a flag (--help, --version): CLI11's business
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (CLI::App* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->check_name(word)) next = sub;
    }
    if (next == nullptr) {
      const std::string guess = nearest(word, names);
      const std::string hint = guess.empty()
                                   ? fmt::format("the commands are {}", fmt::join(names, ", "))
                                   : fmt::format("did you mean '{}'?", guess);
      return usage_error(path, fmt::format("'{}' is not a command; {}", word, hint));
    }
    path.push_back(next->get_name());
    at = next;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    // CLI11 words an unknown flag as a list of "arguments"; say it as a person would.
    static constexpr std::string_view kExtras = "The following argument";
    static constexpr std::string_view kConvert = "Could not convert: ";
    if (what.rfind(kExtras, 0) == 0 && what.find(": ") != std::string::npos) {
      what = fmt::format("unknown flag or argument: {}", what.substr(what.find(": ") + 2));
    } else if (what.rfind(kConvert, 0) == 0) {
      // "Could not convert: --linger = abc" -> "--linger: 'abc' is not a valid value"
      const std::string rest = what.substr(kConvert.size());
      const size_t eq = rest.find(" = ");
      if (eq != std::string::npos)
        what =
            fmt::format("{}: '{}' is not a valid value", rest.substr(0, eq), rest.substr(eq + 3));
    }
    return usage_error(path, what);
  }
  return exit_code;
}

}  // namespace chat::cli
