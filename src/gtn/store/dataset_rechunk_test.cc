// Dataset::rechunk: contents identical for every htype, chunk sizes following the target,
// compression changes and levels, row reorders (neighbour remapping, the order tensor), the
// memory bound, argument errors, and versions/gc around a rechunk.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>

#include <sys/wait.h>
#include <unistd.h>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::expect_healthy;
using store::testing::folder_bytes;
using store::testing::random_f32;
using store::testing::random_text;
using store::testing::random_u8;
using store::testing::same;
using store::testing::spec;
using store::testing::TempDir;

using store::testing::open_or_die;

// A smooth image (JPEG keeps it close), its size varying with i.
Array smooth_image(uint64_t i) {
  int64_t h = 8 + static_cast<int64_t>(i % 5), w = 12;
  Array a = Array::Zeros(DType::kUInt8, {h, w, 3});
  auto* p = static_cast<uint8_t*>(a.mutable_data());
  for (size_t k = 0; k < a.nbytes(); ++k) p[k] = static_cast<uint8_t>((k / 3) * 2 + i);
  return a;
}

Array i64(std::vector<int64_t> v) {
  Array a = Array::Zeros(DType::kInt64, {static_cast<int64_t>(v.size())});
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * 8);
  return a;
}

// Node i of a ring of n with one chord: neighbours (i-1, i+1, (i*7) % n), sorted.
Array ring_neighbors(uint64_t i, uint64_t n) {
  std::set<int64_t> s{static_cast<int64_t>((i + n - 1) % n), static_cast<int64_t>((i + 1) % n),
                      static_cast<int64_t>((i * 7) % n)};
  return i64(std::vector<int64_t>(s.begin(), s.end()));
}

constexpr uint64_t kRows = 60;

Sample multimodal(uint64_t i) {
  Array empty_f = Array::Zeros(DType::kFloat32, {0});
  return {{"text", Array::Text(i % 9 == 0 ? std::string() : random_text(5 + i % 30, i))},
          {"jpeg", smooth_image(i)},
          {"png", random_u8({6, 4 + static_cast<int64_t>(i % 3), 4}, i)},
          {"label", Array::Scalar<int64_t>(DType::kInt64, static_cast<int64_t>(i % 3))},
          {"ragged", i % 7 == 3 ? empty_f : random_f32({static_cast<int64_t>(1 + i % 4), 3}, i)},
          {"emb", random_f32({16}, i + 1000)},
          {"meta", Array::Text("{\"i\": " + std::to_string(i) + "}")},
          {"neighbors", ring_neighbors(i, kRows)}};
}

// A committed dataset holding every htype, with small chunks.
std::unique_ptr<Dataset> make_multimodal(const std::string& path) {
  auto ds = open_or_die(path);
  auto jpeg = spec("jpeg", "image", std::nullopt, 1500);
  jpeg.sample_compression = Compression::kJpeg;
  auto png = spec("png", "image", std::nullopt, 700);
  png.sample_compression = Compression::kPng;
  auto label = spec("label", "class_label", std::nullopt, 64);
  label.class_names = {"a", "b", "c"};
  auto text = spec("text", "text", std::nullopt, 300);
  text.chunk_compression = Compression::kLz4;
  for (const auto& s : {text, jpeg, png, label, spec("ragged", "generic", DType::kFloat32, 400),
                        spec("emb", "embedding", std::nullopt, 512), spec("meta", "json", std::nullopt, 200),
                        spec("neighbors", "neighbors", std::nullopt, 256)}) {
    EXPECT_TRUE(ds->create_tensor(s).ok()) << s.name;
  }
  for (uint64_t i = 0; i < kRows; ++i) EXPECT_TRUE(ds->append(multimodal(i)).ok());
  EXPECT_TRUE(ds->commit("ingest").ok());
  return ds;
}

std::vector<Sample> read_all(const Dataset& ds) {
  std::vector<Sample> out;
  for (uint64_t i = 0; i < ds.size(); ++i) {
    auto s = ds.read_sample(i);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    out.push_back(s.ok() ? *s : Sample());
  }
  return out;
}

