#include "src/chat/chat_command.h"

namespace chat {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

std::optional<ChatCommand> parse_chat_command(std::string_view line) {
  while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
  while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
  if (line.size() < 2 || line[0] != '/') return std::nullopt;
  size_t end = 1;
  while (end < line.size() && is_letter(line[end])) ++end;
  if (end == 1 || (end < line.size() && !is_space(line[end]))) return std::nullopt;
  ChatCommand c{line.substr(1, end - 1), line.substr(end)};
  while (!c.arg.empty() && is_space(c.arg.front())) c.arg.remove_prefix(1);
  return c;
}

}  // namespace chat
