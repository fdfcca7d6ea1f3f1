#pragma once
// The slash commands people type into a chat, parsed the same way wherever they are read: by the
// hub for every member (text peers have no client of their own to answer them), by the p2p
// operator's console, and by the client.
#include <optional>
#include <string_view>

namespace chat {

struct ChatCommand {
  std::string_view name;  // without the slash, e.g. "name"
  std::string_view arg;   // the rest of the line, trimmed
};

// "/name bob" -> {"name", "bob"}; nullopt for ordinary text. Only a slash followed by letters
// is a command, so "/usr/bin is big" or "/ hi" stay chat.
std::optional<ChatCommand> parse_chat_command(std::string_view line);

// True for the commands that rename: /name and /nick (IRC's word).
inline bool is_rename(const ChatCommand& c) {
  return c.name == "name" || c.name == "nick";
}

}  // namespace chat