uint64_t chunk_files(const Dataset& ds, const std::string& tensor) {
  auto t = ds.tensor_index(tensor);
  auto spans = ds.chunk_spans(*t);
  std::set<uint64_t> files;
  for (const auto& s : *spans) {
    for (const auto& f : s.files) files.insert(f.first);
  }
  return files.size();
}

TEST(Rechunk, EveryHtypeReadsTheSameAfterNewChunkSizesAndCompressions) {
  TempDir dir;
  auto ds = make_multimodal(dir.path());
  auto before = read_all(*ds);
  std::string first = ds->head_commit();
  RechunkOptions o;
  o.layouts["text"].chunk_target_bytes = 4096;
  o.layouts["text"].chunk_compression = Compression::kZstd;
  o.layouts["text"].compression_level = 19;
  o.layouts["jpeg"].chunk_target_bytes = 200;  // smaller than most images: tiles
  o.layouts["png"].chunk_target_bytes = 4000;
  o.layouts["png"].chunk_compression = Compression::kLz4;
  o.layouts["label"].chunk_target_bytes = 8;   // one label per chunk
  o.layouts["ragged"].sample_compression = Compression::kLz4;
  o.layouts["emb"].chunk_target_bytes = 64 * 10;
  o.layouts["meta"].chunk_compression = Compression::kZstd;
  o.layouts["neighbors"].sample_compression = Compression::kZstd;
  o.layouts["neighbors"].compression_level = 5;
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  o.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  auto st = ds->rechunk(o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->rows, kRows);
  EXPECT_EQ(st->tensors.size(), 8u);
  EXPECT_EQ(st->commit, ds->head_commit());
  EXPECT_NE(st->commit, first);
  EXPECT_FALSE(ds->has_uncommitted_changes());
  EXPECT_GT(st->bytes_read, 0u);
  EXPECT_GT(st->bytes_written, 0u);
  EXPECT_GT(st->peak_memory, 0u);
  EXPECT_LE(st->peak_memory, o.max_memory);
  // Every sample, every htype: the same bytes (JPEG samples are carried as stored).
  auto after = read_all(*ds);
  for (uint64_t i = 0; i < kRows; ++i) {
    for (const auto& [name, want] : before[i]) EXPECT_TRUE(same(after[i].at(name), want)) << name << " row " << i;
  }
  // Chunk counts follow the targets: 16 float32 = 64 bytes, 10 per chunk; one label per chunk.
  EXPECT_EQ(chunk_files(*ds, "emb"), (kRows + 9) / 10);
  EXPECT_EQ(chunk_files(*ds, "label"), kRows);
  EXPECT_EQ(chunk_files(*ds, "text"), 1u);
  auto spec_after = ds->tensor_spec("text");
  EXPECT_EQ(spec_after->chunk_compression, Compression::kZstd);
  EXPECT_EQ(spec_after->compression_level, 19);
  EXPECT_EQ(spec_after->chunk_target_bytes, 4096u);
  EXPECT_EQ(ds->tensor_spec("neighbors")->sample_compression, Compression::kZstd);
  // Progress: monotonic, ending at the total.
  ASSERT_FALSE(calls.empty());
  for (size_t k = 1; k < calls.size(); ++k) EXPECT_GE(calls[k].first, calls[k - 1].first);
  EXPECT_EQ(calls.back().first, calls.back().second);
  // Reopened from disk: the same, and healthy; later appends keep the new layout.
  ds.reset();
  ds = open_or_die(dir.path());
  auto reopened = read_all(*ds);
  for (uint64_t i = 0; i < kRows; ++i) {
    for (const auto& [name, want] : before[i]) EXPECT_TRUE(same(reopened[i].at(name), want)) << name << " row " << i;
  }
  EXPECT_EQ(ds->tensor_spec("text")->compression_level, 19);
  ASSERT_TRUE(ds->append(multimodal(kRows)).ok());
  ASSERT_TRUE(ds->commit("one more").ok());
  EXPECT_TRUE(same(ds->read("neighbors", kRows).value(), multimodal(kRows).at("neighbors")));
  ds.reset();
  expect_healthy(dir.path());
}

