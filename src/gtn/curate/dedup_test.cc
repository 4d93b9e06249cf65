// Tests of the curate module: normalization, n-grams, MinHash/LSH against exact
// references, the pipeline against a brute-force all-pairs reference, keep policies,
// incremental runs, image hashes, the semantic stage and bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "gtn/curate.h"
#include "gtn/dataset.h"

namespace gtn::curate {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("gtn_curate_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::vector<std::string> vocabulary(size_t n, std::mt19937_64& rng) {
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) {
    std::string w;
    size_t len = 3 + rng() % 6;
    for (size_t k = 0; k < len; ++k) w.push_back(static_cast<char>('a' + rng() % 26));
    v.push_back(w);
  }
  return v;
}

std::vector<std::string> random_words(size_t n, const std::vector<std::string>& vocab, std::mt19937_64& rng) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(vocab[rng() % vocab.size()]);
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

// Reference: the set of word 5-grams as strings.
std::set<std::string> ref_ngrams(const std::vector<std::string>& words, size_t n) {
  std::set<std::string> out;
  if (words.size() <= n) {
    out.insert(join(words));
    return out;
  }
  for (size_t i = 0; i + n <= words.size(); ++i) {
    out.insert(join(std::vector<std::string>(words.begin() + static_cast<long>(i), words.begin() + static_cast<long>(i + n))));
  }
  return out;
}

double ref_jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  size_t inter = 0;
  for (const std::string& x : a) inter += b.count(x);
  return static_cast<double>(inter) / static_cast<double>(a.size() + b.size() - inter);
}

// A copy with a fraction of words replaced.
std::vector<std::string> mutate(std::vector<std::string> w, double fraction, const std::vector<std::string>& vocab,
                                std::mt19937_64& rng) {
  for (auto& x : w) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < fraction) x = vocab[rng() % vocab.size()];
  }
  return w;
}

TensorSpec spec_of(const std::string& name, const std::string& htype, std::optional<DType> dtype = std::nullopt) {
  TensorSpec s;
  s.name = name;
  s.htype = htype;
  s.dtype = dtype;
  return s;
}

TEST(Normalize, AsciiFoldsCasePunctuationAndSpaces) {
  EXPECT_EQ(*normalize_text("  Hello,   World!\n\tFoo-bar ", {}), "hello world foo bar");
  TextNormalization keep_punct;
  keep_punct.punctuation = false;
  EXPECT_EQ(*normalize_text("Hello,  World!", keep_punct), "hello, world!");
}

TEST(Normalize, UnicodeNfkcAndCaseFolding) {
  // U+FB01 (fi ligature), fullwidth letters, German sharp s folded, a non-breaking space.
  EXPECT_EQ(*normalize_text("\xEF\xAC\x81ne \xEF\xBC\xA8\xEF\xBD\x85llo Stra\xC3\x9F" "e\xC2\xA0X\xE2\x80\x94y", {}),
            "fine hello strasse x y");
  TextNormalization no_nfkc;
  no_nfkc.nfkc = false;
  EXPECT_EQ(*normalize_text("\xC3\x89T\xC3\x89", no_nfkc), "\xC3\xA9t\xC3\xA9");
}

