// What a writer may never do (publish too few rows, accept what readers refuse, grow
// without bound, turn a foreign folder into a dataset), what open costs (root, ref and
// manifest only; chunks verified when first touched), and the schema and batch writes
// users reach for: truncate, delete/rename tensor, batch update, close, pre-encoded images.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gtn/codec/image_codec.h"
#include "gtn/dataset.h"
#include "gtn/store/manifest.h"
#include "gtn/store/root_file.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

namespace fs = std::filesystem;
using store::testing::random_u8;
using store::testing::same;
using store::testing::TempDir;
using store::testing::spec;
using store::testing::expect_healthy;
using store::testing::folder_bytes;

OpenOptions read_only() {
  OpenOptions o;
  o.read_only = true;
  return o;
}

std::vector<std::string> chunk_files(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root + "/chunks")) {
    if (e.is_regular_file() && e.path().extension() == ".chunk") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}


Array f32_row(float v, int64_t n = 4) {
  Array a = Array::Zeros(DType::kFloat32, {n});
  for (int64_t i = 0; i < n; ++i) static_cast<float*>(a.mutable_data())[i] = v + static_cast<float>(i);
  return a;
}



std::unique_ptr<Dataset> open_rw(const std::string& path) {
  auto ds = Dataset::Open(path);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(*ds) : nullptr;
}

// The reproducer: pop after a flush, then an extend that seals a chunk of another tensor,
// must not publish a manifest with fewer rows than the writer holds.
TEST(Lifecycle, PopThenExtendNeverPublishesTooFewRows) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec a = spec("a", DType::kFloat32, 4096);
  ASSERT_TRUE(ds->create_tensor(a).ok());
  TensorSpec b;
  b.name = "b";
  b.htype = "text";
  ASSERT_TRUE(ds->create_tensor(b).ok());
  auto extend = [&](int n, int base) {
    SampleBatch batch;
    for (int i = 0; i < n; ++i) {
      batch["a"].push_back(f32_row(static_cast<float>(base + i)));
      batch["b"].push_back(Array::Text("row " + std::to_string(base + i)));
    }
    return ds->extend(batch);
  };
  ASSERT_TRUE(extend(10, 0).ok());
  ASSERT_TRUE(ds->flush().ok());
  ASSERT_TRUE(ds->pop().ok());
  ASSERT_TRUE(extend(600, 9).ok());  // seals chunks of "a" (16 bytes a row, 4096 a chunk)
  {
    auto reader = Dataset::Open(dir.path(), read_only());
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    // Published: at least the 9 rows the writer kept, never fewer.
    EXPECT_GE((*reader)->size(), 9u);
    for (uint64_t i = 0; i < (*reader)->size(); ++i) {
      auto v = (*reader)->read("a", i);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_EQ(v->data_as<float>()[0], static_cast<float>(i));
    }
  }
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  EXPECT_TRUE(issues->empty()) << (*issues)[0].object << ": " << (*issues)[0].problem;
  ASSERT_TRUE(ds->close().ok());
  auto again = Dataset::Open(dir.path(), read_only());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->size(), 609u);
}

