#include "gtn/store/sample_index.h"

#include <gtest/gtest.h>

#include <random>

namespace gtn::store {
namespace {

// Random lengths and shapes with long runs and ragged stretches, checked against plain vectors.
TEST(SampleIndex, MatchesExplicitReferenceOnRandomInputs) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    PositionEncoder pos;
    ShapeEncoder shapes;
    std::vector<uint64_t> offsets, lengths;
    std::vector<Shape> ref_shapes;
    uint64_t total = 0;
    int n = 1 + static_cast<int>(rng() % 500);
    for (int i = 0; i < n; ++i) {
      bool repeat = !lengths.empty() && rng() % 3 != 0;
      uint64_t len = repeat ? lengths.back() : rng() % 100;
      Shape s = repeat ? ref_shapes.back() : Shape{static_cast<int64_t>(rng() % 5), 3};
      pos.append(len);
      shapes.append(s);
      offsets.push_back(total);
      lengths.push_back(len);
      ref_shapes.push_back(s);
      total += len;
    }
    // Pop a few and check the encoders follow.
    int pops = static_cast<int>(rng() % 5);
    for (int p = 0; p < pops && offsets.size() > 1; ++p) {
      pos.pop_back();
      shapes.pop_back();
      total -= lengths.back();
      offsets.pop_back();
      lengths.pop_back();
      ref_shapes.pop_back();
    }
    std::string bytes;
    pos.encode(&bytes);
    shapes.encode(&bytes);
    ByteReader in(bytes);
    PositionEncoder pos2;
    ShapeEncoder shapes2;
    ASSERT_TRUE(PositionEncoder::decode(&in, &pos2).ok());
    ASSERT_TRUE(ShapeEncoder::decode(&in, &shapes2).ok());
    EXPECT_EQ(in.remaining(), 0u);
    for (const auto* p : {&pos, &pos2}) {
      ASSERT_EQ(p->num_samples(), offsets.size());
      EXPECT_EQ(p->total_bytes(), total);
      for (uint32_t j = 0; j < offsets.size(); ++j) {
        uint64_t off, len;
        p->locate(j, &off, &len);
        ASSERT_EQ(off, offsets[j]);
        ASSERT_EQ(len, lengths[j]);
      }
      // for_each over random sub-ranges visits the same offsets and lengths in order.
      for (int q = 0; q < 10; ++q) {
        uint32_t a = static_cast<uint32_t>(rng() % (offsets.size() + 1));
        uint32_t b = a + static_cast<uint32_t>(rng() % (offsets.size() - a + 1));
        uint32_t next = a;
        p->for_each(a, b, [&](uint32_t j, uint64_t off, uint64_t len) {
          ASSERT_EQ(j, next++);
          ASSERT_EQ(off, offsets[j]);
          ASSERT_EQ(len, lengths[j]);
        });
        ASSERT_EQ(next, b);
      }
    }
    for (const auto* s : {&shapes, &shapes2}) {
      ASSERT_EQ(s->num_samples(), ref_shapes.size());
      for (uint32_t j = 0; j < ref_shapes.size(); ++j) ASSERT_EQ(s->shape(j), ref_shapes[j]);
    }
  }
}

TEST(SampleIndex, FixedSizeRunsCostOneEntry) {
  PositionEncoder pos;
  ShapeEncoder shapes;
  for (int i = 0; i < 10000; ++i) {
    pos.append(12288);
    shapes.append({64, 64, 3});
  }
  EXPECT_EQ(pos.num_runs(), 1u);
  EXPECT_EQ(shapes.num_runs(), 1u);
  std::string bytes;
  pos.encode(&bytes);
  shapes.encode(&bytes);
  EXPECT_LT(bytes.size(), 64u);
}

TEST(SampleIndex, FullyRaggedLooksUpByIndex) {
  PositionEncoder pos;
  ShapeEncoder shapes;
  uint64_t total = 0;
  std::vector<uint64_t> offsets;
  for (int64_t i = 0; i < 1000; ++i) {
    uint64_t len = static_cast<uint64_t>(i % 2 ? 2 * i : 2 * i + 1);  // every length differs from its neighbours
    pos.append(len);
    shapes.append({i % 2 ? i : -1 - i});
    offsets.push_back(total);
    total += len;
  }
  ASSERT_EQ(pos.num_runs(), 1000u);
  ASSERT_EQ(shapes.num_runs(), 1000u);
  for (uint32_t j = 0; j < 1000; ++j) {
    uint64_t off, len;
    pos.locate(j, &off, &len);
    ASSERT_EQ(off, offsets[j]);
    ASSERT_EQ(shapes.shape(j)[0], j % 2 ? int64_t(j) : -1 - int64_t(j));
  }
  pos.append(7, 3);  // no longer one run per sample: binary search again
  uint64_t off, len;
  pos.locate(1001, &off, &len);
  EXPECT_EQ(len, 7u);
  EXPECT_EQ(off, total + 7);
}

TEST(SampleIndex, RejectsMalformedBytes) {
  PositionEncoder pos;
  ShapeEncoder shapes;
  std::string bytes;
  put_le<uint32_t>(&bytes, 2);
  put_le<uint32_t>(&bytes, 5);
  put_le<uint64_t>(&bytes, 1);
  put_le<uint32_t>(&bytes, 5);  // not increasing
  put_le<uint64_t>(&bytes, 1);
  ByteReader in(bytes);
  EXPECT_EQ(PositionEncoder::decode(&in, &pos).code(), StatusCode::kCorruption);
  std::string huge;
  put_le<uint32_t>(&huge, 1000000);
  ByteReader in2(huge);
  EXPECT_EQ(ShapeEncoder::decode(&in2, &shapes).code(), StatusCode::kCorruption);
  std::string rank;
  put_le<uint32_t>(&rank, 1);
  put_le<uint32_t>(&rank, 1);
  put_le<uint8_t>(&rank, 40);
  ByteReader in3(rank);
  EXPECT_EQ(ShapeEncoder::decode(&in3, &shapes).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace gtn::store