TEST(Normalize, InvalidUtf8IsAnErrorNamingTheOffset) {
  Result<std::string> r = normalize_text(std::string("ab\xC3(cd", 6), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(r.status().message().find("offset 2"), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9"), 5u);
  EXPECT_EQ(find_invalid_utf8(std::string("\xED\xA0\x80", 3)), 0u);  // a UTF-16 surrogate
}

TEST(Ngrams, CountsAndJaccardMatchAStringReference) {
  std::mt19937_64 rng(7);
  auto vocab = vocabulary(300, rng);
  for (int trial = 0; trial < 40; ++trial) {
    auto a = random_words(1 + rng() % 200, vocab, rng);
    auto b = mutate(a, 0.05 * (trial % 8), vocab, rng);
    auto ha = *ngram_hashes(join(a), {});
    auto hb = *ngram_hashes(join(b), {});
    auto ra = ref_ngrams(a, 5), rb = ref_ngrams(b, 5);
    EXPECT_EQ(ha.size(), ra.size());
    EXPECT_DOUBLE_EQ(jaccard(ha, hb), ref_jaccard(ra, rb));
  }
}

TEST(Ngrams, CharacterNgramsCountCodePoints) {
  NgramOptions o;
  o.unit = NgramUnit::kChar;
  o.n = 3;
  EXPECT_EQ(ngram_hashes("abcab", o)->size(), 3u);             // abc bca cab
  EXPECT_EQ(ngram_hashes("\xC3\xA9\xC3\xA9\xC3\xA9", o)->size(), 1u);  // one 3-gram of é
  EXPECT_EQ(ngram_hashes("", o)->size(), 0u);
}

TEST(MinHash, EstimatesJaccardWithinItsStandardError) {
  std::mt19937_64 rng(11);
  const int k = 256;
  double total_error = 0;
  int pairs = 0;
  for (double target : {0.2, 0.5, 0.8, 0.95}) {
    for (int t = 0; t < 10; ++t) {
      // Two sets of 2000 with |a ∩ b| chosen for the target Jaccard.
      size_t inter = static_cast<size_t>(std::lround(2 * 2000 * target / (1 + target)));
      std::vector<uint64_t> a, b;
      for (size_t i = 0; i < inter; ++i) {
        uint64_t x = rng();
        a.push_back(x);
        b.push_back(x);
      }
      while (a.size() < 2000) a.push_back(rng());
      while (b.size() < 2000) b.push_back(rng());
      double exact = static_cast<double>(inter) / (4000.0 - inter);
      auto sa = minhash_signature(a, k, 3), sb = minhash_signature(b, k, 3);
      int eq = 0;
      for (int i = 0; i < k; ++i) eq += sa[static_cast<size_t>(i)] == sb[static_cast<size_t>(i)];
      double est = static_cast<double>(eq) / k;
      double sd = std::sqrt(exact * (1 - exact) / k);
      EXPECT_LE(std::abs(est - exact), 4 * sd + 1e-9) << "J=" << exact;
      total_error += est - exact;
      ++pairs;
    }
  }
  EXPECT_LT(std::abs(total_error / pairs), 0.01);  // unbiased on average
}

TEST(MinHash, DensificationKeepsShortSetsComparable) {
  std::vector<uint64_t> a = {1, 2, 3}, b = {1, 2, 3};
  EXPECT_EQ(minhash_signature(a, 128, 1), minhash_signature(b, 128, 1));
  auto empty = minhash_signature({}, 16, 1);
  EXPECT_EQ(empty, std::vector<uint32_t>(16, 0xFFFFFFFFu));
}

TEST(Lsh, ParametersMeetTheRecallTargetAtTheThreshold) {
  for (double t : {0.5, 0.7, 0.8, 0.9}) {
    LshParams p = *choose_lsh_params(t, 128, 0.99);
    EXPECT_LE(p.bands * p.rows, 128);
    EXPECT_GE(lsh_candidate_probability(t, p), 0.99);
    EXPECT_LT(lsh_candidate_probability(t / 3, p), 0.2);
  }
  EXPECT_FALSE(choose_lsh_params(0.0, 128).ok());
  EXPECT_FALSE(choose_lsh_params(1.5, 128).ok());
  EXPECT_FALSE(choose_lsh_params(std::nan(""), 128).ok());
  EXPECT_NE(s_curve_text(*choose_lsh_params(0.8, 128), 0.8).find("J=0.80"), std::string::npos);
}

// A dataset of texts with planted near-duplicates; returns the word lists.
std::vector<std::vector<std::string>> make_corpus(Dataset& ds, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto vocab = vocabulary(2000, rng);
  std::vector<std::vector<std::string>> docs;
  for (size_t i = 0; i < n; ++i) {
    uint64_t kind = rng() % 10;
    if (kind < 3 && !docs.empty()) {
      docs.push_back(mutate(docs[rng() % docs.size()], 0.01 * (rng() % 8), vocab, rng));
    } else if (kind == 3 && !docs.empty()) {
      docs.push_back(docs[rng() % docs.size()]);
    } else {
      docs.push_back(random_words(20 + rng() % 200, vocab, rng));
    }
  }
  TensorSpec spec;
  spec.name = "text";
  spec.htype = "text";
  EXPECT_TRUE(ds.create_tensor(spec).ok());
  SampleBatch batch;
  for (auto& d : docs) batch["text"].push_back(Array::Text(join(d)));
  EXPECT_TRUE(ds.extend(batch).ok());
  EXPECT_TRUE(ds.flush().ok());
  return docs;
}

// Brute force: components of the graph of pairs with 5-gram Jaccard >= t.
std::vector<uint64_t> reference_components(const std::vector<std::vector<std::string>>& docs, double t) {
  std::vector<std::set<std::string>> sets;
  for (auto& d : docs) sets.push_back(ref_ngrams(d, 5));
  std::vector<uint64_t> parent(docs.size());
  std::iota(parent.begin(), parent.end(), uint64_t{0});
  std::function<uint64_t(uint64_t)> find = [&](uint64_t x) { return parent[x] == x ? x : parent[x] = find(parent[x]); };
  for (size_t i = 0; i < docs.size(); ++i) {
    for (size_t j = i + 1; j < docs.size(); ++j) {
      if (ref_jaccard(sets[i], sets[j]) >= t) {
        uint64_t a = find(i), b = find(j);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
    }
  }
  std::vector<uint64_t> out(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) out[i] = find(i);
  return out;
}

TEST(Dedup, MatchesTheAllPairsReferenceAndWritesItsTensors) {
  TempDir dir;
  auto ds = *Dataset::Open(dir.path("ds"));
  auto docs = make_corpus(*ds, 400, 5);
  std::vector<uint64_t> ref = reference_components(docs, 0.8);
  DedupOptions o;
  o.n_threads = 2;
  DedupReport r = *dedup(*ds, o);
  ASSERT_EQ(r.cluster_id.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(static_cast<uint64_t>(r.cluster_id[i]), ref[i]) << "row " << i;
  EXPECT_GT(r.rows_removed, 50u);
  // The outputs are in the dataset and committed; keep rows are the clusters' first rows.
  EXPECT_FALSE(r.commit.empty());
  EXPECT_FALSE(ds->has_uncommitted_changes());
  size_t ci = *ds->tensor_index("cluster_id"), di = *ds->tensor_index("duplicate_of");
  for (uint64_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(*ds->read(ci, i)->data_as<int64_t>(), r.cluster_id[i]);
    EXPECT_EQ(*ds->read(di, i)->data_as<int64_t>(), r.duplicate_of[i]);
    bool kept = std::binary_search(r.keep_rows.begin(), r.keep_rows.end(), i);
    EXPECT_EQ(kept, r.duplicate_of[i] == -1);
    EXPECT_EQ(kept, r.cluster_id[i] == static_cast<int64_t>(i));  // keep "first"
  }
  // A second run changes nothing and so commits nothing.
  DedupReport again = *dedup(*ds, o);
  EXPECT_EQ(again.cluster_id, r.cluster_id);
  EXPECT_TRUE(again.commit.empty());
  // The same with one thread.
  o.n_threads = 1;
  EXPECT_EQ(find_duplicates(*ds, o)->cluster_id, r.cluster_id);
}

TEST(Dedup, KeepPolicies) {
  TempDir dir;
  auto ds = *Dataset::Open(dir.path("ds"));
  TensorSpec text = spec_of("text", "text");
  TensorSpec score = spec_of("score", "generic", DType::kFloat32);
  ASSERT_TRUE(ds->create_tensor(text).ok());
  ASSERT_TRUE(ds->create_tensor(score).ok());
  std::string base = "the quick brown fox jumps over the lazy dog and then runs far away into the woods";
  std::vector<std::string> texts = {base, base + " today", "something else entirely unrelated here", base};
  std::vector<float> scores = {0.1f, 0.2f, 0.5f, 0.9f};
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_TRUE(ds->append({{"text", Array::Text(texts[i])}, {"score", Array::Scalar<float>(DType::kFloat32, scores[i])}}).ok());
  }
  DedupOptions o;
  o.write_tensors = false;
  o.commit_message = "";
  o.threshold = 0.7;
  DedupReport first = *dedup(*ds, o);
  EXPECT_EQ(first.duplicate_of, (std::vector<int64_t>{-1, 0, -1, 0}));
  o.keep = KeepPolicy::kLongest;
  EXPECT_EQ(dedup(*ds, o)->duplicate_of, (std::vector<int64_t>{1, -1, -1, 1}));
  o.keep = KeepPolicy::kHighestScore;
  o.score_tensor = "score";
  DedupReport best = *dedup(*ds, o);
  EXPECT_EQ(best.duplicate_of, (std::vector<int64_t>{3, 3, -1, -1}));
  EXPECT_EQ(best.cluster_id, (std::vector<int64_t>{0, 0, 2, 0}));
  EXPECT_EQ(best.stages[0].rows_removed, 1u);  // exact: row 3
  EXPECT_EQ(best.stages[1].rows_removed, 1u);  // minhash: row 1
}

TEST(Dedup, IncrementalRunEqualsAFullRun) {
  TempDir dir;
  auto ds = *Dataset::Open(dir.path("ds"));
  auto docs = make_corpus(*ds, 500, 9);
  DedupOptions o;
  o.write_tensors = false;
  o.commit_message = "";
  o.index_path = dir.path("index.bin");
  // Index the first 400 rows, then add 100.
  ASSERT_TRUE(ds->truncate(400).ok());
  DedupReport part = *dedup(*ds, o);
  EXPECT_EQ(part.rows_indexed_before, 0u);
  SampleBatch more;
  for (size_t i = 400; i < docs.size(); ++i) more["text"].push_back(Array::Text(join(docs[i])));
  ASSERT_TRUE(ds->extend(more).ok());
  DedupReport inc = *dedup(*ds, o);
  EXPECT_EQ(inc.rows_indexed_before, 400u);
  EXPECT_EQ(inc.rows_hashed, 100u);
  DedupOptions full = o;
  full.index_path.clear();
  DedupReport all = *dedup(*ds, full);
  EXPECT_EQ(inc.cluster_id, all.cluster_id);
  EXPECT_EQ(inc.duplicate_of, all.duplicate_of);
  // A stale index (a row rewritten) is refused, not trusted.
  ASSERT_TRUE(ds->update("text", 0, Array::Text("a completely different first document now")).ok());
  Result<DedupReport> stale = dedup(*ds, o);
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.status().message().find("does not match row 0"), std::string::npos);
}

TEST(Dedup, BadInputIsAClearErrorAndWritesNothing) {
  TempDir dir;
  auto ds = *Dataset::Open(dir.path("ds"));
  ASSERT_TRUE(ds->create_tensor(spec_of("text", "text")).ok());
  ASSERT_TRUE(ds->create_tensor(spec_of("values", "generic", DType::kFloat32)).ok());
  ASSERT_TRUE(ds->append({{"text", Array::Text("one two three")}, {"values", Array::Scalar<float>(DType::kFloat32, 1)}}).ok());
  ASSERT_TRUE(ds->append({{"text", Array::Text("  ... ")}, {"values", Array::Scalar<float>(DType::kFloat32, 2)}}).ok());
  ASSERT_TRUE(ds->commit("two rows").ok());
  DedupOptions o;
  Result<DedupReport> r = dedup(*ds, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("row 1: the text is empty after normalization"), std::string::npos);
  o.allow_empty = true;
  DedupReport ok = *dedup(*ds, o);
  EXPECT_EQ(ok.empty_rows, 1u);
  EXPECT_EQ(ok.rows_kept, 2u);
  o.tensor = "values";
  r = dedup(*ds, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("need a text tensor"), std::string::npos);
  o.tensor = "nope";
  r = dedup(*ds, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the dataset has: text, values"), std::string::npos);
  o.tensor = "text";
  for (double t : {0.0, -0.5, 1.01}) {
    o.threshold = t;
    r = dedup(*ds, o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("threshold must be in (0, 1]"), std::string::npos);
  }
  EXPECT_FALSE(parse_stages("exact+fuzzy").ok());
  EXPECT_EQ(*parse_stages("minhash+exact"), (std::vector<Stage>{Stage::kExact, Stage::kMinHash}));
}

Array gradient_image(int h, int w, int phase) {
  Array a = Array::Zeros(DType::kUInt8, {h, w, 3});
  uint8_t* p = static_cast<uint8_t*>(a.mutable_data());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        double v = 127.5 + 120 * std::sin((x * (c + 1) + y * 2 + phase) * 6.283 / w) * std::cos(y * 3.14 / h);
        p[(y * w + x) * 3 + c] = static_cast<uint8_t>(v);
      }
    }
  }
  return a;
}