TEST(Lifecycle, FsckFlagsAManifestLengthBelowWhatChunksHold) {
  TempDir dir;
  {
    auto ds = open_rw(dir.path());
    TensorSpec a = spec("a", DType::kFloat32);
    ASSERT_TRUE(ds->create_tensor(a).ok());
    SampleBatch batch;
    for (int i = 0; i < 10; ++i) batch["a"].push_back(f32_row(static_cast<float>(i)));
    ASSERT_TRUE(ds->extend(batch).ok());
  }
  // Rewrite the manifest with a length of 3 (checksum intact): rows 3..9 unreachable.
  std::string ref;
  std::ifstream(dir.path() + "/refs/heads/main") >> ref;
  std::string key = "versions/" + ref + ".manifest";
  std::ifstream in(dir.path() + "/" + key, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  store::Manifest m;
  ASSERT_TRUE(store::decode_manifest(bytes, &m).ok());
  m.length = 3;
  std::ofstream(dir.path() + "/" + key, std::ios::binary | std::ios::trunc) << store::encode_manifest(m, m.nodes);
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  ASSERT_EQ(issues->size(), 1u);
  EXPECT_EQ((*issues)[0].object, key);
  // Format 2 manifests also count their sample ids, which no longer match the length.
  EXPECT_NE((*issues)[0].problem.find("the sample id table holds 10 ids, not the dataset length 3"),
            std::string::npos)
      << (*issues)[0].problem;
}

// A writer accepts only what a reader accepts: no single bad sample makes earlier data
// unreachable.
TEST(Lifecycle, WriterRefusesShapesReadersRefuse) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec t = spec("x", DType::kUInt8);
  ASSERT_TRUE(ds->create_tensor(t).ok());
  ASSERT_TRUE(ds->append({{"x", random_u8({3}, 1)}}).ok());
  ASSERT_TRUE(ds->flush().ok());
  for (Shape bad : {Shape{0, 1ll << 40}, Shape{0, 1ll << 47}, Shape{2, 0, 1ll << 41}, Shape{1ll << 40, 0}}) {
    Array empty = Array::Zeros(DType::kUInt8, bad);
    Status st = ds->append({{"x", empty}});
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << shape_to_string(bad);
    EXPECT_NE(st.message().find("below 2^40"), std::string::npos) << st.message();
    SampleBatch batch;
    batch["x"] = {random_u8({3}, 2), empty};
    EXPECT_EQ(ds->extend(batch).code(), StatusCode::kInvalidArgument);
    Column col;
    col.rows = Array::Zeros(DType::kUInt8, [&] { Shape s{1}; s.insert(s.end(), bad.begin(), bad.end()); return s; }());
    EXPECT_EQ(ds->extend_columns({{"x", col}}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ds->update("x", 0, empty).code(), StatusCode::kInvalidArgument);
  }
  ASSERT_TRUE(ds->close().ok());
  auto reader = Dataset::Open(dir.path(), read_only());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), 1u);
  EXPECT_TRUE((*reader)->read("x", 0).ok());
  expect_healthy(dir.path());
}

// Open reads the root, the ref and the manifest: a chunk is mapped and checked when a read
// first touches it, so one damaged chunk fails only the reads that need it.
TEST(Lifecycle, OpenTouchesNoChunkAndDamageStaysLocal) {
  TempDir dir;
  {
    auto ds = open_rw(dir.path());
    TensorSpec t = spec("x", DType::kUInt8, 1000);
    ASSERT_TRUE(ds->create_tensor(t).ok());
    SampleBatch batch;
    for (int i = 0; i < 40; ++i) batch["x"].push_back(random_u8({100}, static_cast<uint64_t>(i)));
    ASSERT_TRUE(ds->extend(batch).ok());
  }
  auto files = chunk_files(dir.path());
  ASSERT_EQ(files.size(), 4u);
  // Move every chunk file away: open and the schema need none of them; reads fail.
  for (const auto& f : files) fs::rename(f, f + ".away");
  {
    auto ds = Dataset::Open(dir.path(), read_only());
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ((*ds)->size(), 40u);
    EXPECT_TRUE((*ds)->tensor_spec("x").ok());
    auto r = (*ds)->read("x", 13);
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("missing"), std::string::npos);
  }
  for (const auto& f : files) fs::rename(f + ".away", f);
  // Damage one data byte of the third chunk file: only its samples fail, with its name.
  std::string victim = files[2];
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-10, std::ios::end);
    char c;
    f.get(c);
    f.seekp(-10, std::ios::end);
    f.put(static_cast<char>(c ^ 0x40));
  }
  auto ds = Dataset::Open(dir.path(), read_only());
  ASSERT_TRUE(ds.ok());
  int failed = 0;
  for (uint64_t i = 0; i < 40; ++i) {
    auto r = (*ds)->read("x", i);
    if (r.ok()) {
      EXPECT_TRUE(same(*r, random_u8({100}, i))) << i;
      continue;
    }
    ++failed;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find(fs::path(victim).filename().string()), std::string::npos);
  }
  // 10 samples per chunk, one 16 KiB block per chunk: the whole chunk's samples fail.
  EXPECT_EQ(failed, 10);
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  ASSERT_EQ(issues->size(), 1u);
  EXPECT_NE((*issues)[0].problem.find("checksum mismatch in data block 0"), std::string::npos);
}

