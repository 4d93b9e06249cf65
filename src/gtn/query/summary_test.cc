// summarize() against a reference computed here from the values written, on a dataset
// with ragged and empty numeric samples, NaN/inf, class labels (named and not), UTF-8
// text and bytes; after updates and deletions; over a view (any order, repeats); with 1
// and several threads. plot_summary() is checked by decoding the PNG it writes.
#include "gtn/summary.h"

#include <cairo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

namespace gtn {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("gtn_summary_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

const std::vector<std::string> kClasses = {"cat", "dog", "bird"};
const std::vector<std::string> kWords = {"a", "été", "naïve", "tensor", "日本語", "z", "longer words here"};

// What the test wrote, row by row (the reference's input).
struct Rows {
  std::vector<std::vector<float>> x;     // float32 (k,), k in 0..5; k == 0 is empty
  std::vector<int64_t> label;            // class_label scalar, 0 or 1 (class 2 never occurs)
  std::vector<std::vector<int64_t>> tags;  // class_label (k,) without class names, values 1, 4, 9
  std::vector<std::string> text;         // text
  std::vector<std::string> blob;         // bytes
};

Array float_array(const std::vector<float>& v) {
  return *Array::Copy(DType::kFloat32, {static_cast<int64_t>(v.size())}, v.data(), v.size() * sizeof(float));
}

Array int_array(const std::vector<int64_t>& v) {
  return *Array::Copy(DType::kInt64, {static_cast<int64_t>(v.size())}, v.data(), v.size() * sizeof(int64_t));
}

Rows make_rows(uint64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(2.0f, 3.0f);
  Rows r;
  for (uint64_t i = 0; i < n; ++i) {
    std::vector<float> x(rng() % 6);
    for (auto& v : x) {
      const uint32_t c = rng() % 100;
      v = c == 0 ? NAN : (c == 1 ? INFINITY : (c == 2 ? -INFINITY : normal(rng)));
    }
    r.x.push_back(std::move(x));
    r.label.push_back(rng() % 3 == 0 ? 1 : 0);
    std::vector<int64_t> tags(rng() % 4);
    for (auto& t : tags) t = std::vector<int64_t>{1, 4, 9}[rng() % 3];
    r.tags.push_back(std::move(tags));
    std::string t;
    for (uint32_t w = rng() % 6; w > 0; --w) t += kWords[rng() % kWords.size()] + " ";
    r.text.push_back(t);
    r.blob.push_back(std::string(rng() % 40, static_cast<char>('a' + rng() % 26)));
  }
  return r;
}

std::unique_ptr<Dataset> create_dataset(const std::string& path, const Rows& rows) {
  auto ds = Dataset::Open(path);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  auto spec = [](std::string name, std::string htype, std::optional<DType> dtype, uint64_t target) {
    TensorSpec s;
    s.name = std::move(name);
    s.htype = std::move(htype);
    s.dtype = dtype;
    s.chunk_target_bytes = target;
    return s;
  };
  TensorSpec x = spec("x", "generic", DType::kFloat32, 4096);
  TensorSpec label = spec("label", "class_label", std::nullopt, 2048);
  label.class_names = kClasses;
  TensorSpec text = spec("text", "text", std::nullopt, 8192);
  text.chunk_compression = Compression::kZstd;
  TensorSpec blob = spec("blob", "generic", DType::kBytes, 8ull << 20);
  TensorSpec tags = spec("tags", "class_label", std::nullopt, 8ull << 20);
  for (const auto& s : {x, label, text, blob, tags}) EXPECT_TRUE((*ds)->create_tensor(s).ok());
  SampleBatch batch;
  for (size_t i = 0; i < rows.x.size(); ++i) {
    batch["x"].push_back(float_array(rows.x[i]));
    batch["label"].push_back(Array::Scalar<int64_t>(DType::kInt64, rows.label[i]));
    batch["text"].push_back(Array::Text(rows.text[i]));
    batch["blob"].push_back(Array::Bytes(rows.blob[i]));
    batch["tags"].push_back(int_array(rows.tags[i]));
  }
  Status st = (*ds)->extend(batch);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE((*ds)->flush().ok());
  return std::move(*ds);
}

uint64_t utf8_chars(const std::string& s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

std::vector<uint64_t> reference_histogram(const std::vector<double>& values, const std::vector<double>& edges) {
  std::vector<uint64_t> counts(edges.size() - 1, 0);
  for (double v : values) {
    for (size_t b = 0; b + 1 < edges.size(); ++b) {
      const bool last = b + 2 == edges.size();
      if (v >= edges[b] && (v < edges[b + 1] || (last && v == edges[b + 1]))) {
        ++counts[b];
        break;
      }
    }
  }
  return counts;
}

double reference_percentile(std::vector<double> sorted, int q) {
  std::sort(sorted.begin(), sorted.end());
  const double h = static_cast<double>(sorted.size() - 1) * q / 100.0;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const double b = lo + 1 < sorted.size() ? sorted[lo + 1] : sorted[lo];
  return sorted[lo] + (h - static_cast<double>(lo)) * (b - sorted[lo]);
}

const TensorSummary& tensor(const DatasetSummary& s, const std::string& name) {
  for (const auto& t : s.tensors) {
    if (t.name == name) return t;
  }
  ADD_FAILURE() << "no tensor " << name;
  return s.tensors.front();
}

// Checks `s` against the rows `picked` of `rows`.
void expect_matches(const DatasetSummary& s, const Rows& rows, const std::vector<uint64_t>& picked) {
  ASSERT_EQ(s.rows, picked.size());
  // x: shapes, empties, value statistics, histograms.
  {
    const TensorSummary& t = tensor(s, "x");
    std::vector<double> finite;
    uint64_t nan = 0, inf = 0, empty = 0, bytes = 0;
    std::map<Shape, uint64_t> shapes;
    std::vector<double> sizes;
    for (uint64_t r : picked) {
      const auto& x = rows.x[r];
      sizes.push_back(static_cast<double>(x.size()));
      bytes += x.size() * 4;
      if (x.empty()) {
        ++empty;
        continue;
      }
      ++shapes[{static_cast<int64_t>(x.size())}];
      for (float v : x) {
        if (std::isnan(v)) {
          ++nan;
        } else if (std::isinf(v)) {
          ++inf;
        } else {
          finite.push_back(v);
        }
      }
    }
    EXPECT_EQ(t.count, picked.size());
    EXPECT_EQ(t.empty_count, empty);
    EXPECT_EQ(t.bytes, bytes);
    EXPECT_EQ(t.distinct_shapes, shapes.size());
    ASSERT_FALSE(t.shape_counts.empty());
    for (const auto& [shape, n] : t.shape_counts) EXPECT_EQ(n, shapes[shape]) << shape_to_string(shape);
    for (size_t i = 1; i < t.shape_counts.size(); ++i) EXPECT_GE(t.shape_counts[i - 1].second, t.shape_counts[i].second);
    EXPECT_EQ(t.min_shape, Shape{shapes.begin()->first});
    EXPECT_EQ(t.max_shape, Shape{shapes.rbegin()->first});
    EXPECT_EQ(t.sample_sizes.counts, reference_histogram(sizes, t.sample_sizes.edges));
    ASSERT_TRUE(t.values.has_value());
    const ValueStats& v = *t.values;
    EXPECT_EQ(v.count, finite.size());
    EXPECT_EQ(v.nan_count, nan);
    EXPECT_EQ(v.inf_count, inf);
    double sum = 0;
    for (double f : finite) sum += f;
    const double mean = sum / static_cast<double>(finite.size());
    double m2 = 0;
    for (double f : finite) m2 += (f - mean) * (f - mean);
    EXPECT_EQ(v.min, *std::min_element(finite.begin(), finite.end()));
    EXPECT_EQ(v.max, *std::max_element(finite.begin(), finite.end()));
    EXPECT_NEAR(v.mean, mean, 1e-12 * std::fabs(mean) + 1e-13);
    EXPECT_NEAR(v.std, std::sqrt(m2 / static_cast<double>(finite.size())), 1e-12);
    ASSERT_EQ(v.histogram.edges.size(), 33u);
    EXPECT_EQ(v.histogram.edges.front(), v.min);
    EXPECT_EQ(v.histogram.edges.back(), v.max);
    EXPECT_EQ(v.histogram.counts, reference_histogram(finite, v.histogram.edges));
  }
  // label: class counts by name, unnamed indices after the named ones.
  {
    const TensorSummary& t = tensor(s, "label");
    std::map<int64_t, uint64_t> counts;
    for (uint64_t r : picked) ++counts[rows.label[r]];
    ASSERT_EQ(t.class_counts.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(t.class_counts[i].name, kClasses[i]);
      EXPECT_EQ(t.class_counts[i].count, counts[static_cast<int64_t>(i)]);
    }
    EXPECT_EQ(t.class_counts[2].count, 0u);
    EXPECT_EQ(t.labels, picked.size());
    // Integer values: one bin per value from 0 to 1.
    ASSERT_TRUE(t.values.has_value());
    EXPECT_EQ(t.values->histogram.edges, (std::vector<double>{0, 1, 2}));
    EXPECT_EQ(t.values->histogram.counts[1], counts[1]);
  }
  // tags: multi-label without class names; each label counts.
  {
    const TensorSummary& t = tensor(s, "tags");
    std::map<int64_t, uint64_t> counts;
    uint64_t labels = 0, empty = 0;
    for (uint64_t r : picked) {
      for (int64_t v : rows.tags[r]) ++counts[v];
      labels += rows.tags[r].size();
      empty += rows.tags[r].empty();
    }
    EXPECT_EQ(t.labels, labels);
    EXPECT_EQ(t.empty_count, empty);
    ASSERT_EQ(t.class_counts.size(), counts.size());
    size_t i = 0;
    for (const auto& [v, n] : counts) {
      EXPECT_EQ(t.class_counts[i].index, v);
      EXPECT_EQ(t.class_counts[i].name, std::to_string(v));
      EXPECT_EQ(t.class_counts[i].count, n);
      ++i;
    }
  }
  // text: lengths in characters, percentiles like numpy's default.
  {
    const TensorSummary& t = tensor(s, "text");
    std::vector<double> lengths;
    for (uint64_t r : picked) lengths.push_back(static_cast<double>(utf8_chars(rows.text[r])));
    ASSERT_TRUE(t.text_lengths.has_value());
    const LengthStats& l = *t.text_lengths;
    EXPECT_EQ(l.count, picked.size());
    EXPECT_EQ(static_cast<double>(l.min), *std::min_element(lengths.begin(), lengths.end()));
    EXPECT_EQ(static_cast<double>(l.max), *std::max_element(lengths.begin(), lengths.end()));
    double sum = 0;
    for (double x : lengths) sum += x;
    EXPECT_NEAR(l.mean, sum / static_cast<double>(lengths.size()), 1e-9);
    ASSERT_EQ(l.percentiles.size(), 7u);
    for (const auto& [q, value] : l.percentiles) EXPECT_NEAR(value, reference_percentile(lengths, q), 1e-9) << q;
    EXPECT_EQ(l.histogram.counts, reference_histogram(lengths, l.histogram.edges));
    EXPECT_FALSE(t.values.has_value());
  }
  // blob: sizes only.
  {
    const TensorSummary& t = tensor(s, "blob");
    std::vector<double> sizes;
    uint64_t empty = 0;
    for (uint64_t r : picked) {
      sizes.push_back(static_cast<double>(rows.blob[r].size()));
      empty += rows.blob[r].empty();
    }
    EXPECT_EQ(t.empty_count, empty);
    EXPECT_EQ(t.sample_sizes.counts, reference_histogram(sizes, t.sample_sizes.edges));
    EXPECT_FALSE(t.values.has_value());
    EXPECT_FALSE(t.text_lengths.has_value());
  }
}

std::vector<uint64_t> all_rows(uint64_t n) {
  std::vector<uint64_t> r(n);
  for (uint64_t i = 0; i < n; ++i) r[i] = i;
  return r;
}

TEST(Summary, MatchesReferenceOverEveryRow) {
  TempDir dir;
  const Rows rows = make_rows(5000, 1);
  auto ds = create_dataset(dir.path("ds"), rows);
  auto s = summarize(*ds);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->is_view);
  EXPECT_EQ(s->dataset_rows, 5000u);
  EXPECT_EQ(s->version, "main");
  expect_matches(*s, rows, all_rows(5000));
  // Before any update every slice is a whole chunk file: storage matches tensor_info.
  for (const auto& t : s->tensors) {
    auto info = ds->tensor_info(t.name);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(t.storage.num_chunks, info->num_chunks) << t.name;
    EXPECT_EQ(t.storage.stored_bytes, info->stored_bytes) << t.name;
    EXPECT_EQ(t.storage.raw_bytes, info->raw_bytes) << t.name;
    EXPECT_EQ(t.storage.buffered_samples, 0u);
    uint64_t chunks = 0;
    for (uint64_t c : t.storage.file_bytes.counts) chunks += c;
    EXPECT_EQ(chunks, t.storage.num_chunks);
    EXPECT_EQ(t.compression_ratio, static_cast<double>(info->raw_bytes) / static_cast<double>(info->stored_bytes));
  }
  EXPECT_GT(tensor(*s, "x").storage.num_chunks, 10u);
}

TEST(Summary, ThreadCountDoesNotChangeTheResult) {
  TempDir dir;
  const Rows rows = make_rows(7000, 2);
  ASSERT_TRUE(create_dataset(dir.path("ds"), rows)->close().ok());
  OpenOptions read_only;
  read_only.read_only = true;
  auto ds = Dataset::Open(dir.path("ds"), read_only);
  ASSERT_TRUE(ds.ok());
  SummaryOptions one, four;
  one.n_threads = 1;
  four.n_threads = 4;
  auto a = summarize(**ds, nullptr, one);
  auto b = summarize(**ds, nullptr, four);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(summary_to_json(*a), summary_to_json(*b));
}

TEST(Summary, FollowsUpdatesDeletionsAndBufferedSamples) {
  TempDir dir;
  Rows rows = make_rows(3000, 3);
  auto ds = create_dataset(dir.path("ds"), rows);
  std::vector<uint64_t> idx;
  std::vector<Array> xs;
  for (uint64_t i = 0; i < 3000; i += 7) {
    rows.x[i] = {100.0f + static_cast<float>(i), -50.0f};
    idx.push_back(i);
    xs.push_back(float_array(rows.x[i]));
  }
  ASSERT_TRUE(ds->update("x", idx, xs).ok());
  std::vector<uint64_t> gone = {5, 17, 17, 2999, 1000, 0};
  ASSERT_TRUE(ds->delete_samples(gone).ok());
  std::set<uint64_t> gone_set(gone.begin(), gone.end());
  Rows kept;
  for (uint64_t i = 0; i < 3000; ++i) {
    if (gone_set.count(i)) continue;
    kept.x.push_back(rows.x[i]);
    kept.label.push_back(rows.label[i]);
    kept.text.push_back(rows.text[i]);
    kept.blob.push_back(rows.blob[i]);
    kept.tags.push_back(rows.tags[i]);
  }
  // Three rows a writer still holds in memory.
  Rows extra = make_rows(3, 4);
  for (size_t i = 0; i < 3; ++i) {
    Sample s{{"x", float_array(extra.x[i])},
             {"label", Array::Scalar<int64_t>(DType::kInt64, extra.label[i])},
             {"text", Array::Text(extra.text[i])},
             {"blob", Array::Bytes(extra.blob[i])},
             {"tags", int_array(extra.tags[i])}};
    ASSERT_TRUE(ds->append(s).ok());
    kept.x.push_back(extra.x[i]);
    kept.label.push_back(extra.label[i]);
    kept.text.push_back(extra.text[i]);
    kept.blob.push_back(extra.blob[i]);
    kept.tags.push_back(extra.tags[i]);
  }
  auto s = summarize(*ds);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->uncommitted);
  expect_matches(*s, kept, all_rows(kept.x.size()));
  const TensorSummary& x = tensor(*s, "x");
  EXPECT_EQ(x.values->max, 100.0 + 2996);
  EXPECT_EQ(x.storage.buffered_samples, 3u);
  EXPECT_GT(x.storage.num_slices, x.storage.num_chunks);  // updates and deletions slice files
  uint64_t in_slices = 0;
  auto spans = ds->chunk_spans(*ds->tensor_index("x"));
  ASSERT_TRUE(spans.ok());
  for (const auto& sp : *spans) {
    if (!sp.files.empty()) in_slices += sp.end - sp.begin;
  }
  EXPECT_EQ(in_slices + 3, ds->size());
}

TEST(Summary, ViewRowsInAnyOrderWithRepeats) {
  TempDir dir;
  const Rows rows = make_rows(4000, 5);
  auto ds = create_dataset(dir.path("ds"), rows);
  std::mt19937 rng(9);
  std::vector<uint64_t> view;
  for (int i = 0; i < 2500; ++i) view.push_back(rng() % 4000);
  view.push_back(view.front());
  auto s = summarize(*ds, &view);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->is_view);
  EXPECT_EQ(s->dataset_rows, 4000u);
  expect_matches(*s, rows, view);
  std::vector<uint64_t> none;
  auto empty = summarize(*ds, &none);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(tensor(*empty, "x").count, 0u);
  EXPECT_EQ(tensor(*empty, "x").values->count, 0u);
  EXPECT_TRUE(tensor(*empty, "x").values->histogram.counts.empty());
}

