// Ingest paths: the two durability modes write the same dataset, and only at flush (in
// kFlush mode) do writes wait for the disk; extend_columns writes what extend writes.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::random_f32;
using store::testing::random_text;
using store::testing::random_u8;
using store::testing::same;
using store::testing::spec;
using store::testing::TempDir;

// Counts how a dataset writes through a Storage, passing everything on to `inner`.
class CountingStorage final : public Storage {
 public:
  explicit CountingStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}
  Result<std::shared_ptr<const Bytes>> read(const std::string& key) const override { return inner_->read(key); }
  Status write_atomic(const std::string& key, std::string_view bytes) override {
    synced_writes.push_back(key);
    return inner_->write_atomic(key, bytes);
  }
  Status write_atomic_unsynced(const std::string& key, std::string_view bytes) override {
    unsynced_writes.push_back(key);
    unsynced_since_sync.insert(key);
    return inner_->write_atomic_unsynced(key, bytes);
  }
  Status sync(const std::vector<std::string>& keys) override {
    for (const auto& k : keys) unsynced_since_sync.erase(k);
    ++syncs;
    return inner_->sync(keys);
  }
  Result<bool> exists(const std::string& key) const override { return inner_->exists(key); }
  Result<std::vector<std::string>> list(const std::string& prefix) const override { return inner_->list(prefix); }
  Status remove(const std::string& key) override { return inner_->remove(key); }
  Result<std::shared_ptr<void>> lock_for_writing() override { return inner_->lock_for_writing(); }
  std::string describe() const override { return "counting " + inner_->describe(); }

  std::vector<std::string> synced_writes, unsynced_writes;
  std::set<std::string> unsynced_since_sync;  // written without fsync and not synced yet
  int syncs = 0;

 private:
  std::shared_ptr<Storage> inner_;
};

bool is_chunk(const std::string& key) { return key.rfind("chunks/", 0) == 0; }

void create_tensors(Dataset& ds) {
  ASSERT_TRUE(ds.create_tensor(spec("image", "image", DType::kUInt8, 4096)).ok());
  ASSERT_TRUE(ds.create_tensor(spec("embedding", "embedding", DType::kFloat32, 2048)).ok());
  TensorSpec text = spec("text", "text", std::nullopt, 1024);
  text.chunk_compression = Compression::kLz4;
  ASSERT_TRUE(ds.create_tensor(text).ok());
  TensorSpec meta = spec("meta", "json", std::nullopt, 512);
  meta.sample_compression = Compression::kZstd;
  ASSERT_TRUE(ds.create_tensor(meta).ok());
}

// Batch b of `n` samples, as one Array per sample.
SampleBatch make_batch(uint64_t b, size_t n) {
  SampleBatch batch;
  for (size_t j = 0; j < n; ++j) {
    uint64_t i = b * 1000 + j;
    batch["image"].push_back(random_u8({8, 8, 3}, i));
    batch["embedding"].push_back(random_f32({16}, i));
    batch["text"].push_back(Array::Text(random_text(i % 70, i)));
    batch["meta"].push_back(Array::Text("{\"i\": " + std::to_string(i) + "}"));
  }
  return batch;
}

// The same batch column-wise: numeric tensors stacked into one array each.
struct Columns {
  Array image, embedding;
  std::vector<std::string> text, meta;
  ColumnBatch batch() const {
    ColumnBatch b;
    b["image"].rows = image;
    b["embedding"].rows = embedding;
    b["text"];
    b["meta"];
    for (const auto& s : text) b["text"].items.push_back(s);
    for (const auto& s : meta) b["meta"].items.push_back(s);
    return b;
  }
};

Array stack(const std::vector<Array>& samples) {
  Shape shape = samples[0].shape();
  shape.insert(shape.begin(), static_cast<int64_t>(samples.size()));
  Array out = Array::Zeros(samples[0].dtype(), shape);
  auto* p = static_cast<uint8_t*>(out.mutable_data());
  for (const Array& s : samples) {
    std::memcpy(p, s.data(), s.nbytes());
    p += s.nbytes();
  }
  return out;
}