TEST(Lifecycle, NewDatasetsCarryTheBlockChecksumFeature) {
  TempDir dir;
  { auto ds = open_rw(dir.path()); }
  std::ifstream in(dir.path() + "/gtn.json");
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(json.find(store::kFeatureBlockChecksums), std::string::npos) << json;
  // A reader that does not know a feature refuses with Unsupported, naming it.
  store::RootFile root;
  ASSERT_TRUE(store::decode_root(json, &root).ok());
  root.reader_features.push_back("from_the_future");
  std::ofstream(dir.path() + "/gtn.json", std::ios::trunc) << store::encode_root(root);
  auto ds = Dataset::Open(dir.path(), read_only());
  EXPECT_EQ(ds.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(ds.status().message().find("from_the_future"), std::string::npos);
}

TEST(Lifecycle, AForeignFolderIsNeverTurnedIntoADataset) {
  TempDir dir;
  fs::create_directories(dir.sub("photos"));
  std::ofstream(dir.sub("photos") + "/cat.jpg") << "not really";
  auto ds = Dataset::Open(dir.sub("photos"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ds.status().message().find("not a GTN dataset"), std::string::npos) << ds.status().message();
  EXPECT_NE(ds.status().message().find("cat.jpg"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.sub("photos") + "/gtn.json"));
  EXPECT_FALSE(fs::exists(dir.sub("photos") + "/versions"));
  // An empty folder, a new path, and an existing dataset are fine.
  fs::create_directories(dir.sub("empty"));
  EXPECT_TRUE(Dataset::Open(dir.sub("empty")).ok());
  EXPECT_TRUE(Dataset::Open(dir.sub("new/nested")).ok());
  EXPECT_TRUE(Dataset::Open(dir.sub("empty")).ok());
  std::ofstream(dir.sub("file")) << "x";
  EXPECT_EQ(Dataset::Open(dir.sub("file")).status().code(), StatusCode::kInvalidArgument);
}

TEST(Lifecycle, TruncateDeleteRenameAndClose) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec a = spec("a", DType::kFloat32, 64);
  ASSERT_TRUE(ds->create_tensor(a).ok());
  TensorSpec b;
  b.name = "b";
  b.htype = "text";
  ASSERT_TRUE(ds->create_tensor(b).ok());
  SampleBatch batch;
  for (int i = 0; i < 20; ++i) {
    batch["a"].push_back(f32_row(static_cast<float>(i)));
    batch["b"].push_back(Array::Text("t" + std::to_string(i)));
  }
  ASSERT_TRUE(ds->extend(batch).ok());
  ASSERT_TRUE(ds->flush().ok());
  EXPECT_EQ(ds->truncate(21).code(), StatusCode::kOutOfRange);
  ASSERT_TRUE(ds->truncate(7).ok());
  EXPECT_EQ(ds->size(), 7u);
  ASSERT_TRUE(ds->rename_tensor("b", "caption").ok());
  EXPECT_EQ(ds->rename_tensor("caption", "a").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ds->rename_tensor("nope", "x").code(), StatusCode::kNotFound);
  ASSERT_TRUE(ds->delete_tensor("a").ok());
  EXPECT_EQ(ds->tensor_names(), std::vector<std::string>{"caption"});
  // A tensor created after a delete never reuses the deleted one's key.
  TensorSpec c = spec("a", DType::kInt32);
  ASSERT_TRUE(ds->create_tensor(c).ok());
  ASSERT_TRUE(ds->close().ok());
  EXPECT_EQ(ds->append({}).code(), StatusCode::kInvalidArgument);  // closed
  EXPECT_TRUE(ds->close().ok());

  auto r = Dataset::Open(dir.path(), read_only());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 7u);
  EXPECT_EQ((*r)->tensor_names(), (std::vector<std::string>{"caption", "a"}));
  for (uint64_t i = 0; i < 7; ++i) {
    auto t = (*r)->read("caption", i);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->as_string_view(), "t" + std::to_string(i));
    auto e = (*r)->read("a", i);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->numel(), 0);  // rows before the tensor existed read as empty samples
  }
  // Tensor keys are t<n>-<random>: the third tensor's folder (never reused).
  bool third = false;
  for (const auto& e : fs::directory_iterator(dir.path() + "/chunks")) third = third || e.path().filename().string().rfind("t2-", 0) == 0;
  EXPECT_TRUE(third);
  expect_healthy(dir.path());
}

