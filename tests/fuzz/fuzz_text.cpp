// Fuzz target: what plain-text peers send. The line splitter keeps memory bounded and loses no
// byte but the line ends; sanitising always yields valid UTF-8 with no control characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "src/wire/text_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chat::wire;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  LineSplitter splitter(64);
  std::vector<std::string> lines;
  // Feed in two pieces to exercise the carry-over between reads.
  const size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  splitter.feed(in.substr(0, cut), lines);
  splitter.feed(in.substr(cut), lines);
  if (splitter.pending() > 64) std::abort();
  // A quiet peer's burst holds back at most an unfinished UTF-8 sequence.
  splitter.flush_burst(lines);
  if (splitter.pending() > 3) std::abort();
  splitter.flush(lines);
  size_t kept = 0;
  for (const auto& l : lines) {
    if (l.size() > 64) std::abort();
    // A cut never splits a character that was valid UTF-8 in the input.
    if (is_valid_utf8(in) && !is_valid_utf8(l)) std::abort();
    kept += l.size();
  }
  // Only line ends go: each \n, and at most one \r per line (the last line included).
  size_t newlines = 0;
  for (char c : in) newlines += c == '\n';
  if (kept > size - newlines || kept + 2 * newlines + 1 < size) std::abort();

  const std::string safe = sanitize_for_terminal(in);
  if (!is_valid_utf8(safe)) std::abort();
  for (unsigned char c : safe)
    if ((c < 0x20 && c != '\t') || c == 0x7F) std::abort();
  return 0;
}
