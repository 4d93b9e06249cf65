#include "gtn/dataset.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::random_f32;
using store::testing::random_text;
using store::testing::random_u8;
using store::testing::same;
using store::testing::spec;
using store::testing::TempDir;

using store::testing::open_or_die;

// The i-th sample of the four-tensor test dataset; ragged images and text.
Sample make_sample(uint64_t i) {
  Sample s;
  s["image"] = random_u8({static_cast<int64_t>(4 + i % 5), 6, 3}, i);
  s["embedding"] = random_f32({16}, 1000 + i);
  s["label"] = Array::Scalar<int64_t>(DType::kInt64, static_cast<int64_t>(i * 7));
  s["text"] = Array::Text(random_text(i % 11, 2000 + i));  // some empty
  return s;
}

void create_four(Dataset& ds, uint64_t target) {
  ASSERT_TRUE(ds.create_tensor(spec("image", "image", std::nullopt, target)).ok());
  ASSERT_TRUE(ds.create_tensor(spec("embedding", "embedding", std::nullopt, target)).ok());
  ASSERT_TRUE(ds.create_tensor(spec("label", "class_label", std::nullopt, target)).ok());
  ASSERT_TRUE(ds.create_tensor(spec("text", "text", std::nullopt, target)).ok());
}

void expect_all(const Dataset& ds, uint64_t n) {
  ASSERT_EQ(ds.size(), n);
  for (uint64_t i = 0; i < n; ++i) {
    auto got = ds.read_sample(i);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    Sample want = make_sample(i);
    for (const auto& [name, value] : want) ASSERT_TRUE(same(got->at(name), value)) << name << " " << i;
  }
}

class DatasetBackends : public ::testing::TestWithParam<bool> {};

