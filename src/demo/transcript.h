#pragma once
// What a demo says, in the language the course was taught in or in English, printed as it goes
// and kept so the JSON (and the report built from it) carries the very same answer.
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace chat::demo {

enum class Lang { kEn, kZh };

class Transcript {
 public:
  explicit Transcript(Lang lang, bool echo = true) : lang_(lang), echo_(echo) {}

  Lang lang() const { return lang_; }
  bool zh() const { return lang_ == Lang::kZh; }
  // Picks the sentence for this run's language.
  std::string_view pick(std::string_view en, std::string_view zh) const {
    return lang_ == Lang::kZh ? zh : en;
  }

  // One line (or several, split on '\n') printed and recorded.
  void line(std::string_view text = {});
  // A line in the run's language, formatted: say("{} ms", "{} 毫秒", x).
  template <class... Args>
  void say(fmt::format_string<Args...> en, fmt::format_string<Args...> zh, Args&&... args) {
    line(lang_ == Lang::kZh ? fmt::format(zh, std::forward<Args>(args)...)
                            : fmt::format(en, std::forward<Args>(args)...));
  }
  // A section heading: a blank line, then the title underlined.
  void heading(std::string_view en, std::string_view zh);

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  Lang lang_;
  bool echo_;
  std::vector<std::string> lines_;
};

// Column-aligned rows for the terminal (display width counts CJK characters as two cells).
std::string pad(std::string_view text, size_t width, bool right = false);
size_t display_width(std::string_view text);

}  // namespace chat::demo