TEST(Rechunk, ChunksAreNearTheTargetAndStatisticsDescribeThem) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  ASSERT_TRUE(ds->create_tensor(spec("x", "generic", DType::kFloat32, 1 << 20)).ok());
  std::vector<Array> rows;
  for (uint64_t i = 0; i < 1000; ++i) rows.push_back(random_f32({25}, i));  // 100 bytes each
  ASSERT_TRUE(ds->extend({{"x", rows}}).ok());
  ASSERT_TRUE(ds->commit("x").ok());
  EXPECT_EQ(chunk_files(*ds, "x"), 1u);
  RechunkOptions o;
  o.layouts["x"].chunk_target_bytes = 1000;
  auto st = ds->rechunk(o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->chunks_before, 1u);
  EXPECT_EQ(st->chunks_after, 100u);
  auto spans = ds->chunk_spans(0);
  ASSERT_EQ(spans->size(), 100u);
  for (const auto& s : *spans) {
    EXPECT_EQ(s.end - s.begin, 10u);
    EXPECT_EQ(s.raw_bytes, 1000u);
    // The statistics are those of the new chunk's rows, computed here from the data.
    ASSERT_TRUE(s.stats.known);
    EXPECT_EQ(s.stats.samples, 10u);
    double lo = INFINITY, hi = -INFINITY;
    for (uint64_t i = s.begin; i < s.end; ++i) {
      const float* p = rows[i].data_as<float>();
      for (int k = 0; k < 25; ++k) lo = std::min<double>(lo, p[k]), hi = std::max<double>(hi, p[k]);
    }
    EXPECT_EQ(s.stats.min, lo);
    EXPECT_EQ(s.stats.max, hi);
  }
  for (uint64_t i = 0; i < 1000; ++i) EXPECT_TRUE(same(ds->read("x", i).value(), rows[i]));
}

TEST(Rechunk, ImageCompressionsChange) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  auto img = spec("img", "image", std::nullopt, 4096);
  img.sample_compression = Compression::kJpeg;
  auto raw = spec("raw", "image", std::nullopt, 4096);
  ASSERT_TRUE(ds->create_tensor(img).ok());
  ASSERT_TRUE(ds->create_tensor(raw).ok());
  for (uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(ds->append({{"img", smooth_image(i)}, {"raw", smooth_image(i)}}).ok());
  ASSERT_TRUE(ds->commit("images").ok());
  auto decoded = read_all(*ds);
  RechunkOptions o;
  o.layouts["img"].sample_compression = Compression::kPng;   // lossless from the decoded JPEG
  o.layouts["raw"].sample_compression = Compression::kJpeg;  // lossy
  auto st = ds->rechunk(o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  for (uint64_t i = 0; i < 20; ++i) {
    EXPECT_TRUE(same(ds->read("img", i).value(), decoded[i].at("img")));
    Array j = ds->read("raw", i).value();
    Array want = smooth_image(i);
    ASSERT_EQ(j.shape(), want.shape());
    double err = 0;
    for (size_t k = 0; k < j.nbytes(); ++k) err += std::abs(int(j.data_as<uint8_t>()[k]) - int(want.data_as<uint8_t>()[k]));
    EXPECT_LT(err / static_cast<double>(j.nbytes()), 6.0);
    EXPECT_FALSE(same(j, want));  // really re-encoded as JPEG
  }
  EXPECT_EQ(ds->tensor_spec("img")->sample_compression, Compression::kPng);
}

TEST(Rechunk, CompressionLevelChangesTheBytesNotTheData) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  auto t = spec("t", "text", std::nullopt, 1 << 20);
  t.chunk_compression = Compression::kZstd;
  ASSERT_TRUE(ds->create_tensor(t).ok());
  std::vector<Array> rows;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 400; ++i) {
    std::string s;
    for (int w = 0; w < 30; ++w) s += std::string("alpha beta gamma delta epsilon zeta eta theta ").substr(rng() % 40, 6);
    rows.push_back(Array::Text(s));
  }
  ASSERT_TRUE(ds->extend({{"t", rows}}).ok());
  ASSERT_TRUE(ds->commit("text").ok());
  uint64_t level3 = ds->tensor_info("t")->stored_bytes;
  RechunkOptions o;
  o.layouts["t"].compression_level = 19;
  ASSERT_TRUE(ds->rechunk(o).ok());
  uint64_t level19 = ds->tensor_info("t")->stored_bytes;
  EXPECT_LT(level19, level3);
  o.layouts["t"].chunk_compression = Compression::kLz4;
  o.layouts["t"].compression_level = 50;  // lz4 acceleration: faster, larger
  ASSERT_TRUE(ds->rechunk(o).ok());
  uint64_t lz4_fast = ds->tensor_info("t")->stored_bytes;
  EXPECT_GT(lz4_fast, level3);
  for (int i = 0; i < 400; ++i) EXPECT_TRUE(same(ds->read("t", i).value(), rows[i]));
}