TEST(Summary, ExtremeValuesFloat16AndHugeLabels) {
  TempDir dir;
  auto ds = *Dataset::Open(dir.path("ds"));
  TensorSpec wide{.name = "wide", .htype = "generic", .dtype = DType::kFloat64, .class_names = {}};
  TensorSpec half{.name = "half", .htype = "generic", .dtype = DType::kFloat16, .class_names = {}};
  TensorSpec big{.name = "big", .htype = "class_label", .dtype = DType::kInt64, .class_names = {}};
  for (const auto& spec : {wide, half, big}) ASSERT_TRUE(ds->create_tensor(spec).ok());
  const double wides[] = {-1.7e308, 1.7e308, 0, 1};
  const uint16_t halves[] = {0x3c00, 0xc000, 0x0001, 0x7c00};  // 1, -2, the smallest subnormal, +inf
  const int64_t bigs[] = {(1ll << 60) + 1, (1ll << 60) + 2, (1ll << 60) + 1, -5};
  for (int i = 0; i < 4; ++i) {
    Sample sample{{"wide", Array::Scalar<double>(DType::kFloat64, wides[i])},
                  {"half", Array::Scalar<uint16_t>(DType::kFloat16, halves[i])},
                  {"big", Array::Scalar<int64_t>(DType::kInt64, bigs[i])}};
    ASSERT_TRUE(ds->append(sample).ok());
  }
  auto s = summarize(*ds);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const ValueStats& w = *tensor(*s, "wide").values;
  EXPECT_EQ(w.min, -1.7e308);
  EXPECT_EQ(w.max, 1.7e308);
  EXPECT_EQ(w.histogram.counts.size(), 32u);
  for (double e : w.histogram.edges) EXPECT_TRUE(std::isfinite(e));
  EXPECT_EQ(w.histogram.counts.front(), 1u);
  EXPECT_EQ(w.histogram.counts.back(), 1u);
  EXPECT_EQ(w.histogram.counts[16], 2u);  // 0 and 1 sit in the middle bin
  const ValueStats& h = *tensor(*s, "half").values;
  EXPECT_EQ(h.count, 3u);
  EXPECT_EQ(h.inf_count, 1u);
  EXPECT_EQ(h.min, -2.0);
  EXPECT_EQ(h.max, 1.0);
  EXPECT_EQ(h.mean, (1.0 - 2.0 + std::ldexp(1.0, -24)) / 3);
  const TensorSummary& b = tensor(*s, "big");
  ASSERT_EQ(b.class_counts.size(), 3u);
  EXPECT_EQ(b.class_counts[0].name, "-5");
  EXPECT_EQ(b.class_counts[1].name, "1152921504606846977");
  EXPECT_EQ(b.class_counts[1].count, 2u);
  EXPECT_EQ(b.class_counts[2].name, "1152921504606846978");
  EXPECT_EQ(b.class_counts[2].count, 1u);
}

