#pragma once
// Who may join the UDP hub: only a source address that has shown it receives what the hub sends
// there. UDP lets anyone write any source address on a datagram, so without this proof a flood of
// forged sources fills the room, and every answer the hub sends is aimed at a victim who never
// asked (reflection). The proof is stateless, as DTLS's and QUIC's cookies are: the hub answers a
// stranger with a value computed from its address and a secret, and admits the address that
// echoes it. Nothing is stored per stranger, so a million forged sources cost a million keyed
// hashes and no memory.
//
//   framed peers: JOIN (token 0) → CHALLENGE carrying a cookie → JOIN echoing it → WELCOME.
//   plain-text peers (nc -u): any line → "type 4821 to join" → the line "4821" → a text member.
//
// Until an address is admitted the hub sends it at most three times the bytes it received from it
// (kAmplification): a reply that would exceed that is withheld, never sent. The ledger that counts
// this is a fixed-size table; losing an entry to a collision forgets both what was received and
// what was sent, so the bound holds for every address whatever the table forgets.
//
// Pure logic apart from the random secrets: time is passed in.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/net/socket.h"
#include "transports/udp/membership.h"

namespace chat::udp {

using SipKey = std::array<uint64_t, 2>;

// SipHash-2-4 (Aumasson and Bernstein): a keyed hash short inputs cannot forge without the key.
uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data);

// 64 bits from the kernel's random source (getrandom), never 0: 0 means "no token" on the wire.
uint64_t random_token();

class Admission {
 public:
  static constexpr size_t kAmplification = 3;
  static constexpr size_t kLedgerSlots = 4096;
  // A secret is current for this long, then accepted for as long again as the previous one, so a
  // code typed or a cookie echoed is good for between one and two periods.
  static constexpr std::chrono::seconds kRotation{60};

  explicit Admission(TimePoint now);

  // Starts a new secret when the current one has served its period.
  void rotate_if_due(TimePoint now);

  // The cookie a framed joiner at `from` must echo; never 0.
  uint64_t cookie(const net::SocketAddress& from) const;
  bool cookie_valid(const net::SocketAddress& from, uint64_t cookie) const;

  // The code a text peer at `from` must type ("4821"), and the line that tells it so.
  std::string code(const net::SocketAddress& from) const;
  std::string code_line(const net::SocketAddress& from) const;
  // True when `text` (one datagram, line ending and surrounding blanks ignored) is the code.
  bool code_valid(const net::SocketAddress& from, std::string_view text) const;

  // A typed code, checked against guessing: an address gets kWrongCodes wrong tries per secret
  // period, then none until the secret changes, so a blind guesser (one in 10,000 a try) cannot
  // just send them all.
  enum class CodeVerdict { kNotACode, kAdmit, kWrong, kLocked };
  static constexpr uint32_t kWrongCodes = 3;
  CodeVerdict try_code(const net::SocketAddress& from, std::string_view text);

  // Counts `received` bytes from the stranger `from`; returns whether `reply` bytes may go back
  // to it now without exceeding kAmplification times what it sent, and if so counts them as sent.
  bool allow_reply(const net::SocketAddress& from, size_t received, size_t reply);
  // Forgets a stranger once it is admitted.
  void forget(const net::SocketAddress& from);

 private:
  struct Credit {
    net::SocketAddress address;
    uint64_t received = 0;
    uint64_t sent = 0;
    bool used = false;
    uint32_t wrong_codes = 0;
    uint64_t epoch = 0;  // the secret period wrong_codes belongs to
  };

  uint64_t keyed(const SipKey& key, uint8_t purpose, const net::SocketAddress& from) const;
  Credit& slot_for(const net::SocketAddress& from);

  SipKey current_{};
  SipKey previous_{};
  TimePoint rotated_at_;
  uint64_t epoch_ = 1;   // counts rotations
  SipKey ledger_key_{};  // spreads addresses over the ledger so collisions cannot be aimed
  std::vector<Credit> ledger_;
};

}  // namespace chat::udp