TEST_P(DatasetBackends, AppendExtendReadReopen) {
  TempDir dir;
  OpenOptions opts;
  if (GetParam()) opts.storage = make_memory_storage();
  {
    auto ds = open_or_die(dir.path(), opts);
    ASSERT_TRUE(ds);
    create_four(*ds, 300);  // small chunks: many per tensor
    for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(ds->append(make_sample(i)).ok());
    SampleBatch batch;
    for (uint64_t i = 10; i < 60; ++i) {
      for (auto& [name, v] : make_sample(i)) batch[name].push_back(v);
    }
    ASSERT_TRUE(ds->extend(batch).ok());
    expect_all(*ds, 60);  // reads see unflushed samples too
    ASSERT_TRUE(ds->flush().ok());
    auto info = ds->tensor_info("image");
    ASSERT_TRUE(info.ok());
    EXPECT_GT(info->num_chunks, 10u);
    EXPECT_EQ(info->length, 60u);
    EXPECT_EQ(info->min_shape, Shape({4, 6, 3}));
    EXPECT_EQ(info->max_shape, Shape({8, 6, 3}));
  }
  opts.read_only = true;
  auto ro = open_or_die(dir.path(), opts);
  ASSERT_TRUE(ro);
  EXPECT_EQ(ro->tensor_names(), (std::vector<std::string>{"image", "embedding", "label", "text"}));
  expect_all(*ro, 60);
  auto range = ro->read_range("label", 5, 9);
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 4u);
  EXPECT_EQ(*(*range)[2].data_as<int64_t>(), 7 * 7);
  auto batch = ro->read_batch({3, 3, 59, 0});
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(same(batch->at(2).at("text"), make_sample(59).at("text")));
  EXPECT_NE(ro->summary().find("embedding: htype embedding, dtype float32, shape (16,)"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(LocalAndMemory, DatasetBackends, ::testing::Bool());

TEST(Dataset, UncompressedReadsAreZeroCopyViews) {
  TempDir dir;
  {
    auto ds = open_or_die(dir.path());
    create_four(*ds, 1 << 20);
    for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(ds->append(make_sample(i)).ok());
  }
  OpenOptions ro;
  ro.read_only = true;
  auto ds = open_or_die(dir.path(), ro);
  auto t = ds->tensor_index("embedding");
  ASSERT_TRUE(t.ok());
  auto a = ds->read(*t, 3);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->owns_buffer());
  EXPECT_TRUE(same(*a, make_sample(3).at("embedding")));
  std::vector<float> buf(16);
  auto shape = ds->read_into(*t, 4, buf.data(), buf.size() * 4);
  ASSERT_TRUE(shape.ok());
  EXPECT_EQ(*shape, Shape({16}));
  EXPECT_EQ(std::memcmp(buf.data(), make_sample(4).at("embedding").data(), 64), 0);
  EXPECT_EQ(ds->read_into(*t, 4, buf.data(), 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->tensor_index("nope").status().code(), StatusCode::kNotFound);
  auto s = ds->sample_shape(0, 2);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, Shape({6, 6, 3}));
}

TEST(Dataset, CompressionsRoundTrip) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  auto png = spec("png", "image", std::nullopt, 2000);
  png.sample_compression = Compression::kPng;
  auto jpeg = spec("jpeg", "image", std::nullopt, 2000);
  jpeg.sample_compression = Compression::kJpeg;
  auto lz4 = spec("lz4", "embedding", std::nullopt, 2000);
  lz4.sample_compression = Compression::kLz4;
  auto zstd_chunks = spec("zchunk", "text", std::nullopt, 500);
  zstd_chunks.chunk_compression = Compression::kZstd;
  auto lz4_chunks = spec("lchunk", "generic", DType::kInt32, 500);
  lz4_chunks.chunk_compression = Compression::kLz4;
  lz4_chunks.sample_compression = Compression::kZstd;
  for (const auto& s : {png, jpeg, lz4, zstd_chunks, lz4_chunks}) ASSERT_TRUE(ds->create_tensor(s).ok());
  auto smooth = [](uint64_t i) {
    Array a = Array::Zeros(DType::kUInt8, {16, 16, 3});
    auto* p = static_cast<uint8_t*>(a.mutable_data());
    for (size_t k = 0; k < a.nbytes(); ++k) p[k] = static_cast<uint8_t>(k / 3 + i);
    return a;
  };
  auto ints = [](uint64_t i) {
    Array a = Array::Zeros(DType::kInt32, {static_cast<int64_t>(i % 7)});
    for (int64_t k = 0; k < a.numel(); ++k) static_cast<int32_t*>(a.mutable_data())[k] = static_cast<int32_t>(k * i);
    return a;
  };
  for (uint64_t i = 0; i < 40; ++i) {
    Sample s{{"png", random_u8({8, 5, 4}, i)}, {"jpeg", smooth(i)}, {"lz4", random_f32({32}, i)},
             {"zchunk", Array::Text(random_text(30 + i, i))}, {"lchunk", ints(i)}};
    ASSERT_TRUE(ds->append(s).ok());
  }
  ASSERT_TRUE(ds->flush().ok());
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t i = 0; i < 40; ++i) {
      auto s = ds->read_sample(i);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      EXPECT_TRUE(same(s->at("png"), random_u8({8, 5, 4}, i)));
      EXPECT_TRUE(same(s->at("lz4"), random_f32({32}, i)));
      EXPECT_TRUE(same(s->at("zchunk"), Array::Text(random_text(30 + i, i))));
      EXPECT_TRUE(same(s->at("lchunk"), ints(i)));
      const Array& j = s->at("jpeg");
      ASSERT_EQ(j.shape(), Shape({16, 16, 3}));
      Array want = smooth(i);
      double err = 0;
      for (size_t k = 0; k < j.nbytes(); ++k) err += std::abs(int(j.data_as<uint8_t>()[k]) - int(want.data_as<uint8_t>()[k]));
      EXPECT_LT(err / j.nbytes(), 6.0);
    }
  }
  auto info = ds->tensor_info("zchunk");
  ASSERT_TRUE(info.ok());
  EXPECT_GT(info->num_chunks, 2u);
}

