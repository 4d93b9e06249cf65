// Dataset::expire_history: the cut commit reads as a root everywhere (log, ~N, fsck, reopen),
// gc frees what only its ancestors held (a rechunk's old layout), and what other refs or
// saved views reach stays.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::expect_healthy;
using store::testing::random_f32;
using store::testing::TempDir;

using store::testing::open_or_die;

uint64_t folder_size(const std::string& path) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// 2,000 rows of 256 float32 (2 MB) in 64 KB chunks, committed; then a rechunk to 1 MB chunks.
struct History {
  std::string ingest, rechunked;
  Array rows;
};

History make(Dataset& ds) {
  History h;
  TensorSpec s;
  s.name = "x";
  s.htype = "generic";
  s.dtype = DType::kFloat32;
  s.chunk_target_bytes = 64 << 10;
  EXPECT_TRUE(ds.create_tensor(s).ok());
  h.rows = random_f32({2000, 256}, 7);
  ColumnBatch batch;
  batch["x"].rows = h.rows;
  EXPECT_TRUE(ds.extend_columns(batch).ok());
  h.ingest = *ds.commit("ingest");
  RechunkOptions ro;
  ro.layouts["x"].chunk_target_bytes = 1 << 20;
  auto st = ds.rechunk(ro);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  h.rechunked = st.ok() ? st->commit : "";
  return h;
}

void expect_rows(const Dataset& ds, const Array& rows) {
  ASSERT_EQ(ds.size(), static_cast<uint64_t>(rows.shape()[0]));
  auto t = ds.tensor_index("x");
  ASSERT_TRUE(t.ok());
  std::vector<float> got(rows.numel());
  auto n = ds.read_rows_into(*t, 0, ds.size(), {256}, got.data(), got.size() * 4);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, ds.size());
  EXPECT_EQ(std::memcmp(got.data(), rows.data(), rows.nbytes()), 0);
}

TEST(ExpireHistory, FreesTheOldLayoutOfARechunkAndCutsTheLog) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  History h = make(*ds);
  uint64_t before = folder_size(dir.path());
  auto st = ds->expire_history("HEAD");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  // The old layout (2 MB in 64 KB chunks) is gone; the new one stays.
  EXPECT_GE(st->bytes_freed, 2000u * 256 * 4);
  EXPECT_LT(folder_size(dir.path()), before - 2000u * 256 * 4 + (64u << 10));
  auto log = ds->log();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].id, h.rechunked);
  EXPECT_TRUE((*log)[0].parents.empty());
  auto past = ds->open_version("main~1");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("was expired"), std::string::npos) << past.status().ToString();
  // The ingest commit's manifest may stay (the new commit shares its table nodes), but it
  // cannot be opened: its chunks are gone.
  auto gone = ds->open_version(h.ingest);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("no longer reachable"), std::string::npos) << gone.status().ToString();
  expect_rows(*ds, h.rows);
  // Writing on goes on from the cut commit.
  ColumnBatch more;
  more["x"].rows = random_f32({10, 256}, 8);
  ASSERT_TRUE(ds->extend_columns(more).ok());
  auto c = ds->commit("more");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(ds->log()->size(), 2u);
  ASSERT_TRUE(ds->close().ok());
  // Reopened (writer and reader): still cut, healthy.
  auto again = open_or_die(dir.path(), OpenOptions{.read_only = true});
  ASSERT_EQ(again->log()->size(), 2u);
  EXPECT_TRUE(again->log()->back().parents.empty());
  expect_healthy(dir.path());
}

TEST(ExpireHistory, KeepsWhatOtherRefsAndViewsReach) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  History h = make(*ds);
  ASSERT_TRUE(ds->tag("v1", h.ingest).ok());
  auto st = ds->expire_history("main");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->bytes_freed, 0u);  // the tag still reaches the old layout
  auto old = ds->open_version("v1");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  expect_rows(**old, h.rows);
  old->reset();
  ASSERT_EQ(ds->log()->size(), 1u);
  ASSERT_TRUE(ds->delete_tag("v1").ok());
  auto gc = ds->gc();
  ASSERT_TRUE(gc.ok());
  EXPECT_GE(gc->bytes_freed, 2000u * 256 * 4);
  // Expiring again at the same commit changes nothing; a tag name resolves too.
  auto twice = ds->expire_history(h.rechunked);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->files_deleted, 0u);
  expect_rows(*ds, h.rows);
  expect_healthy(dir.path());
}

TEST(ExpireHistory, ErrorsSayWhatIsWrong) {
  TempDir dir;
  auto ds = open_or_die(dir.path());
  History h = make(*ds);
  auto st = ds->expire_history("no-such-branch");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("no branch, tag or commit 'no-such-branch'"), std::string::npos);
  ASSERT_TRUE(ds->close().ok());
  auto ro = open_or_die(dir.path(), OpenOptions{.read_only = true});
  auto refused = ro->expire_history("HEAD");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("read-only"), std::string::npos);
  // Nothing was cut by the refusals.
  EXPECT_EQ(ro->log()->size(), 2u);
}

}  // namespace
}  // namespace gtn
