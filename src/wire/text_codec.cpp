#include "src/wire/text_codec.h"

#include <fmt/format.h>

namespace chat::wire {

void LineSplitter::emit(std::string piece, LineEnd end, std::vector<std::string>& out,
                        std::vector<LineEnd>* ends) {
  out.push_back(std::move(piece));
  if (ends) ends->push_back(end);
}

void LineSplitter::feed(std::string_view bytes, std::vector<std::string>& out,
                        std::vector<LineEnd>* ends) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    pending_.append(bytes.substr(0, nl));
    bytes = nl == std::string_view::npos ? std::string_view{} : bytes.substr(nl + 1);
    // A peer that never sends a newline must not grow our memory without bound.
    while (pending_.size() > max_line_) {
      const size_t cut = utf8_cut(pending_, max_line_);
      emit(pending_.substr(0, cut), LineEnd::kNone, out, ends);
      pending_.erase(0, cut);
    }
    if (nl != std::string_view::npos) {
      LineEnd end = LineEnd::kLf;
      if (!pending_.empty() && pending_.back() == '\r') {
        pending_.pop_back();
        end = LineEnd::kCrLf;
      }
      emit(std::move(pending_), end, out, ends);
      pending_.clear();
    }
  }
}

void LineSplitter::flush_burst(std::vector<std::string>& out, std::vector<LineEnd>* ends) {
  const size_t keep = incomplete_utf8_tail(pending_);
  if (keep == pending_.size()) return;
  std::string tail = pending_.substr(pending_.size() - keep);
  pending_.resize(pending_.size() - keep);
  flush(out, ends);
  pending_ = std::move(tail);
}

void LineSplitter::flush(std::vector<std::string>& out, std::vector<LineEnd>* ends) {
  LineEnd end = LineEnd::kNone;
  if (!pending_.empty() && pending_.back() == '\r') {
    pending_.pop_back();
    end = LineEnd::kCr;
  }
  if (!pending_.empty() || end != LineEnd::kNone) emit(std::move(pending_), end, out, ends);
  pending_.clear();
}

namespace {

// The length of the UTF-8 sequence a lead byte announces; 0 for a byte that cannot lead one.
size_t utf8_length(uint8_t b) {
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) return 2;
  if ((b & 0xF0) == 0xE0) return 3;
  if ((b & 0xF8) == 0xF0) return 4;
  return 0;
}

bool is_continuation(uint8_t b) {
  return (b & 0xC0) == 0x80;
}

}  // namespace

size_t incomplete_utf8_tail(std::string_view text) {
  for (size_t k = 1; k <= 3 && k <= text.size(); ++k) {
    const auto b = static_cast<uint8_t>(text[text.size() - k]);
    if (is_continuation(b)) continue;
    return utf8_length(b) > k ? k : 0;
  }
  return 0;
}

size_t utf8_cut(std::string_view text, size_t limit) {
  if (text.size() <= limit) return text.size();
  // A cut before a continuation byte would split its sequence: back up to the sequence's lead.
  for (size_t cut = limit; cut > 0 && limit - cut < 4; --cut)
    if (!is_continuation(static_cast<uint8_t>(text[cut]))) return cut;
  return limit;  // not UTF-8 here: any cut is as good as another
}

namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  size_t len = 0;
  uint32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = utf8_sequence(text, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = utf8_sequence(text, i, cp);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
      continue;
    }
    if (cp == '\t') {
      out.push_back('\t');
    } else if (cp < 0x20) {
      out.push_back('^');
      out.push_back(static_cast<char>(cp + 0x40));
    } else if (cp == 0x7F) {
      out.append("^?");
    } else if (cp >= 0x80 && cp <= 0x9F) {
      out.append(fmt::format("\\u{:04X}", cp));
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool is_quit_command(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
    line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line == "q" || line == "/quit";
}

}  // namespace chat::wire
