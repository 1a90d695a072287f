// Seeded random streams. Every source of randomness in a run draws from its own stream, derived from the run's seed
// and the stream's name, so adding a stream never shifts another's numbers. The distributions are written here (not
// std::*_distribution, whose algorithms differ between standard libraries) so results are the same everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>

namespace mksim {

class Rng {
 public:
  Rng(uint64_t seed, std::string_view stream) : gen_(mix(seed, stream)) {}

  uint64_t bits() { return gen_(); }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return n ? static_cast<uint64_t>(uniform() * static_cast<double>(n)) % n : 0; }
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }

  static uint64_t mix(uint64_t seed, std::string_view stream) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;  // FNV-1a over the stream name, then splitmix64
    for (char c : stream) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    h += 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
  }

 private:
  std::mt19937_64 gen_;
};

}  // namespace mksim