// Row i of the result is old row order[i]; neighbour ids name the same nodes at their new rows.
TEST(Rechunk, ReorderRemapsNeighborsAndKeepsOldPositions) {
  TempDir dir;
  auto ds = make_multimodal(dir.path());
  auto before = read_all(*ds);
  std::string first = ds->head_commit();
  std::vector<uint64_t> order(kRows);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  std::vector<uint64_t> inverse(kRows);
  for (uint64_t i = 0; i < kRows; ++i) inverse[order[i]] = i;
  RechunkOptions o;
  o.order = order;
  o.order_tensor = "orig_index";
  o.layouts["emb"].chunk_target_bytes = 256;
  auto st = ds->rechunk(o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->tensors.size(), 9u);  // every tensor, and the order tensor
  ASSERT_EQ(ds->size(), kRows);
  for (uint64_t i = 0; i < kRows; ++i) {
    auto s = ds->read_sample(i).value();
    const Sample& old = before[order[i]];
    for (const auto& [name, want] : old) {
      if (name == "neighbors") continue;
      EXPECT_TRUE(same(s.at(name), want)) << name << " row " << i;
    }
    const Array& nb = old.at("neighbors");
    std::vector<int64_t> mapped;
    for (int64_t k = 0; k < nb.numel(); ++k) mapped.push_back(static_cast<int64_t>(inverse[nb.data_as<int64_t>()[k]]));
    EXPECT_TRUE(same(s.at("neighbors"), i64(mapped))) << "row " << i;
    EXPECT_EQ(s.at("orig_index").dtype(), DType::kUInt64);
    EXPECT_EQ(s.at("orig_index").ndim(), 0);
    EXPECT_EQ(s.at("orig_index").data_as<uint64_t>()[0], order[i]);
  }
  // The graph is the same graph: the edge (u, v) exists iff (inverse[u], inverse[v]) does.
  uint64_t edges = 0;
  for (uint64_t u = 0; u < kRows; ++u) {
    const Array& nb = before[u].at("neighbors");
    Array now = ds->read("neighbors", inverse[u]).value();
    for (int64_t k = 0; k < nb.numel(); ++k) {
      int64_t want = static_cast<int64_t>(inverse[nb.data_as<int64_t>()[k]]);
      bool found = false;
      for (int64_t m = 0; m < now.numel(); ++m) found = found || now.data_as<int64_t>()[m] == want;
      EXPECT_TRUE(found);
      ++edges;
    }
  }
  EXPECT_GT(edges, kRows * 2);
  // Rows keep their sample ids: diff matches them, sees no row added or deleted, and only
  // the neighbour values and the new tensor changed.
  auto d = ds->diff(first, ds->head_commit());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->rows_added.empty());
  EXPECT_TRUE(d->rows_deleted.empty());
  for (const auto& t : d->tensors) {
    if (t.name == "emb" || t.name == "text") EXPECT_TRUE(t.updated.empty()) << t.name;
    if (t.name == "orig_index") EXPECT_FALSE(t.schema_changes.empty());
  }
  // A second reorder reorders the order tensor with the rest: it maps to the first order.
  std::vector<uint64_t> reverse(kRows);
  for (uint64_t i = 0; i < kRows; ++i) reverse[i] = kRows - 1 - i;
  o.order = reverse;
  o.layouts.clear();
  ASSERT_TRUE(ds->rechunk(o).ok());
  for (uint64_t i = 0; i < kRows; ++i) {
    EXPECT_EQ(ds->read("orig_index", i).value().data_as<uint64_t>()[0], order[kRows - 1 - i]);
    EXPECT_TRUE(same(ds->read("text", i).value(), before[order[kRows - 1 - i]].at("text")));
  }
  ds.reset();
  expect_healthy(dir.path());
}

