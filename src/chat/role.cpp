#include "src/chat/role.h"

#include <fmt/format.h>

#include "src/wire/text_codec.h"

namespace chat {

std::string departure_words(std::string_view name, DownReason reason, std::string_view why) {
  std::string_view verb;
  switch (reason) {
    case DownReason::kLeft:
    case DownReason::kClosed:
      verb = "left";
      break;
    case DownReason::kTimedOut:
      verb = "timed out";
      break;
    case DownReason::kRefused:
      verb = "was refused";
      break;
    case DownReason::kOverflow:
      verb = "was disconnected";
      break;
    case DownReason::kError:
      verb = "was dropped";
      break;
  }
  // UDP's LEAVE says "left" and a timeout says "timed out": repeating the verb is noise.
  if (why.empty() || why == verb || why == down_reason_name(reason))
    return fmt::format("{} {}", name, verb);
  return fmt::format("{} {}: {}", name, verb, wire::sanitize_for_terminal(why));
}

}  // namespace chat
