// Per-chunk statistics: computed as chunks are sealed, kept through updates, deletes,
// commits and reopens, and always a bound of what the rows hold (checked against a scan).
// Also the row views queries read through.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::spec;
using store::testing::TempDir;

// Every span's statistics bound the values its rows hold now.
void expect_sound(const Dataset& ds, const std::string& name) {
  size_t t = *ds.tensor_index(name);
  auto spans = ds.chunk_spans(t);
  ASSERT_TRUE(spans.ok()) << spans.status().ToString();
  uint64_t next = 0;
  for (const ChunkSpan& s : *spans) {
    ASSERT_EQ(s.begin, next);
    ASSERT_LT(s.begin, s.end);
    next = s.end;
    if (!s.stats.known) continue;
    uint64_t empty = 0;
    for (uint64_t i = s.begin; i < s.end; ++i) {
      auto a = ds.read(t, i);
      ASSERT_TRUE(a.ok());
      if (a->numel() == 0) ++empty;
      for (int64_t k = 0; k < a->numel(); ++k) {
        double v = a->dtype() == DType::kFloat32 ? a->data_as<float>()[k] : static_cast<double>(a->data_as<int64_t>()[k]);
        if (std::isnan(v)) {
          EXPECT_GT(s.stats.nan, 0u);
          continue;
        }
        ASSERT_TRUE(s.stats.has_range);
        EXPECT_LE(s.stats.min, v) << name << " row " << i;
        EXPECT_GE(s.stats.max, v) << name << " row " << i;
        if (s.stats.has_classes) {
          EXPECT_TRUE(std::binary_search(s.stats.classes.begin(), s.stats.classes.end(), static_cast<int64_t>(v)));
        }
      }
    }
    EXPECT_LE(empty, s.stats.empty);
  }
  EXPECT_EQ(next, ds.size());
}

TEST(ChunkStats, BoundEveryRowThroughWritesCommitsAndReopens) {
  TempDir dir;
  std::mt19937_64 rng(7);
  {
    auto ds = Dataset::Open(dir.path());
    ASSERT_TRUE(ds.ok());
    ASSERT_TRUE((*ds)->create_tensor(spec("score", DType::kFloat32, 256)).ok());
    TensorSpec label = spec("label", DType::kInt64, 128);
    label.htype = "class_label";
    label.class_names = {"a", "b", "c", "d", "e"};
    ASSERT_TRUE((*ds)->create_tensor(label).ok());
    for (int i = 0; i < 1000; ++i) {
      float score = i % 97 == 0 ? NAN : static_cast<float>(i) * 0.5f;
      Sample s{{"score", Array::Scalar<float>(DType::kFloat32, score)},
               {"label", Array::Scalar<int64_t>(DType::kInt64, (i / 100) % 5)}};
      ASSERT_TRUE((*ds)->append(s).ok());
    }
    ASSERT_TRUE((*ds)->flush().ok());
    expect_sound(**ds, "score");
    expect_sound(**ds, "label");
    // Sorted scores: most spans hold a narrow range.
    auto spans = *(*ds)->chunk_spans(0);
    ASSERT_GT(spans.size(), 10u);
    EXPECT_TRUE(spans[1].stats.known);
    EXPECT_LT(spans[1].stats.max - spans[1].stats.min, 40.0);
    ASSERT_TRUE((*ds)->commit("first").ok());
    // Updates write patch chunks with their own statistics.
    for (int k = 0; k < 50; ++k) {
      uint64_t i = rng() % 1000;
      ASSERT_TRUE((*ds)->update("score", i, Array::Scalar<float>(DType::kFloat32, -1000.f - k)).ok());
      ASSERT_TRUE((*ds)->update("label", i, Array::Scalar<int64_t>(DType::kInt64, 4)).ok());
    }
    ASSERT_TRUE((*ds)->delete_samples({3, 500, 999}).ok());
    expect_sound(**ds, "score");
    expect_sound(**ds, "label");
    ASSERT_TRUE((*ds)->commit("second").ok());
  }
  auto ds = Dataset::Open(dir.path(), {.read_only = true});
  ASSERT_TRUE(ds.ok());
  expect_sound(**ds, "score");
  expect_sound(**ds, "label");
  auto spans = *(*ds)->chunk_spans(1);
  bool classes_seen = false;
  for (const auto& s : spans) classes_seen |= s.stats.has_classes;
  EXPECT_TRUE(classes_seen);
}

