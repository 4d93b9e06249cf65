#include "gtn/storage.h"

#include <gtest/gtest.h>

#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::TempDir;

void exercise(Storage& s) {
  EXPECT_EQ(s.read("a/b.bin").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(s.write_atomic("a/b.bin", "hello").ok());
  ASSERT_TRUE(s.write_atomic("a/c.bin", "").ok());
  ASSERT_TRUE(s.write_atomic("z.json", "{}").ok());
  auto b = s.read("a/b.bin");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->view(), "hello");
  ASSERT_TRUE(s.write_atomic("a/b.bin", "world!").ok());
  EXPECT_EQ((*b)->view(), "hello");  // an earlier read keeps the old bytes
  EXPECT_EQ((*s.read("a/b.bin"))->view(), "world!");
  EXPECT_EQ((*s.read("a/c.bin"))->size(), 0u);
  EXPECT_TRUE(*s.exists("z.json"));
  EXPECT_FALSE(*s.exists("nope"));
  auto keys = s.list("a/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"a/b.bin", "a/c.bin"}));
  ASSERT_TRUE(s.remove("a/c.bin").ok());
  EXPECT_FALSE(*s.exists("a/c.bin"));
  auto lock = s.lock_for_writing();
  ASSERT_TRUE(lock.ok());
  auto second = s.lock_for_writing();
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  EXPECT_NE(second.status().message().find("locked by another writer (pid "), std::string::npos);
  *lock = nullptr;
  EXPECT_TRUE(s.lock_for_writing().ok());
}

TEST(Storage, Local) {
  TempDir dir;
  auto s = open_local_storage(dir.path(), true);
  ASSERT_TRUE(s.ok());
  exercise(**s);
  EXPECT_EQ((*s)->describe(), "file://" + dir.path());
  EXPECT_EQ(open_local_storage(dir.sub("missing"), false).status().code(), StatusCode::kNotFound);
}

TEST(Storage, Memory) {
  auto s = make_memory_storage();
  exercise(*s);
}

}  // namespace
}  // namespace gtn