TEST(Lifecycle, BatchUpdateChecksEverythingFirstAndWritesOnePatchChunk) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec a = spec("a", DType::kFloat32, 160);  // 10 rows a chunk
  ASSERT_TRUE(ds->create_tensor(a).ok());
  SampleBatch batch;
  for (int i = 0; i < 35; ++i) batch["a"].push_back(f32_row(static_cast<float>(i)));
  ASSERT_TRUE(ds->extend(batch).ok());
  // A bad value anywhere: nothing changes.
  Status bad = ds->update("a", {1, 2}, {f32_row(100), Array::Zeros(DType::kFloat64, {4})});
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->update("a", {1, 35}, {f32_row(100), f32_row(101)}).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ds->update("a", {1}, {f32_row(100), f32_row(101)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->read("a", 1)->data_as<float>()[0], 1.0f);
  size_t before = chunk_files(dir.path()).size();
  // Indices in three chunks and the pending rows; a repeated index takes its last value.
  ASSERT_TRUE(ds->update("a", {3, 5, 14, 33, 3, 22}, {f32_row(-3), f32_row(-5), f32_row(-14), f32_row(-33),
                                                      f32_row(-30), f32_row(-22)}).ok());
  // One patch chunk holds the new values of the committed samples; the chunks they came
  // from stay (their other samples are still read from them).
  EXPECT_EQ(chunk_files(dir.path()).size(), before + 1);
  ASSERT_TRUE(ds->flush().ok());
  EXPECT_EQ(chunk_files(dir.path()).size(), before + 2);  // + the sealed pending chunk
  std::vector<float> want(35);
  for (int i = 0; i < 35; ++i) want[i] = static_cast<float>(i);
  want[3] = -30, want[5] = -5, want[14] = -14, want[33] = -33, want[22] = -22;
  for (uint64_t i = 0; i < 35; ++i) EXPECT_EQ(ds->read("a", i)->data_as<float>()[0], want[i]) << i;
  expect_healthy(dir.path());
}

// Single-sample updates must not grow the dataset without bound: superseded chunk files
// are deleted once no version a reader may hold names them.
TEST(Lifecycle, RepeatedUpdatesDoNotGrowTheDataset) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec img;
  img.name = "img";
  img.htype = "image";
  img.chunk_target_bytes = 1 << 20;
  ASSERT_TRUE(ds->create_tensor(img).ok());
  SampleBatch batch;
  for (int i = 0; i < 100; ++i) batch["img"].push_back(random_u8({64, 64, 3}, static_cast<uint64_t>(i)));
  ASSERT_TRUE(ds->extend(batch).ok());
  ASSERT_TRUE(ds->flush().ok());
  uint64_t start = folder_bytes(dir.path());
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(ds->update("img", static_cast<uint64_t>(k * 5), random_u8({64, 64, 3}, 1000 + k)).ok());
    if (k % 2) ASSERT_TRUE(ds->flush().ok());
  }
  ASSERT_TRUE(ds->flush().ok());
  uint64_t end = folder_bytes(dir.path());
  EXPECT_LT(end, start + start / 4) << start << " -> " << end;
  for (int i = 0; i < 100; ++i) {
    uint64_t seed = i % 5 == 0 && i < 100 ? 1000 + i / 5 : static_cast<uint64_t>(i);
    EXPECT_TRUE(same(*ds->read("img", static_cast<uint64_t>(i)), random_u8({64, 64, 3}, seed))) << i;
  }
  expect_healthy(dir.path());
}