TEST(Dataset, TinyChunkCacheStillReadsCorrectly) {
  TempDir dir;
  {
    auto ds = open_or_die(dir.path());
    auto t = spec("t", "text", std::nullopt, 200);
    t.chunk_compression = Compression::kLz4;
    ASSERT_TRUE(ds->create_tensor(t).ok());
    for (uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(ds->append({{"t", Array::Text(random_text(20 + i % 9, i))}}).ok());
  }
  for (uint64_t cache : {0ull, 300ull, 1ull << 20}) {
    OpenOptions ro;
    ro.read_only = true;
    ro.chunk_cache_bytes = cache;
    auto ds = open_or_die(dir.path(), ro);
    std::mt19937_64 rng(cache);
    for (int k = 0; k < 300; ++k) {
      uint64_t i = rng() % 100;
      auto a = ds->read("t", i);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      EXPECT_EQ(a->as_string_view(), random_text(20 + i % 9, i));
    }
  }
}

TEST(Dataset, TensorCreatedLaterReadsEmptySamplesForEarlierRows) {
  TempDir dir;
  {
    auto ds = open_or_die(dir.path());
    ASSERT_TRUE(ds->create_tensor(spec("a", "generic", DType::kInt16)).ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(ds->append({{"a", Array::Scalar<int16_t>(DType::kInt16, int16_t(i))}}).ok());
    ASSERT_TRUE(ds->create_tensor(spec("boxes", "bbox")).ok());
    Array boxes = random_f32({2, 4}, 9);
    ASSERT_TRUE(ds->append({{"a", Array::Scalar<int16_t>(DType::kInt16, 3)}, {"boxes", boxes}}).ok());
    for (uint64_t i = 0; i < 3; ++i) {
      auto e = ds->read("boxes", i);
      ASSERT_TRUE(e.ok());
      EXPECT_EQ(e->shape(), Shape({0}));
      EXPECT_EQ(e->dtype(), DType::kFloat32);
    }
  }
  OpenOptions ro;
  ro.read_only = true;
  auto ds = open_or_die(dir.path(), ro);
  ASSERT_EQ(ds->size(), 4u);
  EXPECT_EQ(ds->read("boxes", 0)->shape(), Shape({0}));
  EXPECT_EQ(ds->read("boxes", 3)->shape(), Shape({2, 4}));
  EXPECT_EQ(*ds->read("a", 2)->data_as<int16_t>(), 2);
}

TEST(Dataset, BadInputGivesClearErrors) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  EXPECT_EQ(ds->append({}).code(), StatusCode::kInvalidArgument);  // no tensors yet
  EXPECT_EQ(ds->create_tensor(spec("g", "generic")).code(), StatusCode::kInvalidArgument);  // no dtype
  EXPECT_EQ(ds->create_tensor(spec("x", "wat", DType::kUInt8)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->create_tensor(spec("e", "embedding", DType::kInt32)).code(), StatusCode::kInvalidArgument);
  auto bad_jpeg = spec("j", "generic", DType::kFloat32);
  bad_jpeg.sample_compression = Compression::kJpeg;
  EXPECT_EQ(ds->create_tensor(bad_jpeg).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(ds->create_tensor(spec("img", "image")).ok());
  ASSERT_TRUE(ds->create_tensor(spec("meta", "json")).ok());
  EXPECT_EQ(ds->create_tensor(spec("img", "image")).code(), StatusCode::kAlreadyExists);

  Array img = random_u8({4, 4, 3}, 1);
  Array js = Array::Text("{\"a\": 1}");
  Status st = ds->append({{"img", random_f32({4, 4, 3}, 1)}, {"meta", js}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("holds uint8 samples, got float32"), std::string::npos) << st.message();
  EXPECT_EQ(ds->append({{"img", random_u8({4}, 1)}, {"meta", js}}).code(), StatusCode::kInvalidArgument);
  st = ds->append({{"img", img}});
  EXPECT_NE(st.message().find("missing tensor 'meta'"), std::string::npos) << st.message();
  st = ds->append({{"img", img}, {"meta", js}, {"extra", js}});
  EXPECT_NE(st.message().find("unknown tensor 'extra'"), std::string::npos) << st.message();
  st = ds->append({{"img", img}, {"meta", Array::Text("{not json")}});
  EXPECT_NE(st.message().find("not valid JSON"), std::string::npos) << st.message();
  ASSERT_TRUE(ds->append({{"img", img}, {"meta", js}}).ok());
  // Rank is fixed by the first sample.
  EXPECT_EQ(ds->append({{"img", random_u8({4, 4}, 1)}, {"meta", js}}).code(), StatusCode::kInvalidArgument);
  SampleBatch batch{{"img", {img, img}}, {"meta", {js}}};
  st = ds->extend(batch);
  EXPECT_NE(st.message().find("batch length mismatch"), std::string::npos) << st.message();
  EXPECT_EQ(ds->size(), 1u);
  st = ds->read("img", 12).status();
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(st.message(), "index 12 out of range for dataset of 1 samples");
  EXPECT_EQ(ds->read("nope", 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->update("img", 5, img).code(), StatusCode::kOutOfRange);
}

TEST(Dataset, OpenErrors) {
  TempDir dir;
  OpenOptions ro;
  ro.read_only = true;
  auto missing = Dataset::Open(dir.sub("nothing"), ro);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), dir.sub("nothing") + " is not a GTN dataset (no gtn.json)");
  std::filesystem::create_directories(dir.sub("plain"));
  auto plain = Dataset::Open(dir.sub("plain"), ro);
  EXPECT_EQ(plain.status().message(), dir.sub("plain") + " is not a GTN dataset (no gtn.json)");
  OpenOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_EQ(Dataset::Open(dir.sub("plain"), no_create).status().code(), StatusCode::kNotFound);

  auto writer = open_or_die(dir.sub("ds"));
  ASSERT_TRUE(writer->create_tensor(spec("a", "text")).ok());
  auto second = Dataset::Open(dir.sub("ds"));
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  EXPECT_NE(second.status().message().find("is locked by another writer (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.status().message();
  auto reader = open_or_die(dir.sub("ds"), ro);  // readers need no lock
  ASSERT_TRUE(reader);
  EXPECT_TRUE(reader->read_only());
  EXPECT_EQ(reader->append({{"a", Array::Text("x")}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->create_tensor(spec("b", "text")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->pop().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->flush().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reader->update("a", 0, Array::Text("y")).message().find("read-only"), std::string::npos);
  writer.reset();
  EXPECT_TRUE(Dataset::Open(dir.sub("ds")).ok());
}

TEST(Dataset, ReadersSeeASnapshot) {
  TempDir dir;
  auto writer = open_or_die(dir.path());
  ASSERT_TRUE(writer->create_tensor(spec("t", "text", std::nullopt, 64)).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(writer->append({{"t", Array::Text(random_text(10, i))}}).ok());
  ASSERT_TRUE(writer->flush().ok());
  OpenOptions ro;
  ro.read_only = true;
  auto reader = open_or_die(dir.path(), ro);
  ASSERT_EQ(reader->size(), 20u);
  for (int i = 20; i < 50; ++i) ASSERT_TRUE(writer->append({{"t", Array::Text(random_text(10, i))}}).ok());
  ASSERT_TRUE(writer->update("t", 3, Array::Text("changed")).ok());
  ASSERT_TRUE(writer->flush().ok());
  EXPECT_EQ(reader->size(), 20u);
  EXPECT_EQ(reader->read("t", 3)->as_string_view(), random_text(10, 3));
  auto fresh = open_or_die(dir.path(), ro);
  EXPECT_EQ(fresh->size(), 50u);
  EXPECT_EQ(fresh->read("t", 3)->as_string_view(), "changed");
}

TEST(Dataset, ConcurrentReadersAgree) {
  TempDir dir;
  {
    auto ds = open_or_die(dir.path());
    create_four(*ds, 4096);
    SampleBatch batch;
    for (uint64_t i = 0; i < 300; ++i) {
      for (auto& [name, v] : make_sample(i)) batch[name].push_back(v);
    }
    ASSERT_TRUE(ds->extend(batch).ok());
  }
  OpenOptions ro;
  ro.read_only = true;
  auto ds = open_or_die(dir.path(), ro);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int k = 0; k < 2000; ++k) {
        uint64_t i = rng() % 300;
        auto s = ds->read_sample(i);
        if (!s.ok() || !same(s->at("image"), make_sample(i).at("image"))) bad++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace gtn