Columns columns_of(const SampleBatch& b) {
  Columns c;
  c.image = stack(b.at("image"));
  c.embedding = stack(b.at("embedding"));
  for (const Array& a : b.at("text")) c.text.emplace_back(a.as_string_view());
  for (const Array& a : b.at("meta")) c.meta.emplace_back(a.as_string_view());
  return c;
}

void expect_same_datasets(const Dataset& a, const Dataset& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.tensor_names(), b.tensor_names());
  for (const auto& name : a.tensor_names()) {
    auto ia = a.tensor_info(name);
    auto ib = b.tensor_info(name);
    ASSERT_TRUE(ia.ok() && ib.ok());
    EXPECT_EQ(ia->num_chunks, ib->num_chunks) << name;
    EXPECT_EQ(ia->stored_bytes, ib->stored_bytes) << name;
    EXPECT_EQ(ia->raw_bytes, ib->raw_bytes) << name;
    EXPECT_EQ(ia->min_shape, ib->min_shape) << name;
    EXPECT_EQ(ia->max_shape, ib->max_shape) << name;
  }
  for (uint64_t i = 0; i < a.size(); ++i) {
    auto sa = a.read_sample(i);
    auto sb = b.read_sample(i);
    ASSERT_TRUE(sa.ok() && sb.ok()) << i;
    for (const auto& [name, v] : *sa) EXPECT_TRUE(same(v, sb->at(name))) << name << " " << i;
  }
}

using store::testing::open_or_die;

TEST(Durability, FlushAndEveryChunkWriteTheSameDataset) {
  TempDir dir;
  for (Durability d : {Durability::kFlush, Durability::kEveryChunk}) {
    OpenOptions opts;
    opts.durability = d;
    auto ds = open_or_die(dir.sub(d == Durability::kFlush ? "flush" : "every"), opts);
    ASSERT_TRUE(ds);
    create_tensors(*ds);
    for (uint64_t b = 0; b < 6; ++b) ASSERT_TRUE(ds->extend(make_batch(b, 37 + b * 11)).ok());
    ASSERT_TRUE(ds->update("text", 5, Array::Text("replaced")).ok());
    ASSERT_TRUE(ds->pop().ok());
    ASSERT_TRUE(ds->flush().ok());
  }
  OpenOptions ro;
  ro.read_only = true;
  auto a = open_or_die(dir.sub("flush"), ro);
  auto b = open_or_die(dir.sub("every"), ro);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 6u * 37 + 11 * 15 - 1);
  expect_same_datasets(*a, *b);
  for (const auto& path : {dir.sub("flush"), dir.sub("every")}) {
    auto issues = fsck(path);
    ASSERT_TRUE(issues.ok());
    EXPECT_TRUE(issues->empty()) << path;
  }
}

TEST(Durability, FlushModeWaitsForTheDiskOnlyAtFlush) {
  auto storage = std::make_shared<CountingStorage>(make_memory_storage());
  OpenOptions opts;
  opts.storage = storage;
  auto ds = open_or_die("counted", opts);
  ASSERT_TRUE(ds);
  create_tensors(*ds);
  size_t synced_at_create = storage->synced_writes.size();
  for (uint64_t b = 0; b < 4; ++b) ASSERT_TRUE(ds->extend(make_batch(b, 200)).ok());
  // Extending sealed chunks and published them, without one synced write.
  EXPECT_EQ(storage->synced_writes.size(), synced_at_create);
  size_t chunk_writes = 0, manifest_writes = 0;
  for (const auto& k : storage->unsynced_writes) (is_chunk(k) ? chunk_writes : manifest_writes)++;
  EXPECT_GT(chunk_writes, 4u);
  EXPECT_LE(manifest_writes, 4u + 4u);  // at most one per extend() (and per create_tensor)
  EXPECT_FALSE(storage->unsynced_since_sync.empty());
  ASSERT_TRUE(ds->flush().ok());
  // flush(): every chunk file synced, then the manifest written with fsync, last.
  for (const auto& k : storage->unsynced_since_sync) EXPECT_FALSE(is_chunk(k)) << k;
  ASSERT_FALSE(storage->synced_writes.empty());
  EXPECT_NE(storage->synced_writes.back().find("manifest"), std::string::npos) << storage->synced_writes.back();
  // A second flush with nothing new waits for nothing.
  size_t synced = storage->synced_writes.size();
  int syncs = storage->syncs;
  ASSERT_TRUE(ds->flush().ok());
  EXPECT_EQ(storage->synced_writes.size(), synced);
  EXPECT_EQ(storage->syncs, syncs);
}

