// update, pop and tiling, checked against a plain in-memory model of the dataset under
// random sequences of operations, with reopens in between.
#include <gtest/gtest.h>

#include <random>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::random_u8;
using store::testing::same;
using store::testing::TempDir;

struct Model {
  std::vector<Array> bytes;  // tensor "blob": uint8, ragged 1-d, some larger than a chunk
  std::vector<Array> text;   // tensor "text": text, zstd chunks
};

Array blob(std::mt19937_64& rng) {
  uint64_t r = rng() % 10;
  int64_t n = r == 0 ? 0 : r < 8 ? static_cast<int64_t>(rng() % 200) : static_cast<int64_t>(1100 + rng() % 2000);
  return random_u8({n}, rng());
}

Array text(std::mt19937_64& rng) { return Array::Text(store::testing::random_text(rng() % 40, rng())); }

void check(const Dataset& ds, const Model& m) {
  ASSERT_EQ(ds.size(), m.bytes.size());
  for (uint64_t i = 0; i < m.bytes.size(); ++i) {
    auto b = ds.read("blob", i);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    ASSERT_TRUE(same(*b, m.bytes[i])) << "blob " << i;
    auto t = ds.read("text", i);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_TRUE(same(*t, m.text[i])) << "text " << i;
  }
}

class RandomOps : public ::testing::TestWithParam<Compression> {};

TEST_P(RandomOps, MatchTheModel) {
  TempDir dir;
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()) + 17);
  Model m;
  {
    auto ds = Dataset::Open(dir.path());
    ASSERT_TRUE(ds.ok());
    TensorSpec b;
    b.name = "blob";
    b.dtype = DType::kUInt8;
    b.sample_compression = GetParam();
    b.chunk_target_bytes = 1024;
    ASSERT_TRUE((*ds)->create_tensor(b).ok());
    TensorSpec t;
    t.name = "text";
    t.htype = "text";
    t.chunk_compression = Compression::kZstd;
    t.chunk_target_bytes = 512;
    ASSERT_TRUE((*ds)->create_tensor(t).ok());
  }
  for (int session = 0; session < 4; ++session) {
    auto opened = Dataset::Open(dir.path());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto& ds = **opened;
    check(ds, m);
    for (int op = 0; op < 50; ++op) {
      uint64_t r = rng() % 10;
      if (r < 5) {
        Array a = blob(rng), t = text(rng);
        ASSERT_TRUE(ds.append({{"blob", a}, {"text", t}}).ok());
        m.bytes.push_back(a);
        m.text.push_back(t);
      } else if (r < 6) {
        SampleBatch batch;
        for (int k = 0; k < 8; ++k) {
          Array a = blob(rng), t = text(rng);
          batch["blob"].push_back(a);
          batch["text"].push_back(t);
          m.bytes.push_back(a);
          m.text.push_back(t);
        }
        ASSERT_TRUE(ds.extend(batch).ok());
      } else if (r < 8 && !m.bytes.empty()) {
        uint64_t i = rng() % m.bytes.size();
        if (rng() % 2) {
          Array a = blob(rng);
          ASSERT_TRUE(ds.update("blob", i, a).ok());
          m.bytes[i] = a;
        } else {
          Array t = text(rng);
          ASSERT_TRUE(ds.update("text", i, t).ok());
          m.text[i] = t;
        }
      } else if (r < 9 && !m.bytes.empty()) {
        ASSERT_TRUE(ds.pop().ok());
        m.bytes.pop_back();
        m.text.pop_back();
      } else {
        ASSERT_TRUE(ds.flush().ok());
      }
    }
    check(ds, m);
    if (session % 2 == 0) ASSERT_TRUE(ds.flush().ok());  // odd sessions rely on the flush at close
  }
  OpenOptions ro;
  ro.read_only = true;
  auto final_ds = Dataset::Open(dir.path(), ro);
  ASSERT_TRUE(final_ds.ok());
  check(**final_ds, m);
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  EXPECT_TRUE(issues->empty()) << (*issues)[0].object << ": " << (*issues)[0].problem;
}

INSTANTIATE_TEST_SUITE_P(SampleCompressions, RandomOps,
                         ::testing::Values(Compression::kNone, Compression::kLz4, Compression::kZstd));

TEST(Tiling, SampleLargerThanAChunkSpansSeveralFiles) {
  TempDir dir;
  Array big = random_u8({100, 90, 3}, 5);  // 27000 bytes
  {
    auto ds = Dataset::Open(dir.path());
    ASSERT_TRUE(ds.ok());
    TensorSpec s;
    s.name = "img";
    s.htype = "image";
    s.chunk_target_bytes = 4096;
    ASSERT_TRUE((*ds)->create_tensor(s).ok());
    ASSERT_TRUE((*ds)->append({{"img", random_u8({2, 2, 3}, 1)}}).ok());
    ASSERT_TRUE((*ds)->append({{"img", big}}).ok());
    ASSERT_TRUE((*ds)->append({{"img", random_u8({2, 2, 3}, 2)}}).ok());
    auto info = (*ds)->tensor_info("img");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->num_chunks, 1u + 7u);  // one chunk before, seven tiles; the last sample is pending
  }
  OpenOptions ro;
  ro.read_only = true;
  auto ds = Dataset::Open(dir.path(), ro);
  ASSERT_TRUE(ds.ok());
  EXPECT_TRUE(same(*(*ds)->read("img", 1), big));
  EXPECT_TRUE(same(*(*ds)->read("img", 2), random_u8({2, 2, 3}, 2)));
  std::vector<uint8_t> buf(big.nbytes());
  auto shape = (*ds)->read_into(0, 1, buf.data(), buf.size());
  ASSERT_TRUE(shape.ok());
  EXPECT_EQ(*shape, Shape({100, 90, 3}));
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()), big.as_string_view());
}

TEST(Pop, EmptyDatasetIsOutOfRange) {
  TempDir dir;
  auto ds = Dataset::Open(dir.path());
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->pop().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace gtn
