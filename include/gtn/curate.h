// GTN-Curate: deduplication of datasets (docs/curate.md).
//
// dedup() finds copies among the rows of a dataset and records them without deleting
// anything: a `cluster_id` tensor (the smallest row of the row's cluster), a
// `duplicate_of` tensor (-1 for the row a cluster keeps, else the kept row) and the rows
// kept (one per cluster), then commits. Stages:
//   exact    content hash (XXH3-128) of one or more tensors, text optionally normalized;
//   minhash  near-duplicate text: MinHash (one-permutation hashing with optimal
//            densification) over word or character n-grams, LSH with bands x rows chosen
//            from the Jaccard threshold, every candidate pair verified by exact Jaccard of
//            the n-gram sets, clusters by union-find;
//   image    near-duplicate images: 64-bit pHash or dHash, pairs within a Hamming radius;
//   semantic on an embedding tensor: k-means, then pairs within a cluster whose exact
//            cosine similarity reaches the threshold (SemDeDup).
// Every stage adds edges to one union-find over the rows; a cluster keeps one row by the
// keep policy (first, longest text, highest score). Same input and seed, same result.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::curate {

// --- text normalization and n-grams ---

struct TextNormalization {
  bool lowercase = true;    // Unicode case folding (ASCII fast path)
  bool punctuation = true;  // punctuation becomes a word break
  bool whitespace = true;   // runs of whitespace become one space; ends trimmed
  bool nfkc = true;         // Unicode NFKC (only texts with non-ASCII bytes pay for it)
};

// The normalized text. InvalidArgument when `text` is not valid UTF-8 (names the offset).
Result<std::string> normalize_text(std::string_view text, const TextNormalization& norm);
// Byte offset of the first byte that is not valid UTF-8, or text.size() when valid.
size_t find_invalid_utf8(std::string_view text);

enum class NgramUnit : uint8_t { kWord = 0, kChar = 1 };
// "word", "char".
Result<NgramUnit> parse_ngram_unit(std::string_view name);

struct NgramOptions {
  NgramUnit unit = NgramUnit::kWord;
  int n = 5;  // words or Unicode code points per n-gram, >= 1
  TextNormalization normalization;
};

// Sorted, distinct 64-bit hashes of the n-grams of `text` (normalized first). A text with
// fewer than n units gives one n-gram (the whole text); an empty text gives none.
Result<std::vector<uint64_t>> ngram_hashes(std::string_view text, const NgramOptions& options);
// |a ∩ b| / |a ∪ b| of two sorted distinct lists (1 when both are empty).
double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

// --- MinHash and LSH ---

// `num_perm` MinHash values of a set of 64-bit hashes by one-permutation hashing with
// optimal densification (Shrivastava 2017): P[sig_a[k] == sig_b[k]] = J(a, b) for every k.
// An empty set gives all 0xFFFFFFFF.
std::vector<uint32_t> minhash_signature(const std::vector<uint64_t>& hashes, int num_perm, uint64_t seed);

struct LshParams {
  int bands = 0;
  int rows = 0;  // signature values per band; bands * rows <= num_perm
};
// P(a pair of Jaccard s becomes a candidate) = 1 - (1 - s^rows)^bands.
double lsh_candidate_probability(double s, const LshParams& p);
// The (bands, rows) with bands * rows <= num_perm that gives the fewest candidates below
// `threshold` while P(candidate) >= target_recall at the threshold (so at least there
// for every pair above it). InvalidArgument for a threshold outside (0, 1].
Result<LshParams> choose_lsh_params(double threshold, int num_perm, double target_recall = 0.99);
// The S-curve as text: P(candidate) for Jaccard 0.1, 0.2, ..., 1.0 and at the threshold.
std::string s_curve_text(const LshParams& p, double threshold);

// --- perceptual image hashes ---

