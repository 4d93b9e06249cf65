// The exact and MinHash stages over a text tensor: hashing rows, LSH candidates and their
// verification by exact Jaccard.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gtn/curate.h"
#include "gtn/dataset.h"
#include "gtn/curate/union_find.h"

namespace gtn::curate {

// What hashing a row yields; one entry per row.
struct RowHashes {
  std::vector<std::array<uint64_t, 2>> exact;  // XXH3-128 of the (normalized) content
  std::vector<uint64_t> keys;                  // rows x bands LSH keys (minhash stage)
  std::vector<uint64_t> length;                // text bytes (keep policy "longest")
  std::vector<uint8_t> empty;                  // the text has no n-gram
  int bands = 0;
  size_t rows() const { return length.size(); }
  void resize(size_t n) {
    exact.resize(n);
    keys.resize(n * static_cast<size_t>(bands));
    length.resize(n);
    empty.resize(n);
  }
};

struct TextPlan {
  size_t tensor_index = 0;
  bool exact = false;      // hash the text for the exact stage
  bool exact_normalized = true;
  bool minhash = false;
  NgramOptions ngrams;
  int num_perm = 128;
  LshParams lsh;
  uint64_t seed = 42;
  bool allow_empty = false;
  int threads = 1;
  std::string tensor;
};

// Hashes rows [begin, end) of the text tensor into out (already sized to >= end).
Status hash_text_rows(const Dataset& ds, const TextPlan& plan, uint64_t begin, uint64_t end, RowHashes& out,
                      const std::function<void(uint64_t, uint64_t)>& progress);

// Hashes rows [begin, end) of several tensors together (raw bytes, dtype and shape).
Status hash_rows_raw(const Dataset& ds, const std::vector<size_t>& tensor_indices, uint64_t begin, uint64_t end,
                     RowHashes& out);

// Unites rows with equal exact hashes (empty rows stay alone). Returns rows united.
uint64_t unite_exact(const RowHashes& h, uint64_t n, UnionFind& uf);

// Candidate pairs (a < b, packed a << 32 | b), sorted and distinct: rows sharing an LSH
// key, among the rows that represent their exact group (`rep[row] == row`). With
// `first_new` > 0 only pairs with b >= first_new (pairs among older rows were settled).
// Buckets with more than `max_bucket` members pair each member with the bucket's first
// only; their number is added to *oversized.
std::vector<uint64_t> lsh_candidates(const RowHashes& h, const std::vector<uint64_t>& rep, uint64_t n,
                                     uint64_t first_new, size_t max_bucket, uint64_t* oversized);

// Exact Jaccard of each candidate pair, n-gram sets built for at most `budget_bytes` at a
// time. jaccard_out[i] belongs to pairs[i].
Status verify_pairs(const Dataset& ds, const TextPlan& plan, const RowHashes& h, const std::vector<uint64_t>& pairs,
                    uint64_t budget_bytes, std::vector<double>& jaccard_out, uint64_t* peak_bytes,
                    const std::function<void(uint64_t, uint64_t)>& progress);

}  // namespace gtn::curate