TEST(Summary, OneByteValuesMatchTheReference) {
  TempDir dir;
  auto ds = *Dataset::Open(dir.path("ds"));
  TensorSpec img{.name = "img", .htype = "image", .dtype = DType::kUInt8, .class_names = {}};
  img.sample_compression = Compression::kPng;
  TensorSpec small{.name = "small", .htype = "generic", .dtype = DType::kInt8, .class_names = {}};
  TensorSpec flag{.name = "flag", .htype = "generic", .dtype = DType::kBool, .class_names = {}};
  for (const auto& spec : {img, small, flag}) ASSERT_TRUE(ds->create_tensor(spec).ok());
  std::mt19937 rng(11);
  std::map<std::string, std::vector<double>> all;
  for (int i = 0; i < 300; ++i) {
    const int64_t h = 2 + rng() % 5;
    Array pixels = Array::Zeros(DType::kUInt8, {h, 3, 3});
    auto* p = static_cast<uint8_t*>(pixels.mutable_data());
    for (int64_t k = 0; k < pixels.numel(); ++k) {
      p[k] = static_cast<uint8_t>(rng() % 256);
      all["img"].push_back(p[k]);
    }
    const auto s8 = static_cast<int8_t>(static_cast<int>(rng() % 21) - 10);
    const bool b = rng() % 4 == 0;
    all["small"].push_back(s8);
    all["flag"].push_back(b);
    Sample sample{{"img", pixels}, {"small", Array::Scalar<int8_t>(DType::kInt8, s8)},
                  {"flag", Array::Scalar<uint8_t>(DType::kBool, b)}};
    ASSERT_TRUE(ds->append(sample).ok());
  }
  auto s = summarize(*ds);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (const auto& [name, values] : all) {
    const ValueStats& v = *tensor(*s, name).values;
    double sum = 0;
    for (double x : values) sum += x;
    EXPECT_EQ(v.count, values.size()) << name;
    EXPECT_EQ(v.min, *std::min_element(values.begin(), values.end())) << name;
    EXPECT_EQ(v.max, *std::max_element(values.begin(), values.end())) << name;
    EXPECT_NEAR(v.mean, sum / static_cast<double>(values.size()), 1e-12) << name;
    EXPECT_EQ(v.histogram.counts, reference_histogram(values, v.histogram.edges)) << name;
  }
  EXPECT_EQ(tensor(*s, "small").values->histogram.edges.front(), -10);
  EXPECT_EQ(tensor(*s, "small").values->histogram.counts.size(), 21u);  // one bin per value
  EXPECT_EQ(tensor(*s, "flag").values->histogram.edges, (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(tensor(*s, "img").values->histogram.edges[1] - tensor(*s, "img").values->histogram.edges[0], 8);
}

TEST(Summary, BadInputIsAClearError) {
  TempDir dir;
  auto ds = create_dataset(dir.path("ds"), make_rows(10, 6));
  std::vector<uint64_t> rows = {1, 10};
  auto s = summarize(*ds, &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(s.status().message().find("row 10 (position 1"), std::string::npos) << s.status().message();
  SummaryOptions o;
  o.tensors = {"nope"};
  s = summarize(*ds, nullptr, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("tensors: x label text blob tags"), std::string::npos) << s.status().message();
  o = {};
  o.histogram_bins = 0;
  EXPECT_EQ(summarize(*ds, nullptr, o).status().code(), StatusCode::kInvalidArgument);
  auto ok = summarize(*ds);
  ASSERT_TRUE(ok.ok());
  Status plot = plot_summary(*ok, dir.path("no_such_folder/p.png"));
  EXPECT_EQ(plot.code(), StatusCode::kIOError);
}

TEST(Summary, JsonAndTextSayWhatTheStructHolds) {
  TempDir dir;
  const Rows rows = make_rows(500, 7);
  auto ds = create_dataset(dir.path("ds"), rows);
  auto s = summarize(*ds);
  ASSERT_TRUE(s.ok());
  auto j = nlohmann::json::parse(summary_to_json(*s));
  EXPECT_EQ(j["rows"], 500);
  EXPECT_EQ(j["tensors"]["label"]["class_counts"]["dog"], tensor(*s, "label").class_counts[1].count);
  EXPECT_EQ(j["tensors"]["x"]["values"]["nan_count"], tensor(*s, "x").values->nan_count);
  EXPECT_EQ(j["tensors"]["text"]["text_lengths"]["percentiles"]["p50"], tensor(*s, "text").text_lengths->percentiles[3].second);
  EXPECT_EQ(j["tensors"]["blob"]["dtype"], "bytes");
  EXPECT_FALSE(j["tensors"]["blob"].contains("values"));
  const std::string text = summary_to_text(*s);
  EXPECT_NE(text.find("Summary of 500 rows at main"), std::string::npos) << text;
  EXPECT_NE(text.find("classes (500 labels): cat "), std::string::npos) << text;
  EXPECT_NE(text.find("text length (characters): min 0"), std::string::npos) << text;
}

TEST(Summary, PlotIsAPngWithOnePanelPerDistribution) {
  TempDir dir;
  auto ds = create_dataset(dir.path("ds"), make_rows(3000, 8));
  auto s = summarize(*ds);
  ASSERT_TRUE(s.ok());
  const std::string png = dir.path("summary.png");
  ASSERT_TRUE(plot_summary(*s, png).ok());
  if (const char* keep = std::getenv("GTN_SUMMARY_TEST_PNG")) fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
  cairo_surface_t* img = cairo_image_surface_create_from_png(png.c_str());
  ASSERT_EQ(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
  // Panels: x values, x sample size, x chunks; label classes, label chunks; text length,
  // text chunks; blob sample size (one chunk: no chunk panel); tags classes, tags sample
  // size = 10 panels, 3 columns, 4 rows.
  EXPECT_EQ(cairo_image_surface_get_width(img), 3 * 420);
  EXPECT_EQ(cairo_image_surface_get_height(img), 44 + 4 * 280);
  const int w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img);
  const int stride = cairo_image_surface_get_stride(img);
  const unsigned char* data = cairo_image_surface_get_data(img);
  uint64_t blue = 0, orange = 0, dark = 0;
  for (int y = 0; y < h; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < w; ++x) {
      const uint32_t p = row[x] & 0xffffff;
      blue += p == 0x4582b5;    // histogram bars (0.27, 0.51, 0.71)
      orange += p == 0xde8533;  // class bars (0.87, 0.52, 0.2)
      dark += ((p >> 16) & 0xff) < 80 && ((p >> 8) & 0xff) < 80 && (p & 0xff) < 80;  // text, axes
    }
  }
  cairo_surface_destroy(img);
  EXPECT_GT(blue, 20000u);
  EXPECT_GT(orange, 3000u);
  EXPECT_GT(dark, 5000u);
}

// cairo keeps the fonts it resolved through fontconfig in static caches for the life of the
// process; release them at exit so that LeakSanitizer sees only real leaks.
class CairoCaches : public ::testing::Environment {
 public:
  void TearDown() override { cairo_debug_reset_static_data(); }
};
const auto* const kCairoCaches = ::testing::AddGlobalTestEnvironment(new CairoCaches);

}  // namespace
}  // namespace gtn

// fontconfig allocates its configuration (parsed from /etc/fonts once per process) without
// freeing it at exit; LeakSanitizer reads this list when the test runs under it.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