enum class ImageHashKind : uint8_t { kPHash = 0, kDHash = 1 };
// "phash", "dhash".
Result<ImageHashKind> parse_image_hash_kind(std::string_view name);
// 64-bit hash of an image (uint8, (H, W) or (H, W, C) with C in 1..4; alpha ignored),
// computed as the `imagehash` package does: dHash compares neighbouring pixels of a 9x8
// greyscale thumbnail; pHash thresholds the 8x8 low frequencies of the 2-d DCT of a 32x32
// thumbnail at their median.
Result<uint64_t> image_hash(const Array& image, ImageHashKind kind);

// --- the pipeline ---

// --- building blocks of distributed runs (gtn.curate.dask, docs/curate.md) ---

// What the exact and minhash stages compute for rows [begin, begin + rows) of the text
// tensor; the same values whichever process computes them.
struct TextRowHashes {
  uint64_t begin = 0;
  int bands = 0;
  std::vector<uint64_t> exact;   // 2 per row (XXH3-128)
  std::vector<uint64_t> keys;    // `bands` LSH keys per row
  std::vector<uint64_t> length;  // text bytes
  std::vector<uint8_t> empty;    // 1: no n-gram
};

struct DedupOptions;
// Hashes rows [begin, end) as dedup() with `options` does (its stages must include exact
// or minhash on a text tensor).
Result<TextRowHashes> hash_text_rows(const Dataset& dataset, const DedupOptions& options, uint64_t begin, uint64_t end);
// Exact Jaccard of candidate pairs, each packed as a << 32 | b.
Result<std::vector<double>> verify_text_pairs(const Dataset& dataset, const DedupOptions& options,
                                              const std::vector<uint64_t>& pairs);

// Where dedup() runs its two parallel phases; unset members run in this process. The
// results must be what hash_text_rows and verify_text_pairs return (e.g. those functions
// run on other machines over the same committed dataset), so the outcome is the same.
struct DedupExecutor {
  // Hashes of rows [begin, end), as consecutive parts in row order.
  std::function<Result<std::vector<TextRowHashes>>(uint64_t begin, uint64_t end)> hash_rows;
  // Jaccard of each pair, in order.
  std::function<Result<std::vector<double>>(const std::vector<uint64_t>& pairs)> verify;
};

enum class KeepPolicy : uint8_t { kFirst = 0, kLongest = 1, kHighestScore = 2 };
// "first", "longest", "score".
Result<KeepPolicy> parse_keep_policy(std::string_view name);

enum class Stage : uint8_t { kExact = 0, kMinHash = 1, kImage = 2, kSemantic = 3 };
// "exact", "minhash", "image", "semantic".
Result<Stage> parse_stage(std::string_view name);
std::string_view stage_name(Stage s);
// "exact+minhash" -> {kExact, kMinHash}; "all" is not accepted (say what you want).
Result<std::vector<Stage>> parse_stages(std::string_view method);