// While a reader has the dataset open, the files its version names are kept.
TEST(Lifecycle, SupersededFilesOutliveOpenReaders) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  ASSERT_TRUE(ds->create_tensor(spec("x", DType::kUInt8)).ok());
  ASSERT_TRUE(ds->create_tensor(spec("y", DType::kUInt8)).ok());
  SampleBatch batch;
  for (int i = 0; i < 10; ++i) {
    batch["x"].push_back(random_u8({50}, static_cast<uint64_t>(i)));
    batch["y"].push_back(random_u8({50}, static_cast<uint64_t>(100 + i)));
  }
  ASSERT_TRUE(ds->extend(batch).ok());
  ASSERT_TRUE(ds->flush().ok());
  size_t all = chunk_files(dir.path()).size();
  auto reader = Dataset::Open(dir.path(), read_only());
  ASSERT_TRUE(reader.ok());
  // Deleting y supersedes its chunk files (never committed), which the reader's version names.
  ASSERT_TRUE(ds->delete_tensor("y").ok());
  ASSERT_TRUE(ds->flush().ok());
  EXPECT_EQ(chunk_files(dir.path()).size(), all);
  for (uint64_t i = 0; i < 10; ++i) {
    auto r = (*reader)->read("y", i);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(same(*r, random_u8({50}, 100 + i)));
  }
  reader->reset();
  ASSERT_TRUE(ds->flush().ok());  // nothing changed: nothing to publish, but reclaims
  EXPECT_LT(chunk_files(dir.path()).size(), all);
  EXPECT_TRUE(same(*ds->read("x", 4), random_u8({50}, 4)));
  expect_healthy(dir.path());
}