Array resized_nearest(const Array& a, int h, int w) {
  Array out = Array::Zeros(DType::kUInt8, {h, w, 3});
  int64_t ih = a.shape()[0], iw = a.shape()[1];
  uint8_t* o = static_cast<uint8_t*>(out.mutable_data());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) o[(y * w + x) * 3 + c] = a.data_as<uint8_t>()[((y * ih / h) * iw + x * iw / w) * 3 + c];
    }
  }
  return out;
}

TEST(ImageHash, ResizedCopiesAreCloseAndOtherImagesFar) {
  for (ImageHashKind kind : {ImageHashKind::kPHash, ImageHashKind::kDHash}) {
    Array a = gradient_image(120, 160, 0);
    Array b = resized_nearest(a, 90, 120);
    Array c = gradient_image(120, 160, 40);
    uint64_t ha = *image_hash(a, kind), hb = *image_hash(b, kind), hc = *image_hash(c, kind);
    EXPECT_LE(std::popcount(ha ^ hb), 6);
    EXPECT_GE(std::popcount(ha ^ hc), 14);
  }
  EXPECT_FALSE(image_hash(Array::Zeros(DType::kFloat32, {4, 4}), ImageHashKind::kPHash).ok());
}

TEST(Semantic, FindsPlantedPairsLikeAnExactSearchAndRefusesNaN) {
  TempDir dir;
  auto ds = *Dataset::Open(dir.path("ds"));
  ASSERT_TRUE(ds->create_tensor(spec_of("emb", "embedding", DType::kFloat32)).ok());
  std::mt19937_64 rng(3);
  std::normal_distribution<float> g(0, 1);
  const int n = 600, d = 32;
  std::vector<std::vector<float>> v;
  for (int i = 0; i < n; ++i) {
    std::vector<float> x(d);
    if (i % 5 == 4) {
      x = v[static_cast<size_t>(i - 1)];
      for (float& e : x) e += 0.05f * g(rng);
    } else {
      for (float& e : x) e = g(rng);
    }
    v.push_back(x);
    Array a = *Array::Copy(DType::kFloat32, {d}, x.data(), d * 4);
    ASSERT_TRUE(ds->append({{"emb", a}}).ok());
  }
  DedupOptions o;
  o.stages = {Stage::kSemantic};
  o.tensor = "emb";
  o.threshold = 0.95;
  o.write_tensors = false;
  o.commit_message = "";
  DedupReport r = *dedup(*ds, o);
  // Exact all-pairs reference.
  auto cosine = [&](int a, int b) {
    double s = 0, na = 0, nb = 0;
    for (int k = 0; k < d; ++k) {
      s += v[a][k] * v[b][k];
      na += v[a][k] * v[a][k];
      nb += v[b][k] * v[b][k];
    }
    return s / std::sqrt(na * nb);
  };
  int truth = 0, found = 0;
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      if (cosine(a, b) >= 0.95) {
        ++truth;
        found += r.cluster_id[a] == r.cluster_id[b];
      }
    }
  }
  EXPECT_EQ(truth, n / 5);
  EXPECT_GE(found, truth * 95 / 100);
  for (int a = 0; a < n; ++a) {
    if (r.duplicate_of[a] >= 0) {
      EXPECT_GE(cosine(a, static_cast<int>(r.duplicate_of[a])), 0.95);
    }
  }
  float bad[d] = {};
  bad[3] = NAN;
  ASSERT_TRUE(ds->append({{"emb", *Array::Copy(DType::kFloat32, {d}, bad, sizeof bad)}}).ok());
  Result<DedupReport> err = dedup(*ds, o);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("row 600 holds NaN at position 3"), std::string::npos);
}

}  // namespace
}  // namespace gtn::curate
