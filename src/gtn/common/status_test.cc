#include "gtn/result.h"

#include <string>

#include <gtest/gtest.h>

namespace gtn {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Status::InvalidArgument("expected a positive number, got " + std::to_string(v));
  return v;
}

Result<int> doubled(int v) {
  GTN_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check(int v) {
  GTN_RETURN_IF_ERROR(parse_positive(v).status());
  return Status::OK();
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  Status s = Status::Corruption("chunk 3 checksum mismatch");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.ToString(), "Corruption: chunk 3 checksum mismatch");
  EXPECT_EQ(s.WithContext("reading tensor 'images'").message(),
            "reading tensor 'images': chunk 3 checksum mismatch");
}

TEST(Result, PropagatesValuesAndErrors) {
  auto ok = doubled(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.value_or(7), 7);
  EXPECT_TRUE(check(1).ok());
  EXPECT_EQ(check(0).code(), StatusCode::kInvalidArgument);
}

TEST(Result, OkStatusWithoutValueIsAnInternalError) {
  Result<int> r{Status::OK()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ResultDeathTest, ValueOnAnErrorPrintsTheStatusAndAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> bad = Status::NotFound("no such tensor 'labels'");
  EXPECT_DEATH((void)bad.value(), "Result::value\\(\\) called on an error: NotFound: no such tensor 'labels'");
  EXPECT_DEATH((void)*bad, "NotFound: no such tensor 'labels'");
  EXPECT_DEATH((void)std::move(bad).value(), "NotFound: no such tensor 'labels'");
  const Result<std::string> cbad = Status::Corruption("chunk t0/00a1: checksum mismatch");
  EXPECT_DEATH((void)cbad->size(), "Corruption: chunk t0/00a1: checksum mismatch");
}

}  // namespace
}  // namespace gtn