struct DedupOptions {
  std::vector<Stage> stages = {Stage::kExact, Stage::kMinHash};
  // The text tensor (exact, minhash), or image tensor (image), or embedding tensor
  // (semantic). The exact stage hashes every tensor of `exact_tensors` together when set.
  std::string tensor = "text";
  std::vector<std::string> exact_tensors;
  bool normalize_exact = true;  // exact on normalized text (`ngrams.normalization`)
  NgramOptions ngrams;
  double threshold = 0.8;       // Jaccard (minhash), cosine similarity (semantic)
  int num_perm = 128;
  LshParams lsh;                // unset (0): chosen from threshold and num_perm
  double lsh_target_recall = 0.99;
  ImageHashKind image_hash = ImageHashKind::kPHash;
  int hamming_radius = 10;      // image: pairs with at most this many differing bits
  int semantic_clusters = 0;    // k-means k; 0: about sqrt(rows)
  int kmeans_iterations = 20;
  KeepPolicy keep = KeepPolicy::kFirst;
  std::string score_tensor;     // KeepPolicy::kHighestScore: a numeric scalar tensor
  // Empty texts: false -> InvalidArgument naming the row; true -> each is kept, alone.
  bool allow_empty = false;
  uint64_t seed = 42;
  int n_threads = 0;            // 0: every core
  // Bound on the n-gram sets held at once while verifying candidates (about 8 bytes per
  // n-gram); the signatures themselves take bands x 8 bytes per row.
  uint64_t memory_budget_bytes = 512ull << 20;
  // Outputs. write_tensors: create/update `cluster_tensor` and `duplicate_tensor`
  // (int64 scalars). commit_message: commit afterwards when non-empty.
  bool write_tensors = true;
  std::string cluster_tensor = "cluster_id";
  std::string duplicate_tensor = "duplicate_of";
  std::string commit_message = "dedup";
  // After the commit, the kept rows are saved as a view of it under this name (replacing
  // one of that name; docs/query.md "Views"). Empty: no view.
  std::string view_name = "dedup-keep";
  // Incremental runs: when set, dedup() reads the index at this path (if it exists and
  // covers a prefix of the rows), hashes only the rows after it, and writes the index
  // for every row back. The result equals that of a run without an index.
  std::string index_path;
  // Up to this many example matches per stage in the report.
  int max_examples = 5;
  // Where the hashing and verification run (default: here, on n_threads threads).
  DedupExecutor executor;
  std::function<void(const std::string& stage, uint64_t done, uint64_t total)> progress;
};

struct DedupExample {
  std::string stage;
  uint64_t row = 0;
  uint64_t matched_row = 0;
  double similarity = 1.0;  // Jaccard, 1 - hamming/64, or cosine
};

struct StageCount {
  std::string stage;
  uint64_t candidate_pairs = 0;  // pairs the stage examined (after LSH/bucketing)
  uint64_t matched_pairs = 0;    // pairs that passed verification
  uint64_t rejected_pairs = 0;   // candidates verification refused (LSH false positives)
  uint64_t rows_removed = 0;     // rows this stage made duplicates (beyond earlier stages)
  double seconds = 0;
};

struct DedupReport {
  uint64_t rows = 0;
  uint64_t rows_kept = 0;
  uint64_t rows_removed = 0;
  uint64_t empty_rows = 0;
  uint64_t clusters = 0;          // clusters of two or more rows
  uint64_t largest_cluster = 0;
  std::map<uint64_t, uint64_t> cluster_sizes;  // size -> number of clusters (size >= 2)
  std::vector<StageCount> stages;
  std::vector<DedupExample> examples;
  LshParams lsh;
  std::string s_curve;
  std::vector<int64_t> cluster_id;    // per row
  std::vector<int64_t> duplicate_of;  // per row; -1 = kept
  std::vector<uint64_t> keep_rows;    // ascending
  std::string commit;                 // the commit made, if any
  std::string view;                   // the saved view of the kept rows, if any
  uint64_t rows_indexed_before = 0;   // incremental: rows the index already covered
  uint64_t rows_hashed = 0;           // rows whose content was hashed in this run
  double seconds = 0;
  uint64_t peak_signature_bytes = 0;  // memory held by LSH keys and verification sets
};

// Runs the stages on `dataset` (a writable dataset when write_tensors or a commit is
// asked for; reads only otherwise). Nothing is deleted. Errors (InvalidArgument): a
// missing tensor (lists the tensors), a tensor of the wrong htype, an empty or non-UTF-8
// text (names the row), a NaN in an embedding (names the row), a threshold outside (0, 1].
Result<DedupReport> dedup(Dataset& dataset, const DedupOptions& options);
// Same without writing: `dataset` is only read.
Result<DedupReport> find_duplicates(const Dataset& dataset, const DedupOptions& options);

// The report as JSON (everything but the per-row vectors) and as text.
std::string report_json(const DedupReport& report);
std::string report_text(const DedupReport& report);

}  // namespace gtn::curate