TEST(ChunkStats, RowViewsAreZeroCopyInPlainChunksAndCopiesElsewhere) {
  TempDir dir;
  auto ds = Dataset::Open(dir.path());
  ASSERT_TRUE(ds.ok());
  ASSERT_TRUE((*ds)->create_tensor(spec("emb", DType::kFloat32, 4096)).ok());
  TensorSpec z = spec("z", DType::kFloat32, 4096);
  z.chunk_compression = Compression::kZstd;
  ASSERT_TRUE((*ds)->create_tensor(z).ok());
  for (int i = 0; i < 300; ++i) {
    Array a = store::testing::random_f32({8}, i);
    ASSERT_TRUE((*ds)->append({{"emb", a}, {"z", a}}).ok());
  }
  ASSERT_TRUE((*ds)->flush().ok());
  for (size_t t : {size_t{0}, size_t{1}}) {
    uint64_t i = 0;
    while (i < 300) {
      auto v = (*ds)->read_rows_view(t, i, 300, {8});
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      ASSERT_GT(v->shape()[0], 0);
      ASSERT_EQ(v->shape()[1], 8);
      for (int64_t r = 0; r < v->shape()[0]; ++r) {
        Array want = store::testing::random_f32({8}, i + r);
        ASSERT_EQ(std::memcmp(v->data_as<float>() + r * 8, want.data(), 32), 0) << "row " << i + r;
      }
      if (t == 0) {
        EXPECT_FALSE(v->owns_buffer());
      }
      i += v->shape()[0];
    }
  }
  // Another shape stops the run; past the end is refused.
  auto none = (*ds)->read_rows_view(0, 0, 10, {4});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->shape()[0], 0);
  EXPECT_FALSE((*ds)->read_rows_view(0, 0, 301, {8}).ok());
}

TEST(ChunkStats, BytesRowsViewTextInPlainCompressedAndBufferedRows) {
  TempDir dir;
  auto ds = Dataset::Open(dir.path());
  ASSERT_TRUE(ds.ok());
  TensorSpec plain = spec("a", DType::kText, 512);
  plain.htype = "text";
  TensorSpec z = spec("z", DType::kText, 512);
  z.htype = "text";
  z.chunk_compression = Compression::kZstd;
  ASSERT_TRUE((*ds)->create_tensor(plain).ok());
  ASSERT_TRUE((*ds)->create_tensor(z).ok());
  std::vector<std::string> want;
  for (int i = 0; i < 400; ++i) {
    want.push_back(i % 5 == 0 ? "" : store::testing::random_text(i % 37, i));
    ASSERT_TRUE((*ds)->append({{"a", Array::Text(want.back())}, {"z", Array::Text(want.back())}}).ok());
    if (i == 299) ASSERT_TRUE((*ds)->flush().ok());  // the last rows stay buffered a while
  }
  for (size_t t : {size_t{0}, size_t{1}}) {
    uint64_t i = 0;
    size_t calls = 0;
    while (i < 400) {
      auto r = (*ds)->read_bytes_rows(t, i, 400);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_FALSE(r->items.empty());
      for (size_t k = 0; k < r->items.size(); ++k) ASSERT_EQ(r->items[k], want[i + k]) << "row " << i + k;
      i += r->items.size();
      ++calls;
    }
    EXPECT_LT(calls, 200u);  // whole chunks at a time, not row by row
  }
  EXPECT_FALSE((*ds)->read_bytes_rows(0, 5, 5).ok());
  EXPECT_FALSE((*ds)->read_bytes_rows(0, 0, 401).ok());
}

}  // namespace
}  // namespace gtn