TEST(Durability, EveryChunkModeSyncsEachWrite) {
  auto storage = std::make_shared<CountingStorage>(make_memory_storage());
  OpenOptions opts;
  opts.storage = storage;
  opts.durability = Durability::kEveryChunk;
  auto ds = open_or_die("counted", opts);
  ASSERT_TRUE(ds);
  create_tensors(*ds);
  for (uint64_t b = 0; b < 3; ++b) ASSERT_TRUE(ds->extend(make_batch(b, 200)).ok());
  ASSERT_TRUE(ds->flush().ok());
  EXPECT_TRUE(storage->unsynced_writes.empty());
  size_t chunk_writes = 0;
  for (const auto& k : storage->synced_writes) chunk_writes += is_chunk(k);
  EXPECT_GT(chunk_writes, 3u);
}

TEST(ExtendColumns, WritesWhatExtendWrites) {
  TempDir dir;
  auto a = open_or_die(dir.sub("rows"));
  auto b = open_or_die(dir.sub("columns"));
  ASSERT_TRUE(a && b);
  create_tensors(*a);
  create_tensors(*b);
  for (uint64_t k = 0; k < 5; ++k) {
    SampleBatch batch = make_batch(k, 20 + k * 31);
    ASSERT_TRUE(a->extend(batch).ok());
    Columns c = columns_of(batch);
    Status st = b->extend_columns(c.batch());
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  // An empty batch adds nothing.
  Columns empty;
  empty.image = Array::Zeros(DType::kUInt8, {0, 8, 8, 3});
  empty.embedding = Array::Zeros(DType::kFloat32, {0, 16});
  ASSERT_TRUE(b->extend_columns(empty.batch()).ok());
  expect_same_datasets(*a, *b);
  ASSERT_TRUE(a->flush().ok() && b->flush().ok());
  a.reset();
  b.reset();
  auto ra = open_or_die(dir.sub("rows"));
  auto rb = open_or_die(dir.sub("columns"));
  ASSERT_TRUE(ra && rb);
  expect_same_datasets(*ra, *rb);
}

TEST(ExtendColumns, RejectsBadColumnsAndWritesNothing) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  ASSERT_TRUE(ds);
  create_tensors(*ds);
  Columns good = columns_of(make_batch(0, 10));
  ASSERT_TRUE(ds->extend_columns(good.batch()).ok());

  auto expect_invalid = [&](const ColumnBatch& batch, const std::string& needle) {
    Status st = ds->extend_columns(batch);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
    EXPECT_EQ(ds->size(), 10u);
  };
  ColumnBatch missing = good.batch();
  missing.erase("meta");
  expect_invalid(missing, "missing tensor 'meta'");

  ColumnBatch unknown = good.batch();
  unknown["nope"].items.push_back("x");
  expect_invalid(unknown, "unknown tensor 'nope'");

  Columns short_text = good;
  short_text.text.pop_back();
  expect_invalid(short_text.batch(), "batch length mismatch");

  Columns wrong_dtype = good;
  wrong_dtype.embedding = Array::Zeros(DType::kFloat64, {10, 16});
  expect_invalid(wrong_dtype.batch(), "float32");

  Columns wrong_rank = good;
  wrong_rank.image = Array::Zeros(DType::kUInt8, {10, 8, 8, 3, 1});  // images are (H, W[, C])
  expect_invalid(wrong_rank.batch(), "image");

  Columns no_batch_axis = good;
  no_batch_axis.embedding = Array::Scalar<float>(DType::kFloat32, 1.0f);
  expect_invalid(no_batch_axis.batch(), "first axis is the batch");

  Columns bad_json = good;
  bad_json.meta[3] = "{not json";
  expect_invalid(bad_json.batch(), "sample 3 of the batch");

  // Still writable and intact after the refusals.
  ASSERT_TRUE(ds->extend_columns(good.batch()).ok());
  EXPECT_EQ(ds->size(), 20u);
  auto t = ds->read("text", 13);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->as_string_view(), good.text[3]);
}

}  // namespace
}  // namespace gtn
