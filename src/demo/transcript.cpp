#include "src/demo/transcript.h"

#include <cstdio>

namespace chat::demo {

void Transcript::line(std::string_view text) {
  size_t start = 0;
  for (;;) {
    const size_t end = text.find('\n', start);
    std::string one(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (echo_) {
      std::fwrite(one.data(), 1, one.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    }
    lines_.push_back(std::move(one));
    if (end == std::string_view::npos) return;
    start = end + 1;
  }
}

void Transcript::heading(std::string_view en, std::string_view zh) {
  line();
  const std::string_view title = pick(en, zh);
  line(title);
  line(std::string(display_width(title), '-'));
}

size_t display_width(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    // Three-byte sequences from U+3000 up (CJK, full-width punctuation) take two cells.
    width += (len == 3 && c >= 0xE3) ? 2 : 1;
    i += len;
  }
  return width;
}

std::string pad(std::string_view text, size_t width, bool right) {
  const size_t w = display_width(text);
  const std::string fill(w < width ? width - w : 0, ' ');
  return right ? fill + std::string(text) : std::string(text) + fill;
}

}  // namespace chat::demo
