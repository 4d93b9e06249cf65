// N-gram hashing without per-call allocations: the pipeline's inner loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/curate.h"

namespace gtn::curate {

// Reused buffers of one thread.
struct NgramScratch {
  std::string normalized;
  std::vector<uint64_t> tokens;   // per-word hashes
  std::vector<uint32_t> offsets;  // code-point starts (char n-grams)
};

// Normalizes `text` into `out` (cleared first). InvalidArgument on bad UTF-8.
Status normalize_into(std::string_view text, const TextNormalization& norm, std::string& out);

// Appends the hashes of the n-grams of already normalized text to `out` (unsorted,
// possibly repeated).
void ngram_hashes_of_normalized(std::string_view normalized, const NgramOptions& options, NgramScratch& scratch,
                                std::vector<uint64_t>& out);

// Sorts and removes repeats.
void sort_unique(std::vector<uint64_t>& v);

}  // namespace gtn::curate
