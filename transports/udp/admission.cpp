#include "transports/udp/admission.h"

#include <netinet/in.h>
#include <sys/random.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace chat::udp {
namespace {

uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

struct SipState {
  uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void absorb(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

SipKey random_key() {
  return SipKey{random_token(), random_token()};
}

// The parts of an address that identify a sender: family, port and IP, nothing of the padding.
size_t address_bytes(const net::SocketAddress& a, uint8_t* out) {
  size_t n = 0;
  out[n++] = static_cast<uint8_t>(a.family());
  const uint16_t port = a.port();
  out[n++] = static_cast<uint8_t>(port >> 8);
  out[n++] = static_cast<uint8_t>(port);
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    std::memcpy(out + n, &in->sin_addr, 4);
    n += 4;
  } else if (a.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    std::memcpy(out + n, &in6->sin6_addr, 16);
    n += 16;
  }
  return n;
}

constexpr uint8_t kPurposeCookie = 1;
constexpr uint8_t kPurposeCode = 2;
constexpr uint8_t kPurposeLedger = 3;

}  // namespace

uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data) {
  SipState s{key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
             key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL};
  const size_t whole = data.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) s.absorb(load_le(data.data() + i, 8));
  s.absorb((uint64_t{data.size() & 0xFF} << 56) |
           load_le(data.data() + whole, data.size() - whole));
  s.v2 ^= 0xFF;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t random_token() {
  for (;;) {
    uint64_t v = 0;
    const ssize_t got = ::getrandom(&v, sizeof v, 0);
    if (got == static_cast<ssize_t>(sizeof v) && v != 0) return v;
    if (got < 0 && errno != EINTR) {
      // No kernel randomness (a very old kernel): the clock's low bits beat a constant secret.
      v = static_cast<uint64_t>(SteadyClock::now().time_since_epoch().count()) *
          0x9E3779B97F4A7C15ULL;
      if (v != 0) return v;
    }
  }
}

Admission::Admission(TimePoint now)
    : current_(random_key()),
      previous_(random_key()),
      rotated_at_(now),
      ledger_key_(random_key()),
      ledger_(kLedgerSlots) {}

void Admission::rotate_if_due(TimePoint now) {
  if (now - rotated_at_ < kRotation) return;
  previous_ = current_;
  current_ = random_key();
  rotated_at_ = now;
  ++epoch_;
}

uint64_t Admission::keyed(const SipKey& key, uint8_t purpose,
                          const net::SocketAddress& from) const {
  uint8_t bytes[1 + 1 + 2 + 16];
  bytes[0] = purpose;
  const size_t n = 1 + address_bytes(from, bytes + 1);
  return siphash24(key, {bytes, n});
}

uint64_t Admission::cookie(const net::SocketAddress& from) const {
  const uint64_t c = keyed(current_, kPurposeCookie, from);
  return c ? c : 1;
}

bool Admission::cookie_valid(const net::SocketAddress& from, uint64_t cookie) const {
  if (cookie == 0) return false;
  for (const SipKey* key : {&current_, &previous_}) {
    const uint64_t c = keyed(*key, kPurposeCookie, from);
    if ((c ? c : 1) == cookie) return true;
  }
  return false;
}

std::string Admission::code(const net::SocketAddress& from) const {
  return fmt::format("{:04}", keyed(current_, kPurposeCode, from) % 10000);
}

std::string Admission::code_line(const net::SocketAddress& from) const {
  // Short on purpose: it must fit three times what a one-word first line brings ("hello\n").
  return fmt::format("type {} to join\n", code(from));
}

namespace {

// The four digits `text` holds, blanks and line ending aside; empty when it is not a code at all.
std::string_view as_code(std::string_view text) {
  auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  if (text.size() != 4) return {};
  for (char c : text)
    if (c < '0' || c > '9') return {};
  return text;
}

}  // namespace

bool Admission::code_valid(const net::SocketAddress& from, std::string_view text) const {
  text = as_code(text);
  if (text.empty()) return false;
  for (const SipKey* key : {&current_, &previous_})
    if (text == fmt::format("{:04}", keyed(*key, kPurposeCode, from) % 10000)) return true;
  return false;
}

Admission::CodeVerdict Admission::try_code(const net::SocketAddress& from, std::string_view text) {
  if (as_code(text).empty()) return CodeVerdict::kNotACode;
  Credit& c = slot_for(from);
  if (c.epoch != epoch_) {
    c.epoch = epoch_;
    c.wrong_codes = 0;
  }
  if (c.wrong_codes >= kWrongCodes) return CodeVerdict::kLocked;
  if (code_valid(from, text)) return CodeVerdict::kAdmit;
  ++c.wrong_codes;
  return CodeVerdict::kWrong;
}

Admission::Credit& Admission::slot_for(const net::SocketAddress& from) {
  Credit& c = ledger_[keyed(ledger_key_, kPurposeLedger, from) % ledger_.size()];
  if (!c.used || !(c.address == from)) c = Credit{from, 0, 0, true, 0, epoch_};
  return c;
}

bool Admission::allow_reply(const net::SocketAddress& from, size_t received, size_t reply) {
  Credit& c = slot_for(from);
  c.received += received;
  if (c.sent + reply > kAmplification * c.received) return false;
  c.sent += reply;
  return true;
}

void Admission::forget(const net::SocketAddress& from) {
  Credit& c = ledger_[keyed(ledger_key_, kPurposeLedger, from) % ledger_.size()];
  if (c.used && c.address == from) c = Credit{};
}

}  // namespace chat::udp