TEST(Rechunk, RefusesBadArgumentsWithClearErrors) {
  TempDir dir;
  auto ds = make_multimodal(dir.path());
  auto message = [&](const RechunkOptions& o) {
    auto r = ds->rechunk(o);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().ToString();
  };
  RechunkOptions o;
  o.layouts["nope"].chunk_target_bytes = 10;
  EXPECT_NE(message(o).find("no tensor 'nope'"), std::string::npos);
  o = RechunkOptions();
  o.layouts["emb"].sample_compression = Compression::kJpeg;
  EXPECT_NE(message(o).find("jpeg sample compression needs dtype uint8"), std::string::npos);
  o = RechunkOptions();
  o.layouts["label"].sample_compression = Compression::kPng;  // int64 labels
  EXPECT_NE(message(o).find("png"), std::string::npos);
  o = RechunkOptions();
  o.layouts["emb"].chunk_compression = Compression::kJpeg;
  EXPECT_NE(message(o).find("chunk compression must be none, lz4 or zstd"), std::string::npos);
  o = RechunkOptions();
  o.layouts["emb"].chunk_target_bytes = 0;
  EXPECT_NE(message(o).find("chunk_target_bytes must be > 0"), std::string::npos);
  o = RechunkOptions();
  o.layouts["emb"].compression_level = 5;  // no lz4/zstd on emb
  EXPECT_NE(message(o).find("needs lz4 or zstd"), std::string::npos);
  o = RechunkOptions();
  o.layouts["text"].compression_level = 100000;  // beyond lz4's acceleration range
  EXPECT_NE(message(o).find("lz4 acceleration"), std::string::npos);
  o = RechunkOptions();
  o.layouts["text"].chunk_compression = Compression::kZstd;
  o.layouts["text"].compression_level = 23;
  EXPECT_NE(message(o).find("zstd level 23 is out of range"), std::string::npos);
  // Orders.
  o = RechunkOptions();
  o.order = std::vector<uint64_t>{0, 1, 2};
  EXPECT_NE(message(o).find("order has 3 positions; the dataset has 60 rows"), std::string::npos);
  std::vector<uint64_t> dup(kRows);
  std::iota(dup.begin(), dup.end(), 0);
  dup[7] = 3;
  o.order = dup;
  EXPECT_NE(message(o).find("order[7] = 3 repeats an earlier position"), std::string::npos);
  dup[7] = kRows;
  o.order = dup;
  EXPECT_NE(message(o).find("order[7] = 60 is out of range"), std::string::npos);
  o = RechunkOptions();
  o.order_tensor = "pos";
  EXPECT_NE(message(o).find("order_tensor 'pos' needs an order"), std::string::npos);
  std::iota(dup.begin(), dup.end(), 0);
  o.order = dup;
  o.order_tensor = "emb";
  EXPECT_NE(message(o).find("order_tensor 'emb' exists as a embedding float32 tensor"), std::string::npos);
  // Memory too small for the chunk target.
  o = RechunkOptions();
  o.max_memory = 1000;
  EXPECT_NE(message(o).find("max_memory of 1000 bytes is too small"), std::string::npos);
  // Nothing was written or committed by any of these.
  auto log = ds->log();
  EXPECT_EQ(log->size(), 1u);
  // Uncommitted changes.
  ASSERT_TRUE(ds->append(multimodal(kRows)).ok());
  o = RechunkOptions();
  EXPECT_NE(message(o).find("has uncommitted changes"), std::string::npos);
  ASSERT_TRUE(ds->reset("").ok());
  // Read-only handles and checked-out commits.
  OpenOptions ro;
  ro.read_only = true;
  auto reader = open_or_die(dir.path(), ro);
  EXPECT_FALSE(reader->rechunk(RechunkOptions()).ok());
  auto old = ds->open_version(ds->head_commit());
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE((*old)->rechunk(RechunkOptions()).ok());
  // No commit yet.
  TempDir fresh;
  auto empty = open_or_die(fresh.path());
  ASSERT_TRUE(empty->create_tensor(spec("x", "generic", DType::kUInt8)).ok());
  auto r = empty->rechunk(RechunkOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no commit yet"), std::string::npos);
}

// A sample that cannot take the new compression fails the rechunk midway: nothing is
// committed and the files written so far are deleted.
TEST(Rechunk, FailureMidwayLeavesTheBranchAndFolderAsTheyWere) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  ASSERT_TRUE(ds->create_tensor(spec("img", "image", std::nullopt, 300)).ok());
  for (uint64_t i = 0; i < 30; ++i) {
    Array v = i == 25 ? random_u8({8, 8, 4}, i) : smooth_image(i);  // 4 channels: no JPEG
    ASSERT_TRUE(ds->append({{"img", v}}).ok());
  }
  ASSERT_TRUE(ds->commit("images").ok());
  std::string head = ds->head_commit();
  uint64_t bytes = folder_bytes(dir.path());
  RechunkOptions o;
  o.layouts["img"].sample_compression = Compression::kJpeg;
  auto r = ds->rechunk(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("row 25"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(ds->head_commit(), head);
  EXPECT_FALSE(ds->has_uncommitted_changes());
  EXPECT_EQ(folder_bytes(dir.path()), bytes);
  EXPECT_EQ(ds->tensor_spec("img")->sample_compression, Compression::kNone);
  EXPECT_TRUE(same(ds->read("img", 3).value(), smooth_image(3)));
  ds.reset();
  expect_healthy(dir.path());
}

// A dataset several times larger than max_memory is rewritten (in order and reordered)
// with the rechunk's own accounting staying under the bound.
TEST(Rechunk, HonoursTheMemoryBound) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  auto img = spec("img", "image", std::nullopt, 256 << 10);
  auto txt = spec("txt", "text", std::nullopt, 128 << 10);
  txt.chunk_compression = Compression::kZstd;
  ASSERT_TRUE(ds->create_tensor(img).ok());
  ASSERT_TRUE(ds->create_tensor(txt).ok());
  constexpr uint64_t n = 1200;
  for (uint64_t b = 0; b < n; b += 100) {
    SampleBatch batch;
    for (uint64_t i = b; i < b + 100; ++i) {
      batch["img"].push_back(random_u8({40, 40, 3}, i));  // 4800 bytes
      batch["txt"].push_back(Array::Text(random_text(200 + i % 50, i)));
    }
    ASSERT_TRUE(ds->extend(batch).ok());
  }
  ASSERT_TRUE(ds->commit("data").ok());
  uint64_t data = ds->tensor_info("img")->raw_bytes + ds->tensor_info("txt")->raw_bytes;
  constexpr uint64_t kBound = 1500 << 10;
  ASSERT_GT(data, 3 * kBound);
  RechunkOptions o;
  o.max_memory = kBound;
  o.layouts["img"].chunk_target_bytes = 64 << 10;
  o.layouts["txt"].chunk_target_bytes = 32 << 10;
  auto st = ds->rechunk(o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_LE(st->peak_memory, kBound);
  EXPECT_GT(st->peak_memory, 64u << 10);
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(9));
  o.order = order;
  o.layouts.clear();
  st = ds->rechunk(o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_LE(st->peak_memory, kBound);
  // A window smaller than the data: each source chunk was read several times, not once
  // per row (reads sorted by position within a window).
  EXPECT_GT(st->bytes_read, ds->tensor_info("img")->stored_bytes);
  EXPECT_LT(st->bytes_read, 20 * (ds->tensor_info("img")->stored_bytes + ds->tensor_info("txt")->stored_bytes));
  for (uint64_t i = 0; i < n; i += 37) {
    EXPECT_TRUE(same(ds->read("img", i).value(), random_u8({40, 40, 3}, order[i])));
    EXPECT_TRUE(same(ds->read("txt", i).value(), Array::Text(random_text(200 + order[i] % 50, order[i]))));
  }
}

#if !defined(GTN_UNDER_ASAN)
// This process's resident set, and its peak since the last reset (Linux /proc).
uint64_t proc_status_kb(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  size_t n = std::strlen(field);
  while (std::fgets(line, sizeof(line), f)) {
    if (std::strncmp(line, field, n) == 0) kb = std::strtoull(line + n + 1, nullptr, 10);
  }
  std::fclose(f);
  return kb;
}

// The meter is checked against the kernel: in a child process (a clean peak), the peak
// resident set grows during a reorder of 24 MB of data by less than the 6 MB bound plus
// 1 MB for the allocator. (Skipped under AddressSanitizer, whose allocator keeps freed
// memory in quarantine.)
TEST(Rechunk, ResidentMemoryFollowsTheBound) {
  TempDir dir;
  constexpr uint64_t n = 2000;
  {
    auto ds = open_or_die(dir.path());
    ASSERT_TRUE(ds->create_tensor(spec("img", "image", std::nullopt, 1 << 20)).ok());
    for (uint64_t b = 0; b < n; b += 200) {
      SampleBatch batch;
      for (uint64_t i = b; i < b + 200; ++i) batch["img"].push_back(random_u8({64, 64, 3}, i));
      ASSERT_TRUE(ds->extend(batch).ok());
    }
    ASSERT_TRUE(ds->commit("data").ok());
  }
  constexpr uint64_t kBound = 6 << 20;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto ds = Dataset::Open(dir.path());
    if (!ds.ok()) _exit(2);
    std::vector<uint64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
    RechunkOptions o;
    o.order = std::move(order);
    o.max_memory = kBound;
    o.layouts["img"].chunk_target_bytes = 256 << 10;
    uint64_t base = proc_status_kb("VmRSS:");
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");  // resets VmHWM to VmRSS
    if (!f || std::fputs("5", f) < 0) _exit(3);
    std::fclose(f);
    auto st = (*ds)->rechunk(o);
    if (!st.ok() || st->peak_memory > kBound) _exit(4);
    uint64_t grew = (proc_status_kb("VmHWM:") - base) << 10;
    std::printf("peak RSS growth %llu bytes, meter peak %llu bytes, bound %llu\n",
                static_cast<unsigned long long>(grew), static_cast<unsigned long long>(st->peak_memory),
                static_cast<unsigned long long>(kBound));
    std::fflush(stdout);
    _exit(grew <= kBound + (1 << 20) ? 0 : 5);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "4: the meter passed the bound, 5: the resident set grew past it";
}
#endif

TEST(Rechunk, OldLayoutStaysReadableAndGcFreesWhatNoRefNeeds) {
  TempDir dir;
  auto ds = make_multimodal(dir.path());
  auto before = read_all(*ds);
  std::string old = ds->head_commit();
  uint64_t emb_chunks = chunk_files(*ds, "emb");
  RechunkOptions o;
  o.layouts["emb"].chunk_target_bytes = 64;
  auto st = ds->rechunk(o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(chunk_files(*ds, "emb"), kRows);
  // gc keeps both layouts: the old one is history of the new commit.
  ASSERT_TRUE(ds->gc().ok());
  auto then = ds->open_version(old);
  ASSERT_TRUE(then.ok()) << then.status().ToString();
  EXPECT_EQ(chunk_files(**then, "emb"), emb_chunks);
  auto then_rows = read_all(**then);
  for (uint64_t i = 0; i < kRows; ++i) EXPECT_TRUE(same(then_rows[i].at("emb"), before[i].at("emb")));
  then->reset();
  ASSERT_TRUE(ds->checkout(old).ok());
  EXPECT_EQ(chunk_files(*ds, "emb"), emb_chunks);
  EXPECT_TRUE(same(ds->read("emb", 5).value(), before[5].at("emb")));
  ASSERT_TRUE(ds->checkout("main").ok());
  // A rechunk on a branch that is then deleted: gc frees its chunk files.
  uint64_t bytes = folder_bytes(dir.path());
  ASSERT_TRUE(ds->checkout("trial", CheckoutOptions{.create = true}).ok());
  o.layouts["emb"].chunk_target_bytes = 128;
  o.layouts["text"].chunk_target_bytes = 64;
  ASSERT_TRUE(ds->rechunk(o).ok());
  EXPECT_GT(folder_bytes(dir.path()), bytes);
  ASSERT_TRUE(ds->checkout("main").ok());
  ASSERT_TRUE(ds->delete_branch("trial").ok());
  auto g = ds->gc();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_GT(g->files_deleted, kRows / 2);
  EXPECT_LE(folder_bytes(dir.path()), bytes);
  auto rows = read_all(*ds);
  for (uint64_t i = 0; i < kRows; ++i) EXPECT_TRUE(same(rows[i].at("emb"), before[i].at("emb")));
  ds.reset();
  expect_healthy(dir.path());
}

}  // namespace
}  // namespace gtn
