#include "gtn/store/chunk_cache.h"

#include <gtest/gtest.h>

namespace gtn::store {
namespace {

std::shared_ptr<const std::string> bytes(size_t n) { return std::make_shared<const std::string>(n, 'x'); }

TEST(ChunkCache, EvictsLeastRecentlyUsedWithinTheBound) {
  ChunkCache cache(100);
  cache.put(1, bytes(40));
  cache.put(2, bytes(40));
  ASSERT_NE(cache.get(1), nullptr);  // 1 is now the most recent
  cache.put(3, bytes(40));           // 120 > 100: evicts 2
  EXPECT_NE(cache.get(1), nullptr);
  EXPECT_EQ(cache.get(2), nullptr);
  EXPECT_NE(cache.get(3), nullptr);
  EXPECT_EQ(cache.bytes(), 80u);
  cache.put(4, bytes(101));  // larger than the whole bound: not kept
  EXPECT_EQ(cache.get(4), nullptr);
  EXPECT_LE(cache.bytes(), 100u);
}

TEST(ChunkCache, ZeroCapacityKeepsNothing) {
  ChunkCache cache(0);
  cache.put(1, bytes(1));
  EXPECT_EQ(cache.get(1), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace gtn::store
