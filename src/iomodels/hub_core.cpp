#include "src/iomodels/hub_core.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/util/clock.h"
#include "src/wire/frame_codec.h"
#include "src/wire/message_codec.h"

namespace chat::iomodels {

void HubCore::add(int id, std::string address) {
  Client& c = clients_[id];
  c = Client{};
  c.address = std::move(address);
  c.lines = wire::LineSplitter(limits_.max_payload);
}

void HubCore::admit_silent(int id) {
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second.sniffed) return;
  it->second.sniffed = true;
  join(id, it->second, it->second.address);
}

bool HubCore::feed(int id, std::string_view bytes) {
  auto it = clients_.find(id);
  if (it == clients_.end() || bytes.empty()) return it != clients_.end();
  Client& c = it->second;
  if (c.closing) return false;
  if (!c.sniffed) {
    // The same test the epoll hub makes: 0xF7 never begins UTF-8, so byte 0 tells them apart.
    c.sniffed = true;
    c.framed = wire::looks_framed(static_cast<uint8_t>(bytes[0]));
    if (!c.framed) join(id, c, c.address);
  }
  if (!c.framed) return handle_text(id, c, bytes) && !c.closing;
  c.input.append(bytes);
  return handle_frames(id, c) && !c.closing;
}

bool HubCore::handle_frames(int id, Client& c) {
  using wire::FrameType;
  size_t used = 0;
  wire::Frame f;
  while (used < c.input.size()) {
    const auto rest = wire::as_bytes(std::string_view(c.input).substr(used));
    const wire::DecodeResult r = wire::decode_stream(rest, limits_.max_payload, f);
    if (r.status == wire::DecodeStatus::kNeedMore) break;
    if (r.status != wire::DecodeStatus::kOk) {
      spdlog::warn("hub: {}: {}; dropping it", c.address, r.reason);
      return false;
    }
    used += r.consumed;
    if (!c.member) {
      if (f.type != FrameType::kJoin) {
        spdlog::warn("hub: {}: {} before JOIN; dropping it", c.address,
                     wire::frame_type_name(f.type));
        return false;
      }
      join(id, c, f.payload.empty() ? c.address : f.payload);
      continue;
    }
    switch (f.type) {
      case FrameType::kData: {
        Result<Message> m = wire::frame_to_message(f);
        if (!m) {
          spdlog::warn("hub: {}: {}; dropping it", c.address, m.error().message);
          return false;
        }
        if (!handle_message(id, c, std::move(*m))) return false;
        break;
      }
      case FrameType::kPing:
        send_frame(id, FrameType::kPong, 0, f.seq, f.timestamp_ns, {});
        break;
      case FrameType::kLeave:
        return false;
      default:
        break;  // heartbeats, late control frames: nothing to do on TCP
    }
  }
  c.input.erase(0, used);
  return true;
}

bool HubCore::handle_text(int id, Client& c, std::string_view bytes) {
  std::vector<std::string> lines;
  c.lines.feed(bytes, lines);
  // One read is one burst: the course's client sends each message with no newline.
  c.lines.flush(lines);
  for (std::string& line : lines)
    if (!handle_message(id, c, Message::chat(std::move(line)))) return false;
  return true;
}

bool HubCore::handle_message(int id, Client& c, Message&& m) {
  if (wire::is_quit_command(m.text)) return false;
  if (m.text == "/who") {
    std::string list;
    for (const auto& [other, oc] : clients_)
      if (oc.member) list += (list.empty() ? "" : ", ") + oc.name;
    send(id, Message::notice(fmt::format("here: {} ({} here)", list, members_)));
    return true;
  }
  broadcast(Message::chat(wire::sanitize_for_terminal(m.text), c.name), id);
  return true;
}

void HubCore::join(int id, Client& c, std::string wanted) {
  std::string others;
  for (const auto& [other, oc] : clients_)
    if (oc.member) others += (others.empty() ? "" : ", ") + oc.name;
  c.name = unique_name(std::move(wanted));
  c.member = true;
  ++members_;
  if (c.framed)
    send_frame(id, wire::FrameType::kWelcome, static_cast<uint32_t>(id), c.next_seq++, now_ns(),
               fmt::format("welcome, {}", c.name));
  send(id, Message::notice(fmt::format("welcome {}{}{} ({} here)", c.name,
                                       others.empty() ? "" : "; with ", others, members_)));
  broadcast(Message::notice(fmt::format("{} joined ({} here)", c.name, members_)), id);
}

void HubCore::remove(int id, std::string_view why) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  const bool was_member = it->second.member;
  const std::string name = it->second.name;
  clients_.erase(it);
  if (!was_member) return;
  --members_;
  spdlog::debug("hub: {} left ({})", name, why);
  broadcast(Message::notice(fmt::format("{} left ({} here)", name, members_)), -1);
}

void HubCore::send(int id, const Message& m) {
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second.closing) return;
  Client& c = it->second;
  const size_t before = c.output.size();
  if (c.framed) {
    wire::encode_message_frame(m, 0, c.next_seq++, now_ns(), c.output);
  } else {
    c.output += wire::message_to_line(m);
    c.output += '\n';
  }
  if (before == 0) dirty_.push_back(id);
  if (c.output.size() > limits_.high_water_bytes) {
    spdlog::warn("hub: {} reads too slowly ({} bytes queued); dropping it", c.name,
                 c.output.size());
    close_later(id);
  }
}

void HubCore::send_frame(int id, wire::FrameType type, uint32_t sender, uint32_t seq, uint64_t ns,
                         std::string_view payload) {
  Client& c = clients_.at(id);
  if (c.output.empty()) dirty_.push_back(id);
  wire::encode_header(type, sender, seq, ns, static_cast<uint32_t>(payload.size()), c.output);
  c.output.append(payload);
}

void HubCore::broadcast(const Message& m, int except) {
  for (auto& [id, c] : clients_)
    if (id != except && c.member) send(id, m);
}

void HubCore::close_later(int id) {
  Client& c = clients_.at(id);
  if (c.closing) return;
  c.closing = true;
  c.output.clear();
  closing_.push_back(id);
}

std::string* HubCore::output(int id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second.output;
}

std::vector<int> HubCore::take_dirty() {
  return std::exchange(dirty_, {});
}

std::vector<int> HubCore::take_closing() {
  return std::exchange(closing_, {});
}

std::string HubCore::refusal(bool framed, std::string_view reason) {
  if (!framed) return fmt::format("error: {}\n", reason);
  std::string out;
  wire::encode_header(wire::FrameType::kRefuse, 0, 0, now_ns(),
                      static_cast<uint32_t>(reason.size()), out);
  out.append(reason);
  return out;
}

std::string HubCore::unique_name(std::string wanted) const {
  wanted = wire::sanitize_for_terminal(wanted);
  if (wanted.empty()) wanted = "anonymous";
  auto taken = [this](const std::string& n) {
    for (const auto& [id, c] : clients_)
      if (c.member && c.name == n) return true;
    return false;
  };
  if (!taken(wanted)) return wanted;
  for (int i = 2;; ++i)
    if (std::string candidate = fmt::format("{}#{}", wanted, i); !taken(candidate))
      return candidate;
}

}  // namespace chat::iomodels
