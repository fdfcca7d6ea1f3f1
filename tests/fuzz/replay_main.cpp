// Runs a fuzz target without libFuzzer, so CI exercises every target on every build: the seed
// files named on the command line, then a bounded number of deterministic pseudo-random inputs
// (mutations of the seeds and of nothing). The real fuzzer is scripts/fuzz.sh (clang, libFuzzer).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  seeds.emplace_back();
  for (const auto& s : seeds)
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  std::mt19937 rng(20261126);
  constexpr int kRounds = 20000;
  for (int i = 0; i < kRounds; ++i) {
    std::string input = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 4) {
        case 0:
          if (!input.empty()) input[rng() % input.size()] = static_cast<char>(rng());
          break;
        case 1:
          input.insert(input.begin() + (input.empty() ? 0 : rng() % input.size()),
                       static_cast<char>(rng()));
          break;
        case 2:
          if (!input.empty()) input.erase(rng() % input.size(), 1 + rng() % 8);
          break;
        default:
          input.append(seeds[rng() % seeds.size()]);
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  std::printf("replayed %zu seeds and %d mutated inputs\n", seeds.size(), kRounds);
  return 0;
}
