// Admission to the UDP hub as pure logic: the keyed hash, cookies and codes across secret
// rotations, and the three-times budget for addresses that have not proved themselves.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <map>
#include <string>
#include <vector>

#include "transports/udp/admission.h"

namespace chat::udp {
namespace {

using namespace std::chrono_literals;

net::SocketAddress v4(const std::string& ip, uint16_t port) {
  net::SocketAddress a;
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &in->sin_addr);
  a.length = sizeof(sockaddr_in);
  return a;
}

TEST(SipHash, MatchesTheReferenceVectors) {
  // The paper's key 00 01 … 0f over the messages 00, 00 01, …: outputs read little-endian.
  const SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  std::vector<uint8_t> message;
  EXPECT_EQ(siphash24(key, message), 0x726fdb47dd0e0e31ULL);
  for (uint8_t i = 0; i < 8; ++i) message.push_back(i);
  EXPECT_EQ(siphash24(key, message), 0x93f5f5799a932462ULL);
  for (uint8_t i = 8; i < 15; ++i) message.push_back(i);
  EXPECT_EQ(siphash24(key, message), 0xa129ca6149be45e5ULL);
}

TEST(Admission, ACookieFitsOneAddressAndPortAndOutlivesOneRotation) {
  const TimePoint t0{};
  Admission a(t0);
  const auto alice = v4("198.18.0.5", 4000);
  const uint64_t cookie = a.cookie(alice);
  EXPECT_NE(cookie, 0u);
  EXPECT_TRUE(a.cookie_valid(alice, cookie));
  EXPECT_FALSE(a.cookie_valid(v4("198.18.0.5", 4001), cookie));
  EXPECT_FALSE(a.cookie_valid(v4("198.18.0.6", 4000), cookie));
  EXPECT_FALSE(a.cookie_valid(alice, 0));
  a.rotate_if_due(t0 + Admission::kRotation - 1ms);
  EXPECT_EQ(a.cookie(alice), cookie);  // not due yet
  a.rotate_if_due(t0 + Admission::kRotation);
  EXPECT_NE(a.cookie(alice), cookie);
  EXPECT_TRUE(a.cookie_valid(alice, cookie));  // the previous secret still counts
  a.rotate_if_due(t0 + 2 * Admission::kRotation);
  EXPECT_FALSE(a.cookie_valid(alice, cookie));
}

TEST(Admission, TheCodeIsFourDigitsAndIsAcceptedAsTyped) {
  Admission a(TimePoint{});
  const auto nc = v4("127.0.0.1", 5555);
  const std::string code = a.code(nc);
  ASSERT_EQ(code.size(), 4u);
  EXPECT_EQ(a.code_line(nc), "type " + code + " to join\n");
  EXPECT_TRUE(a.code_valid(nc, code));
  EXPECT_TRUE(a.code_valid(nc, code + "\n"));
  EXPECT_TRUE(a.code_valid(nc, " " + code + "\r\n"));
  EXPECT_FALSE(a.code_valid(nc, code + "0"));
  EXPECT_FALSE(a.code_valid(nc, "type " + code));
  EXPECT_FALSE(a.code_valid(nc, ""));
}

TEST(Admission, ThreeWrongCodesLockAnAddressOutUntilTheSecretChanges) {
  const TimePoint t0{};
  Admission a(t0);
  const auto nc = v4("127.0.0.1", 5555);
  const std::string code = a.code(nc);
  const std::string wrong = code == "0000" ? "1111" : "0000";
  using V = Admission::CodeVerdict;
  EXPECT_EQ(a.try_code(nc, "hello\n"), V::kNotACode);  // chat, not a guess: costs no try
  for (uint32_t i = 0; i < Admission::kWrongCodes; ++i) EXPECT_EQ(a.try_code(nc, wrong), V::kWrong);
  EXPECT_EQ(a.try_code(nc, code), V::kLocked);  // even the right one, now
  EXPECT_EQ(
      a.try_code(v4("127.0.0.1", 5556), wrong == a.code(v4("127.0.0.1", 5556)) ? code : wrong),
      V::kWrong);  // another address has its own tries
  a.rotate_if_due(t0 + Admission::kRotation);
  EXPECT_EQ(a.try_code(nc, code), V::kAdmit);  // the previous secret's code, with fresh tries
}

TEST(Admission, AStrangerIsNeverSentMoreThanThreeTimesWhatItSent) {
  Admission a(TimePoint{});
  const auto s = v4("198.18.1.1", 9);
  EXPECT_FALSE(a.allow_reply(s, 1, 18));  // 3 bytes of credit
  EXPECT_FALSE(a.allow_reply(s, 4, 18));  // 15
  EXPECT_TRUE(a.allow_reply(s, 1, 18));   // 18
  EXPECT_FALSE(a.allow_reply(s, 5, 18));  // 15 more: not yet
  EXPECT_TRUE(a.allow_reply(s, 1, 18));
  a.forget(s);
  EXPECT_FALSE(a.allow_reply(s, 1, 18));
}

TEST(Admission, TheBoundHoldsWhenTheLedgerForgetsUnderManyAddresses) {
  Admission a(TimePoint{});
  std::map<std::pair<uint32_t, uint16_t>, std::pair<uint64_t, uint64_t>> seen;  // in, out
  uint32_t x = 12345;
  for (int i = 0; i < 50000; ++i) {
    x = x * 1103515245u + 12345u;
    const uint32_t host = (x >> 8) % 20000;  // many more addresses than ledger slots
    const uint16_t port = static_cast<uint16_t>(1 + (x % 3));
    const auto from =
        v4("198.18." + std::to_string(host / 256) + "." + std::to_string(host % 256), port);
    const size_t in = 1 + (x >> 4) % 40;
    auto& [got, sent] = seen[{host, port}];
    got += in;
    if (a.allow_reply(from, in, 32)) sent += 32;
    ASSERT_LE(sent, Admission::kAmplification * got);
  }
}

}  // namespace
}  // namespace chat::udp