TEST(Lifecycle, ClassLabelsMustIndexClassNames) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec t;
  t.name = "label";
  t.htype = "class_label";
  t.class_names = {"cat", "dog"};
  ASSERT_TRUE(ds->create_tensor(t).ok());
  EXPECT_TRUE(ds->append({{"label", Array::Scalar<int64_t>(DType::kInt64, 1)}}).ok());
  for (int64_t bad : {2, -1, 7}) {
    Status st = ds->append({{"label", Array::Scalar<int64_t>(DType::kInt64, bad)}});
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("class_names"), std::string::npos) << st.message();
  }
  Column col;
  col.rows = Array::Zeros(DType::kInt64, {3});
  static_cast<int64_t*>(col.rows.mutable_data())[2] = 5;
  EXPECT_EQ(ds->extend_columns({{"label", col}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->size(), 1u);
}

// JPEG/PNG files whose format matches the tensor's sample compression are stored as they
// are: the bytes read back from the chunk are the file's bytes.
TEST(Lifecycle, EncodedImagesAreStoredAsTheyAre) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec t;
  t.name = "img";
  t.htype = "image";
  t.sample_compression = Compression::kPng;
  ASSERT_TRUE(ds->create_tensor(t).ok());
  Array pixels = random_u8({12, 9, 3}, 5);
  auto png = codec::encode_image(Compression::kPng, static_cast<const uint8_t*>(pixels.data()), pixels.shape());
  ASSERT_TRUE(png.ok());
  Column col;
  col.items = {*png};
  col.encoded_shapes = {Shape{12, 9, 3}};
  ASSERT_TRUE(ds->extend_columns({{"img", col}}).ok());
  col.encoded_shapes = {Shape{12, 9, 4}};  // not what the bytes hold
  Status st = ds->extend_columns({{"img", col}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  col.items = {"GIF89a..."};
  col.encoded_shapes = {Shape{12, 9, 3}};
  EXPECT_EQ(ds->extend_columns({{"img", col}}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(ds->flush().ok());
  auto back = ds->read("img", 0);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(same(*back, pixels));
  auto files = chunk_files(dir.path());
  ASSERT_EQ(files.size(), 1u);
  std::ifstream in(files[0], std::ios::binary);
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(chunk.find(*png), std::string::npos);
}

// 16-bit images are stored losslessly as PNG: every value reads back as written.
TEST(Lifecycle, Uint16PngIsLossless) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  TensorSpec t;
  t.name = "depth";
  t.htype = "image";
  t.dtype = DType::kUInt16;
  t.sample_compression = Compression::kPng;
  ASSERT_TRUE(ds->create_tensor(t).ok());
  for (int64_t c : {1, 2, 3, 4}) {
    Array img = Array::Zeros(DType::kUInt16, {7, 5, c});
    auto* p = static_cast<uint16_t*>(img.mutable_data());
    for (int64_t k = 0; k < img.numel(); ++k) p[k] = static_cast<uint16_t>((k * 7919 + c * 58) % 65536);
    ASSERT_TRUE(ds->append({{"depth", img}}).ok());
    ASSERT_TRUE(ds->flush().ok());
    auto back = ds->read("depth", static_cast<uint64_t>(c - 1));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(same(*back, img)) << c;
  }
  TensorSpec j = t;
  j.name = "j";
  j.sample_compression = Compression::kJpeg;
  EXPECT_EQ(ds->create_tensor(j).code(), StatusCode::kInvalidArgument);
  expect_healthy(dir.path());
}

// Range reads copy back-to-back runs at once; they must give exactly the per-sample bytes,
// across chunk boundaries, pending samples and compressed chunks, and stop at the first
// sample of another shape.
TEST(Lifecycle, ReadRowsIntoMatchesPerSampleReads) {
  for (Compression cc : {Compression::kNone, Compression::kLz4}) {
    TempDir dir;
    auto ds = open_rw(dir.path());
    TensorSpec t = spec("x", DType::kFloat32, 200);  // 12 rows of 16 bytes a chunk
    t.chunk_compression = cc;
    ASSERT_TRUE(ds->create_tensor(t).ok());
    SampleBatch batch;
    for (int i = 0; i < 100; ++i) batch["x"].push_back(f32_row(static_cast<float>(i * 10)));
    batch["x"][60] = f32_row(600, 3);  // another shape
    ASSERT_TRUE(ds->extend(batch).ok());  // the last rows stay pending
    size_t ti = *ds->tensor_index("x");
    std::vector<float> buf(4 * 100, -1);
    auto n = ds->read_rows_into(ti, 3, 60, Shape{4}, buf.data(), buf.size() * 4);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 57u);
    for (uint64_t i = 3; i < 60; ++i) {
      for (int k = 0; k < 4; ++k) ASSERT_EQ(buf[(i - 3) * 4 + k], static_cast<float>(i * 10 + k)) << i;
    }
    n = ds->read_rows_into(ti, 50, 70, Shape{4}, buf.data(), buf.size() * 4);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 10u);  // stops before sample 60
    n = ds->read_rows_into(ti, 61, 100, Shape{4}, buf.data(), buf.size() * 4);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 39u);  // through the pending rows
    EXPECT_EQ(buf[38 * 4], 990.0f);
    EXPECT_EQ(ds->read_rows_into(ti, 0, 10, Shape{4}, buf.data(), 10).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ds->read_rows_into(ti, 0, 101, Shape{4}, buf.data(), 1 << 20).status().code(), StatusCode::kOutOfRange);
  }
}

}  // namespace
}  // namespace gtn
