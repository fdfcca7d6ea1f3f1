#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "src/impair/spec.h"

namespace chat::impair {
namespace {

using namespace std::chrono_literals;

Spec parse_ok(std::string_view text) {
  auto r = parse_spec(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Spec{};
}

std::string parse_error(std::string_view text) {
  auto r = parse_spec(text);
  EXPECT_FALSE(r.ok()) << text << " parsed";
  return r.ok() ? std::string() : r.error().message;
}

TEST(ImpairSpec, EmptyAndNoneAreIdentity) {
  EXPECT_EQ(parse_ok(""), Spec{});
  EXPECT_EQ(parse_ok("none"), Spec{});
  EXPECT_EQ(parse_ok("  none "), Spec{});
  EXPECT_TRUE(Spec{}.is_identity());
  EXPECT_EQ(format_spec(Spec{}), "none");
}

TEST(ImpairSpec, FullSpec) {
  const Spec s = parse_ok(
      "loss=2%,delay=20ms,jitter=5ms,dist=normal,reorder=1%,gap=3,dup=0.5%,corrupt=0.1%,"
      "rate=10mbit,queue=100pkt,aqm=codel,mtu=1400,seed=7");
  EXPECT_EQ(s.loss.kind, LossKind::kBernoulli);
  EXPECT_DOUBLE_EQ(s.loss.p, 0.02);
  EXPECT_EQ(s.delay, 20ms);
  EXPECT_EQ(s.jitter, 5ms);
  EXPECT_EQ(s.distribution, DelayDistribution::kNormal);
  EXPECT_DOUBLE_EQ(s.reorder, 0.01);
  EXPECT_EQ(s.reorder_gap, 3u);
  EXPECT_DOUBLE_EQ(s.duplicate, 0.005);
  EXPECT_DOUBLE_EQ(s.corrupt, 0.001);
  EXPECT_EQ(s.rate_bps, 10'000'000u);
  EXPECT_EQ(s.queue_limit, 100u);
  EXPECT_EQ(s.queue_unit, QueueUnit::kPackets);
  EXPECT_EQ(s.aqm, Aqm::kCoDel);
  EXPECT_EQ(s.mtu, 1400u);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_FALSE(s.is_identity());
}

TEST(ImpairSpec, GilbertElliottSubFieldsFollowLoss) {
  const Spec s = parse_ok("loss=ge:p=1%,r=30%,delay=20ms");
  EXPECT_EQ(s.loss.kind, LossKind::kGilbertElliott);
  EXPECT_DOUBLE_EQ(s.loss.p, 0.01);
  EXPECT_DOUBLE_EQ(s.loss.r, 0.3);
  EXPECT_EQ(s.loss.h, 0);
  EXPECT_EQ(s.loss.k, 1);
  EXPECT_EQ(s.delay, 20ms);
  const Spec t = parse_ok("delay=1ms, loss=ge:r=25%, p=0.5%, k=99%, h=10%");
  EXPECT_DOUBLE_EQ(t.loss.p, 0.005);
  EXPECT_DOUBLE_EQ(t.loss.r, 0.25);
  EXPECT_DOUBLE_EQ(t.loss.h, 0.10);
  EXPECT_DOUBLE_EQ(t.loss.k, 0.99);
}

TEST(ImpairSpec, UnitsAndAliases) {
  EXPECT_EQ(parse_ok("delay=20").delay, 20ms);
  EXPECT_EQ(parse_ok("delay=1.5s").delay, 1500ms);
  EXPECT_EQ(parse_ok("delay=250us").delay, 250us);
  EXPECT_EQ(parse_ok("delay=250\u00b5s").delay, 250us);  // micro sign
  EXPECT_EQ(parse_ok("delay=250\u03bcs").delay, 250us);  // Greek mu
  EXPECT_EQ(parse_ok("delay=7ns").delay, 7ns);
  EXPECT_EQ(parse_ok("delay=1.234567ms").delay, 1234567ns);
  EXPECT_EQ(parse_ok("jitter=0.1s").jitter, 100ms);
  EXPECT_EQ(parse_ok("rate=1.5mbit").rate_bps, 1'500'000u);
  EXPECT_EQ(parse_ok("distribution=pareto").distribution, DelayDistribution::kPareto);
  EXPECT_EQ(parse_ok("dist=paretonormal").distribution, DelayDistribution::kParetoNormal);
  EXPECT_DOUBLE_EQ(parse_ok("duplicate=1%").duplicate, 0.01);
  EXPECT_EQ(parse_ok("rate=64000bit").rate_bps, 64000u);
  EXPECT_EQ(parse_ok("rate=512kbit").rate_bps, 512000u);
  EXPECT_EQ(parse_ok("rate=1gbit").rate_bps, 1'000'000'000u);
  EXPECT_EQ(parse_ok("rate=10Mbit").rate_bps, 10'000'000u);
  EXPECT_EQ(parse_ok("rate=1000bps").rate_bps, 8000u);  // tc: bps is bytes per second
  EXPECT_EQ(parse_ok("rate=1kbps").rate_bps, 8000u);
  EXPECT_EQ(parse_ok("rate=1mbps").rate_bps, 8'000'000u);
  EXPECT_EQ(parse_ok("rate=1gbps").rate_bps, 8'000'000'000u);
  EXPECT_EQ(parse_ok("rate=0").rate_bps, 0u);
  EXPECT_EQ(parse_ok("queue=100").queue_limit, 100u);
  const Spec kb = parse_ok("queue=150kb");
  EXPECT_EQ(kb.queue_limit, 150'000u);
  EXPECT_EQ(kb.queue_unit, QueueUnit::kBytes);
  EXPECT_EQ(parse_ok("queue=64kib").queue_limit, 65536u);
  EXPECT_EQ(parse_ok("queue=1500b").queue_limit, 1500u);
  EXPECT_EQ(parse_ok("queue=1500b").queue_unit, QueueUnit::kBytes);
  EXPECT_EQ(parse_ok("aqm=droptail").aqm, Aqm::kDropTail);
  EXPECT_EQ(parse_ok("mtu=68").mtu, 68u);
  EXPECT_EQ(parse_ok("mtu=65535").mtu, 65535u);
  EXPECT_EQ(parse_ok("loss=100%").loss.p, 1.0);
  EXPECT_EQ(parse_ok("loss=0").loss.p, 0.0);
  EXPECT_TRUE(parse_ok("loss=0%").is_identity());
  EXPECT_TRUE(parse_ok("mtu=9000,seed=3").is_identity());
  EXPECT_FALSE(parse_ok("jitter=1ms").is_identity());
}

struct BadCase {
  const char* text;
  const char* mentions;  // the field (or word) the error must name
};

TEST(ImpairSpec, ErrorsNameTheField) {
  const BadCase cases[] = {
      {"lose=2%",
       "unknown field 'lose'; fields: loss, delay, jitter, dist, reorder, gap, dup, "
       "corrupt, rate, queue, aqm, mtu, seed"},
      {"loss=2", "N%"},
      {"loss=0.02", "ambiguous"},
      {"loss=101%", "at most 100%"},
      {"loss=-1%", "negative"},
      {"loss=abc", "loss"},
      {"loss=ge:p=1%", "p and r"},
      {"loss=ge", "loss"},
      {"loss=ge:p=1%,r=30%,p=2%", "twice"},
      {"loss=ge:p=1%,r=130%", "at most 100%"},
      {"delay=20ms,p=1%", "loss=ge:"},
      {"delay=20xs", "delay"},
      {"delay=-5ms", "negative"},
      {"delay=2min", "unknown unit"},
      {"delay=61s", "60s"},
      {"jitter=fast", "jitter"},
      {"dist=gauss", "dist takes"},
      {"reorder=1", "reorder"},
      {"gap=0", "gap"},
      {"gap=x", "gap"},
      {"dup=200%", "dup"},
      {"corrupt=0.1", "corrupt"},
      {"rate=10", "unit"},
      {"rate=10mb", "unknown unit 'mb'"},
      {"rate=fast", "rate"},
      {"queue=0", "queue"},
      {"queue=10kbit", "unknown unit"},
      {"queue=1.5kb", "whole number"},
      {"aqm=red", "aqm"},
      {"mtu=67", "mtu"},
      {"mtu=70000", "mtu"},
      {"seed=-1", "seed"},
      {"seed=1x", "seed"},
      {"delay=1ms,delay=2ms", "delay is given twice"},
      {"dup=1%,duplicate=1%", "dup is given twice"},
      {"delay=1ms,,loss=1%", "empty item"},
      {"delay=1ms,", "empty item"},
      {"delay", "delay"},
  };
  for (const auto& c : cases) {
    const std::string message = parse_error(c.text);
    EXPECT_NE(message.find("--impair: '"), std::string::npos) << message;
    EXPECT_NE(message.find(c.mentions), std::string::npos)
        << c.text << " -> " << message << " (expected to mention " << c.mentions << ")";
  }
}

TEST(ImpairSpec, CanonicalForm) {
  EXPECT_EQ(format_spec(parse_ok("seed=7,delay=20,loss=2%")), "loss=2%,delay=20ms,seed=7");
  EXPECT_EQ(format_spec(parse_ok("delay=1.5s,rate=1mbps,queue=64kib")),
            "delay=1500ms,rate=8mbit,queue=64kib");
  EXPECT_EQ(format_spec(parse_ok("loss=ge:p=1%,r=30%,k=99.5%")), "loss=ge:p=1%,r=30%,k=99.5%");
  EXPECT_EQ(format_spec(parse_ok("queue=100")), "queue=100pkt");
  EXPECT_EQ(format_spec(parse_ok("corrupt=0.001%")), "corrupt=0.001%");
}

void expect_round_trip(const Spec& s) {
  const std::string text = format_spec(s);
  auto back = parse_spec(text);
  ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
  EXPECT_EQ(*back, s) << text;
}

TEST(ImpairSpec, RoundTripsHandWritten) {
  for (const char* text :
       {"", "loss=0", "loss=0.5%", "loss=ge:p=0%,r=100%", "loss=ge:p=1%,r=30%,h=5%,k=99%",
        "delay=1ns,jitter=1us", "delay=3s,jitter=1.234567ms,dist=paretonormal", "reorder=25%,gap=5",
        "rate=1234567bit,queue=1b", "rate=7bps,queue=3mib", "queue=1mb,aqm=codel", "mtu=68",
        "seed=18446744073709551615", "dup=100%,corrupt=33.333%"}) {
    expect_round_trip(parse_ok(text));
  }
}

TEST(ImpairSpec, RoundTripsRandomSpecs) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0, 1);
  const auto any = [&](uint64_t n) { return rng() % n; };
  for (int i = 0; i < 3000; ++i) {
    Spec s;
    switch (any(3)) {
      case 0:
        break;
      case 1:
        s.loss = {LossKind::kBernoulli, unit(rng)};
        break;
      default:
        s.loss = {LossKind::kGilbertElliott, unit(rng), unit(rng), unit(rng), unit(rng)};
    }
    // Arbitrary doubles in [0, 1], not just tidy percentages.
    if (any(2)) s.delay = std::chrono::nanoseconds(static_cast<int64_t>(any(60'000'000'001)));
    if (any(2)) s.jitter = std::chrono::nanoseconds(static_cast<int64_t>(any(1'000'000'000)));
    s.distribution = static_cast<DelayDistribution>(any(4));
    if (any(2)) s.reorder = any(2) ? unit(rng) : 1.0;
    s.reorder_gap = static_cast<uint32_t>(1 + any(1000));
    if (any(2)) s.duplicate = unit(rng) * 1e-6;
    if (any(2)) s.corrupt = unit(rng);
    if (any(2)) s.rate_bps = 1 + any(1'000'000'000'000);
    s.queue_unit = any(2) ? QueueUnit::kBytes : QueueUnit::kPackets;
    s.queue_limit = 1 + any(any(2) ? 5000 : 1u << 30);
    s.aqm = any(2) ? Aqm::kCoDel : Aqm::kDropTail;
    s.mtu = static_cast<uint32_t>(68 + any(65535 - 68 + 1));
    if (any(2)) s.seed = rng();
    expect_round_trip(s);
  }
}

TEST(ImpairSpec, HelpListsEveryField) {
  const std::string help = spec_help();
  for (const char* field : {"loss", "delay", "jitter", "dist", "reorder", "gap", "dup", "corrupt",
                            "rate", "queue", "aqm", "mtu", "seed"}) {
    EXPECT_NE(help.find(std::string("  ") + field + " "), std::string::npos) << field;
  }
}

}  // namespace
}  // namespace chat::impair
