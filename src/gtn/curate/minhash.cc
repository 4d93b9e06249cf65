// One-permutation MinHash with optimal densification, LSH parameters and the S-curve.
#include "gtn/curate/minhash.h"

#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace gtn::curate {
namespace {

inline uint64_t mix64(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

bool minhash_into(const uint64_t* hashes, size_t count, int num_perm, uint64_t seed, std::vector<uint32_t>& sig,
                  std::vector<uint8_t>& filled) {
  const uint32_t k = static_cast<uint32_t>(num_perm);
  sig.assign(k, 0xFFFFFFFFu);
  filled.assign(k, 0);
  if (count == 0) return false;
  const uint64_t salt = mix64(seed ^ 0x9e3779b97f4a7c15ull);
  uint32_t* s = sig.data();
  uint8_t* f = filled.data();
  for (size_t i = 0; i < count; ++i) {
    uint64_t x = mix64(hashes[i] ^ salt);
    uint32_t bin = static_cast<uint32_t>(((x >> 32) * k) >> 32);
    uint32_t v = static_cast<uint32_t>(x);
    if (v < s[bin]) s[bin] = v;
    f[bin] = 1;
  }
  // Optimal densification: an empty bin takes the value of the first non-empty bin in a
  // sequence of bins drawn from (seed, bin, attempt), the same sequence for every set.
  std::vector<uint32_t> dense;
  bool any_empty = false;
  for (uint32_t j = 0; j < k; ++j) any_empty |= !f[j];
  if (!any_empty) return true;
  dense = sig;
  for (uint32_t j = 0; j < k; ++j) {
    if (f[j]) continue;
    for (uint64_t attempt = 1;; ++attempt) {
      uint64_t r = mix64(salt ^ (static_cast<uint64_t>(j) << 32) ^ attempt);
      uint32_t other = static_cast<uint32_t>(((r >> 32) * k) >> 32);
      if (f[other]) {
        dense[j] = sig[other];
        break;
      }
    }
  }
  sig.swap(dense);
  return true;
}

std::vector<uint32_t> minhash_signature(const std::vector<uint64_t>& hashes, int num_perm, uint64_t seed) {
  std::vector<uint32_t> sig;
  std::vector<uint8_t> filled;
  minhash_into(hashes.data(), hashes.size(), num_perm, seed, sig, filled);
  return sig;
}

void band_keys(const std::vector<uint32_t>& sig, const LshParams& p, uint64_t* keys) {
  for (int b = 0; b < p.bands; ++b) {
    keys[b] = XXH3_64bits_withSeed(sig.data() + static_cast<size_t>(b) * p.rows,
                                   static_cast<size_t>(p.rows) * sizeof(uint32_t), static_cast<uint64_t>(b));
  }
}

double lsh_candidate_probability(double s, const LshParams& p) {
  return 1.0 - std::pow(1.0 - std::pow(s, p.rows), p.bands);
}

Result<LshParams> choose_lsh_params(double threshold, int num_perm, double target_recall) {
  if (!(threshold > 0.0 && threshold <= 1.0)) {
    return Status::InvalidArgument("threshold must be in (0, 1], got " + std::to_string(threshold));
  }
  if (num_perm < 1 || num_perm > 4096) {
    return Status::InvalidArgument("num_perm must be in [1, 4096], got " + std::to_string(num_perm));
  }
  if (!(target_recall > 0.0 && target_recall < 1.0)) {
    return Status::InvalidArgument("target recall must be in (0, 1), got " + std::to_string(target_recall));
  }
  // For each rows-per-band r, as many bands as fit; the candidate mass below the threshold
  // (the area under the S-curve on [0, t]) is what verification pays for.
  LshParams best;
  double best_area = std::numeric_limits<double>::infinity();
  LshParams fallback{num_perm, 1};
  for (int r = 1; r <= num_perm; ++r) {
    LshParams p{num_perm / r, r};
    if (lsh_candidate_probability(threshold, p) < target_recall) continue;
    double area = 0;
    const int steps = 200;
    for (int i = 0; i < steps; ++i) {
      double s = threshold * (i + 0.5) / steps;
      area += lsh_candidate_probability(s, p) * threshold / steps;
    }
    if (area < best_area) {
      best_area = area;
      best = p;
    }
  }
  if (best.bands == 0) return fallback;  // even r = 1 misses the target: use every value
  return best;
}

std::string s_curve_text(const LshParams& p, double threshold) {
  std::string out = "LSH " + std::to_string(p.bands) + " bands x " + std::to_string(p.rows) +
                    " rows: P(candidate) = 1 - (1 - J^" + std::to_string(p.rows) + ")^" + std::to_string(p.bands) + "\n";
  char line[160];
  for (int i = 1; i <= 10; ++i) {
    double s = i / 10.0;
    double pr = lsh_candidate_probability(s, p);
    int bar = static_cast<int>(std::lround(pr * 40));
    std::snprintf(line, sizeof line, "  J=%.2f  %.4f  %s\n", s, pr, std::string(static_cast<size_t>(bar), '#').c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "  at the threshold J=%.3f: %.4f\n", threshold, lsh_candidate_probability(threshold, p));
  out += line;
  return out;
}

}  // namespace gtn::curate
