// MinHash signatures and LSH band keys: the near-duplicate stage's inner loop.
#pragma once

#include <cstdint>
#include <vector>

#include "gtn/curate.h"

namespace gtn::curate {

// Writes num_perm values into sig (resized) for unsorted, possibly repeated hashes.
// Returns false when `hashes` is empty (sig is then all 0xFFFFFFFF).
bool minhash_into(const uint64_t* hashes, size_t count, int num_perm, uint64_t seed, std::vector<uint32_t>& sig,
                  std::vector<uint8_t>& filled);

// One 64-bit key per band: XXH3 of the band's `rows` values, seeded by the band number.
void band_keys(const std::vector<uint32_t>& sig, const LshParams& p, uint64_t* keys);

}  // namespace gtn::curate
