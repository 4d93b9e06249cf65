// Version control (include/gtn/version.h): commit, log, branches, tags, checkout, diff,
// merge, cherry-pick, gc, compaction and concurrent readers, each checked against plain
// in-memory models of the expected values.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

namespace fs = std::filesystem;
using store::testing::same;
using store::testing::TempDir;
using store::testing::spec;
using store::testing::expect_healthy;
using store::testing::folder_bytes;




std::unique_ptr<Dataset> open_rw(const std::string& path, const std::string& version = "") {
  OpenOptions o;
  o.version = version;
  auto ds = Dataset::Open(path, o);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(*ds) : nullptr;
}

std::unique_ptr<Dataset> open_ro(const std::string& path, const std::string& version = "") {
  OpenOptions o;
  o.read_only = true;
  o.version = version;
  auto ds = Dataset::Open(path, o);
  EXPECT_TRUE(ds.ok()) << version << ": " << ds.status().ToString();
  return ds.ok() ? std::move(*ds) : nullptr;
}

Array i64(int64_t v) { return Array::Scalar<int64_t>(DType::kInt64, v); }

// Appends `values` to the single int64 tensor "x" column-wise.
void extend_x(Dataset& ds, const std::vector<int64_t>& values, const std::string& tensor = "x") {
  Array rows = Array::Zeros(DType::kInt64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), static_cast<int64_t*>(rows.mutable_data()));
  ColumnBatch b;
  b[tensor].rows = std::move(rows);
  Status st = ds.extend_columns(b);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::vector<int64_t> iota(int64_t n, int64_t start = 0) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + i;
  return v;
}

// Every value of tensor `t` equals the model.
void expect_values(const Dataset& ds, const std::vector<int64_t>& want, const std::string& t = "x") {
  ASSERT_EQ(ds.size(), want.size());
  if (want.empty()) return;
  auto got = ds.read_range(t, 0, want.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ((*got)[i].numel(), 1) << t << " row " << i;
    ASSERT_EQ((*got)[i].data_as<int64_t>()[0], want[i]) << t << " row " << i;
  }
}

// A dataset with one int64 tensor "x" holding `values`, committed.
std::unique_ptr<Dataset> make_x(const std::string& path, const std::vector<int64_t>& values,
                                uint64_t target = 1024, std::string* commit = nullptr) {
  auto ds = open_rw(path);
  if (!ds) return nullptr;
  EXPECT_TRUE(ds->create_tensor(spec("x", DType::kInt64, target)).ok());
  extend_x(*ds, values);
  auto c = ds->commit("base");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (commit && c.ok()) *commit = *c;
  return ds;
}

void set(Dataset& ds, uint64_t i, int64_t v, const std::string& t = "x") {
  Status st = ds.update(t, i, i64(v));
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::string commit(Dataset& ds, const std::string& msg) {
  auto c = ds.commit(msg);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : std::string();
}

const TensorDiff* find_tensor(const DatasetDiff& d, const std::string& name) {
  for (const auto& t : d.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

using U = std::vector<uint64_t>;

// --- commit and log ---

TEST(Version, CommitAndLog) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->head_commit(), "");
  ASSERT_TRUE(ds->create_tensor(spec("x", DType::kInt64)).ok());
  extend_x(*ds, iota(5));
  EXPECT_TRUE(ds->has_uncommitted_changes());
  auto c1 = ds->commit("first", "alice");
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  EXPECT_EQ(c1->size(), 16u);
  EXPECT_EQ(c1->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(ds->head_commit(), *c1);
  EXPECT_FALSE(ds->has_uncommitted_changes());

  auto none = ds->commit("again");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->head_commit(), *c1);

  set(*ds, 2, 42);
  EXPECT_TRUE(ds->has_uncommitted_changes());
  auto c2 = ds->commit("second", "bob");
  ASSERT_TRUE(c2.ok());
  extend_x(*ds, {7});
  auto c3 = ds->commit("third", "carol");
  ASSERT_TRUE(c3.ok());
  EXPECT_NE(*c1, *c2);
  EXPECT_NE(*c2, *c3);

  auto log = ds->log();
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].id, *c3);
  EXPECT_EQ((*log)[1].id, *c2);
  EXPECT_EQ((*log)[2].id, *c1);
  EXPECT_EQ((*log)[0].parents, std::vector<std::string>{*c2});
  EXPECT_EQ((*log)[1].parents, std::vector<std::string>{*c1});
  EXPECT_TRUE((*log)[2].parents.empty());
  EXPECT_EQ((*log)[0].message, "third");
  EXPECT_EQ((*log)[2].message, "first");
  EXPECT_EQ((*log)[0].author, "carol");
  EXPECT_EQ((*log)[1].author, "bob");
  EXPECT_EQ((*log)[2].author, "alice");
  EXPECT_EQ((*log)[0].length, 6u);
  EXPECT_EQ((*log)[2].length, 5u);
  EXPECT_GE((*log)[0].time_ms, (*log)[2].time_ms);
  EXPECT_GT((*log)[2].time_ms, 0);

  // log of an older commit, by a unique prefix.
  auto old = ds->log(c2->substr(0, 8));
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  ASSERT_EQ(old->size(), 2u);
  EXPECT_EQ((*old)[0].id, *c2);

  // The commit survives a reopen.
  ASSERT_TRUE(ds->close().ok());
  ds = open_rw(dir.path());
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->head_commit(), *c3);
  EXPECT_FALSE(ds->has_uncommitted_changes());
  expect_values(*ds, {0, 1, 42, 3, 4, 7});
  expect_healthy(dir.path());
}

TEST(Version, AuthorFromOptions) {
  TempDir dir;
  OpenOptions o;
  o.author = "opt-author";
  auto ds = Dataset::Open(dir.path(), o);
  ASSERT_TRUE(ds.ok());
  ASSERT_TRUE((*ds)->create_tensor(spec("x", DType::kInt64)).ok());
  extend_x(**ds, {1});
  ASSERT_TRUE((*ds)->commit("m").ok());
  auto log = (*ds)->log();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].author, "opt-author");
}

// --- O(change) commits ---

// Bytes a one-sample update and its commit add to a committed dataset of n int64 samples.
void one_update_cost(uint64_t n, uint64_t* added, uint64_t* manifest_bytes) {
  TempDir dir;
  auto ds = open_rw(dir.path());
  ASSERT_TRUE(ds);
  ASSERT_TRUE(ds->create_tensor(spec("x", DType::kInt64, 32 << 10)).ok());
  const uint64_t step = 50000;
  for (uint64_t b = 0; b < n; b += step) extend_x(*ds, iota(static_cast<int64_t>(std::min(step, n - b)), static_cast<int64_t>(b)));
  ASSERT_TRUE(ds->commit("all").ok());
  if (n >= 200000) {
    auto info = ds->tensor_info("x");
    ASSERT_TRUE(info.ok());
    EXPECT_GE(info->num_chunks, 40u);
  }
  // Sixteen one-sample commits at spread positions: content-defined node boundaries and
  // the periodic re-placement of leaves make the cost of a single one vary; report the
  // mean and the largest manifest.
  const int kCommits = 16;
  uint64_t total = 0;
  *manifest_bytes = 0;
  for (int k = 0; k < kCommits; ++k) {
    uint64_t row = (n / kCommits) * static_cast<uint64_t>(k) + n / 17;
    uint64_t before = folder_bytes(dir.path());
    set(*ds, row, -1 - k);
    auto c = ds->commit("one");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    uint64_t after = folder_bytes(dir.path());
    total += after > before ? after - before : 0;
    std::string mpath = dir.path() + "/versions/" + *c + ".manifest";
    ASSERT_TRUE(fs::exists(mpath)) << mpath;
    *manifest_bytes = std::max<uint64_t>(*manifest_bytes, fs::file_size(mpath));
    auto v = ds->read("x", row);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->data_as<int64_t>()[0], -1 - k);
  }
  *added = total / kCommits;
  expect_healthy(dir.path());
}

// A one-sample commit writes one small patch chunk and the table-tree nodes on the path to
// it. Node boundaries are content-defined (tens of entries per node), so at 20,000 samples
// (~5 chunks) the whole table is one small node and a commit is cheaper than at 200,000
// (~50 chunks, a full node); each 10x adds at most a tree level (measured means:
// ~1.2 KiB at 20k, 2-3 KiB at 200k, 4-6 KiB at 2M).
TEST(Version, CommitCostsWhatChanged) {
  uint64_t small_added = 0, small_manifest = 0, big_added = 0, big_manifest = 0, huge_added = 0, huge_manifest = 0;
  ASSERT_NO_FATAL_FAILURE(one_update_cost(20000, &small_added, &small_manifest));
  ASSERT_NO_FATAL_FAILURE(one_update_cost(200000, &big_added, &big_manifest));
  ASSERT_NO_FATAL_FAILURE(one_update_cost(2000000, &huge_added, &huge_manifest));
  RecordProperty("commit_bytes_20k", std::to_string(small_added));
  RecordProperty("commit_bytes_200k", std::to_string(big_added));
  RecordProperty("commit_bytes_2M", std::to_string(huge_added));
  EXPECT_GT(small_added, 0u);
  EXPECT_LT(small_added, 64u << 10);
  EXPECT_LT(big_added, 64u << 10) << "bytes added by a one-sample commit of 200,000 samples";
  EXPECT_LT(big_manifest, 32u << 10);
  EXPECT_LT(huge_added, 64u << 10);
  EXPECT_LT(huge_manifest, 32u << 10);
  std::printf("mean bytes per one-sample commit: 20k %llu, 200k %llu, 2M %llu\n", (unsigned long long)small_added,
              (unsigned long long)big_added, (unsigned long long)huge_added);
  // A 10x larger table adds at most one tree level (16 entries per node on average):
  // measured 1.3x-1.9x for 20k -> 200k and 1.3x-1.7x for 200k -> 2M (16-commit means).
  // Bytes proportional to the data would be 10x.
  EXPECT_LE(big_added, 3 * small_added) << "20,000 samples: " << small_added << " bytes; 200,000: " << big_added;
  EXPECT_LE(huge_added, 3 * big_added) << "200,000 samples: " << big_added << " bytes; 2,000,000: " << huge_added;
}

// --- reads of past states ---

TEST(Version, ReadOldCommitsByIdAndTag) {
  TempDir dir;
  std::vector<int64_t> model = iota(3000);
  auto ds = make_x(dir.path(), model, 1024);
  ASSERT_TRUE(ds);
  std::vector<std::string> ids;
  std::vector<std::vector<int64_t>> models;
  std::mt19937_64 rng(5);
  for (int k = 0; k < 50; ++k) {
    uint64_t i = rng() % model.size();
    model[i] = 1000000 + k;
    set(*ds, i, model[i]);
    ids.push_back(commit(*ds, "c" + std::to_string(k)));
    models.push_back(model);
  }
  ASSERT_TRUE(ds->tag("t10", ids[10]).ok());
  for (int k : {0, 1, 10, 25, 37, 49}) {
    auto ro = open_ro(dir.path(), ids[k]);
    ASSERT_TRUE(ro);
    EXPECT_TRUE(ro->read_only());
    EXPECT_EQ(ro->head_commit(), ids[k]);
    ASSERT_NO_FATAL_FAILURE(expect_values(*ro, models[k])) << "commit " << k;
  }
  auto t = open_ro(dir.path(), "t10");
  ASSERT_TRUE(t);
  expect_values(*t, models[10]);
  // a unique prefix names a commit too
  auto p = open_ro(dir.path(), ids[3].substr(0, 10));
  ASSERT_TRUE(p);
  expect_values(*p, models[3]);
  // the writer itself, after a checkout of an old commit
  ASSERT_TRUE(ds->checkout(ids[20]).ok());
  expect_values(*ds, models[20]);
  EXPECT_EQ(ds->current_branch(), "");
  ASSERT_TRUE(ds->checkout("main").ok());
  expect_values(*ds, models[49]);
}

// --- branches, tags, checkout ---

TEST(Version, BranchesHoldTheirOwnData) {
  TempDir dir;
  std::string base;
  auto ds = make_x(dir.path(), iota(100), 256, &base);
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->current_branch(), "main");
  ASSERT_TRUE(ds->checkout("dev", {.create = true}).ok());
  EXPECT_EQ(ds->current_branch(), "dev");
  EXPECT_EQ(ds->head_commit(), base);
  set(*ds, 3, 333);
  extend_x(*ds, {1000, 1001});
  std::string d1 = commit(*ds, "dev work");
  std::vector<int64_t> dev = iota(100);
  dev[3] = 333;
  dev.push_back(1000);
  dev.push_back(1001);

  ASSERT_TRUE(ds->checkout("main").ok());
  EXPECT_EQ(ds->head_commit(), base);
  expect_values(*ds, iota(100));
  set(*ds, 4, 444);
  std::string m1 = commit(*ds, "main work");
  std::vector<int64_t> main_v = iota(100);
  main_v[4] = 444;

  auto br = ds->branches();
  ASSERT_TRUE(br.ok());
  EXPECT_TRUE(has(*br, "main"));
  EXPECT_TRUE(has(*br, "dev"));
  EXPECT_EQ(br->size(), 2u);

  ASSERT_TRUE(ds->checkout("dev").ok());
  expect_values(*ds, dev);
  ASSERT_TRUE(ds->checkout("main").ok());
  expect_values(*ds, main_v);

  // Uncommitted changes block a checkout unless forced, and stay on their branch.
  set(*ds, 5, 555);
  Status st = ds->checkout("dev");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(ds->current_branch(), "main");
  ASSERT_TRUE(ds->checkout("dev", {.force = true}).ok());
  EXPECT_EQ(ds->current_branch(), "dev");
  expect_values(*ds, dev);
  EXPECT_FALSE(ds->has_uncommitted_changes());
  ASSERT_TRUE(ds->checkout("main").ok());
  EXPECT_TRUE(ds->has_uncommitted_changes());
  main_v[5] = 555;
  expect_values(*ds, main_v);
  std::string m2 = commit(*ds, "main 2");

  // The branches survive a reopen; the head branch is the last checked out.
  ASSERT_TRUE(ds->checkout("dev").ok());
  ASSERT_TRUE(ds->close().ok());
  ds = open_rw(dir.path());
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->current_branch(), "dev");
  expect_values(*ds, dev);
  {
    OpenOptions o;
    o.version = "main";
    auto locked = Dataset::Open(dir.path(), o);  // refused: the lock is held
    EXPECT_EQ(locked.status().code(), StatusCode::kLocked);
  }
  ASSERT_TRUE(ds->close().ok());
  auto on_main = open_rw(dir.path(), "main");
  ASSERT_TRUE(on_main);
  EXPECT_EQ(on_main->current_branch(), "main");
  EXPECT_EQ(on_main->head_commit(), m2);
  expect_values(*on_main, main_v);
  (void)d1;
  (void)m1;
  expect_healthy(dir.path());
}

TEST(Version, DetachedCheckoutIsReadOnly) {
  TempDir dir;
  std::string base;
  auto ds = make_x(dir.path(), iota(10), 1024, &base);
  ASSERT_TRUE(ds);
  set(*ds, 0, 100);
  std::string c2 = commit(*ds, "two");
  ASSERT_TRUE(ds->tag("v1", base).ok());

  ASSERT_TRUE(ds->checkout(base).ok());
  EXPECT_EQ(ds->current_branch(), "");
  EXPECT_EQ(ds->head_commit(), base);
  expect_values(*ds, iota(10));
  EXPECT_EQ(ds->update("x", 1, i64(5)).code(), StatusCode::kInvalidArgument);
  Sample s{{"x", i64(1)}};
  EXPECT_EQ(ds->append(s).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->pop().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->delete_samples({0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds->commit("no").status().code(), StatusCode::kInvalidArgument);
  expect_values(*ds, iota(10));

  ASSERT_TRUE(ds->checkout("main").ok());
  ASSERT_TRUE(ds->checkout("v1").ok());
  EXPECT_EQ(ds->current_branch(), "");
  EXPECT_EQ(ds->update("x", 1, i64(5)).code(), StatusCode::kInvalidArgument);
  expect_values(*ds, iota(10));
  ASSERT_TRUE(ds->checkout("main").ok());
  set(*ds, 1, 5);  // writable again
  EXPECT_EQ(ds->head_commit(), c2);
  ASSERT_TRUE(ds->close().ok());

  // A writable open of a tag or commit is refused; read-only is fine.
  OpenOptions o;
  o.version = "v1";
  auto w = Dataset::Open(dir.path(), o);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument) << w.status().ToString();
  o.version = base;
  w = Dataset::Open(dir.path(), o);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument) << w.status().ToString();
  o.read_only = true;
  w = Dataset::Open(dir.path(), o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  expect_values(**w, iota(10));
}

TEST(Version, RefNameAndTargetErrors) {
  TempDir dir;
  std::string base;
  auto ds = make_x(dir.path(), iota(4), 1024, &base);
  ASSERT_TRUE(ds);
  for (const std::string bad : {"", "a..b", "-x", "a b"}) {
    EXPECT_EQ(ds->branch(bad).code(), StatusCode::kInvalidArgument) << "branch '" << bad << "'";
    EXPECT_EQ(ds->tag(bad).code(), StatusCode::kInvalidArgument) << "tag '" << bad << "'";
    EXPECT_EQ(ds->checkout(bad, {.create = true}).code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
  auto br = ds->branches();
  ASSERT_TRUE(br.ok());
  EXPECT_EQ(*br, std::vector<std::string>{"main"});

  EXPECT_EQ(ds->checkout("nosuch").code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->branch("b", "nosuch").code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->tag("t", "nosuch").code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->diff("nosuch").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->log("nosuch").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->merge("nosuch").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->delete_branch("nosuch").code(), StatusCode::kNotFound);
  EXPECT_EQ(ds->delete_tag("nosuch").code(), StatusCode::kNotFound);
  OpenOptions o;
  o.read_only = true;
  o.version = "nosuch";
  auto ro = Dataset::Open(dir.path(), o);
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.status().code(), StatusCode::kNotFound);

  EXPECT_EQ(ds->delete_branch("main").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(ds->branch("b").ok());
  EXPECT_EQ(ds->branch("b").code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(ds->tag("t").ok());
  EXPECT_EQ(ds->tag("t").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ds->tag("t", base).code(), StatusCode::kAlreadyExists);
  auto tags = ds->tags();
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->size(), 1u);
  EXPECT_EQ((*tags)[0], std::make_pair(std::string("t"), base));
  ASSERT_TRUE(ds->checkout("b").ok());
  EXPECT_EQ(ds->delete_branch("b").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(ds->delete_branch("main").ok());
  br = ds->branches();
  ASSERT_TRUE(br.ok());
  EXPECT_EQ(*br, std::vector<std::string>{"b"});
  ASSERT_TRUE(ds->delete_tag("t").ok());
  EXPECT_TRUE(ds->tags()->empty());
}

// --- diff ---

TEST(Version, DiffListsExactIndices) {
  TempDir dir;
  std::string a;
  auto ds = make_x(dir.path(), iota(10), 1024, &a);
  ASSERT_TRUE(ds);
  set(*ds, 2, 200);
  extend_x(*ds, {10, 11});
  std::string b = commit(*ds, "b");
  auto d = ds->diff(a, b);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->a, a);
  EXPECT_EQ(d->b, b);
  EXPECT_EQ(d->rows_added, (U{10, 11}));
  EXPECT_TRUE(d->rows_deleted.empty());
  ASSERT_EQ(d->tensors.size(), 1u);
  EXPECT_EQ(d->tensors[0].name, "x");
  EXPECT_EQ(d->tensors[0].updated, U{2});
  EXPECT_EQ(d->tensors[0].added, (U{10, 11}));
  EXPECT_TRUE(d->tensors[0].deleted.empty());
  EXPECT_TRUE(d->tensors[0].schema_changes.empty());

  // status(): the uncommitted changes.
  set(*ds, 7, 700);
  auto s = ds->status();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->a, b);
  ASSERT_EQ(s->tensors.size(), 1u);
  EXPECT_EQ(s->tensors[0].updated, U{7});
  EXPECT_TRUE(s->rows_added.empty());

  // pop and delete_samples: positions in a.
  ASSERT_TRUE(ds->pop().ok());                 // row 11
  ASSERT_TRUE(ds->delete_samples({0, 4, 4}).ok());  // rows 0 and 4
  std::string c = commit(*ds, "c");
  expect_values(*ds, {1, 200, 3, 5, 6, 700, 8, 9, 10});
  d = ds->diff(b, c);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rows_deleted, (U{0, 4, 11}));
  EXPECT_TRUE(d->rows_added.empty());
  ASSERT_EQ(d->tensors.size(), 1u);
  EXPECT_EQ(d->tensors[0].deleted, (U{0, 4, 11}));
  EXPECT_EQ(d->tensors[0].updated, U{5});  // row 7 of b is row 5 of c
  EXPECT_TRUE(d->tensors[0].added.empty());
  // reversed
  d = ds->diff(c, b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rows_added, (U{0, 4, 11}));
  EXPECT_EQ(d->tensors[0].added, (U{0, 4, 11}));
  EXPECT_EQ(d->tensors[0].updated, U{7});

  // Schema changes: a tensor created, one renamed.
  ASSERT_TRUE(ds->create_tensor(spec("y", DType::kFloat32)).ok());
  ASSERT_TRUE(ds->rename_tensor("x", "z").ok());
  std::string e = commit(*ds, "e");
  d = ds->diff(c, e);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->rows_added.empty());
  EXPECT_TRUE(d->rows_deleted.empty());
  const TensorDiff* z = find_tensor(*d, "z");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->old_name, "x");
  EXPECT_EQ(z->schema_changes, std::vector<std::string>{"renamed"});
  EXPECT_TRUE(z->updated.empty());
  EXPECT_TRUE(z->added.empty());
  const TensorDiff* y = find_tensor(*d, "y");
  ASSERT_NE(y, nullptr);
  EXPECT_TRUE(has(y->schema_changes, "added"));
  EXPECT_EQ(find_tensor(*d, "x"), nullptr);

  ASSERT_TRUE(ds->delete_tensor("y").ok());
  std::string f = commit(*ds, "f");
  d = ds->diff(e, f);
  ASSERT_TRUE(d.ok());
  y = find_tensor(*d, "y");
  ASSERT_NE(y, nullptr);
  EXPECT_TRUE(has(y->schema_changes, "deleted"));
  z = find_tensor(*d, "z");
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(z->empty());
  EXPECT_EQ(d->tensors.back().name, "y");  // deleted tensors come last

  // nothing changed between a commit and itself
  d = ds->diff(f, f);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
  d = ds->diff(f);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
}

// --- merge ---

TEST(Merge, FastForward) {
  TempDir dir;
  std::string base;
  auto ds = make_x(dir.path(), iota(20), 1024, &base);
  ASSERT_TRUE(ds);
  ASSERT_TRUE(ds->checkout("dev", {.create = true}).ok());
  set(*ds, 1, 11);
  std::string d1 = commit(*ds, "d1");
  extend_x(*ds, {20});
  std::string d2 = commit(*ds, "d2");
  ASSERT_TRUE(ds->checkout("main").ok());
  auto r = ds->merge("dev");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->fast_forward);
  EXPECT_EQ(r->commit, d2);
  EXPECT_TRUE(r->conflicts.empty());
  EXPECT_EQ(ds->head_commit(), d2);
  EXPECT_EQ(ds->current_branch(), "main");
  auto want = iota(21);
  want[1] = 11;
  expect_values(*ds, want);
  // again: already contained
  r = ds->merge("dev");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->up_to_date);
  EXPECT_EQ(ds->head_commit(), d2);
  (void)d1;
}

TEST(Merge, ThreeWayDisjointUpdatesAndAppends) {
  TempDir dir;
  std::string base;
  auto ds = make_x(dir.path(), iota(100), 256, &base);
  ASSERT_TRUE(ds);
  ASSERT_TRUE(ds->branch("dev").ok());
  set(*ds, 5, 1005);
  extend_x(*ds, {5000, 5001});
  std::string m1 = commit(*ds, "main");
  ASSERT_TRUE(ds->checkout("dev").ok());
  set(*ds, 50, 1050);
  set(*ds, 99, 1099);
  extend_x(*ds, {7000, 7001, 7002});
  std::string d1 = commit(*ds, "dev");
  ASSERT_TRUE(ds->checkout("main").ok());
  // uncommitted changes block a merge
  set(*ds, 0, -5);
  EXPECT_EQ(ds->merge("dev").status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(ds->reset().ok());
  EXPECT_FALSE(ds->has_uncommitted_changes());

  auto r = ds->merge("dev", MergePolicy::kFail, "merge dev");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->fast_forward);
  EXPECT_FALSE(r->commit.empty());
  EXPECT_TRUE(r->conflicts.empty());
  EXPECT_EQ(r->rows_added, 3u);
  EXPECT_EQ(r->rows_deleted, 0u);
  EXPECT_EQ(r->samples_updated, 2u);
  EXPECT_EQ(ds->head_commit(), r->commit);
  std::vector<int64_t> want = iota(100);
  want[5] = 1005;
  want[50] = 1050;
  want[99] = 1099;
  for (int64_t v : {5000, 5001, 7000, 7001, 7002}) want.push_back(v);
  expect_values(*ds, want);
  auto log = ds->log();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)[0].id, r->commit);
  EXPECT_EQ((*log)[0].parents, (std::vector<std::string>{m1, d1}));
  EXPECT_EQ((*log)[0].message, "merge dev");
  EXPECT_EQ(log->size(), 4u);
  // the merge commit reads back after a reopen, and read-only by id
  auto ro = open_ro(dir.path(), r->commit);
  ASSERT_TRUE(ro);
  expect_values(*ro, want);
  // dev is unchanged
  auto dv = open_ro(dir.path(), "dev");
  ASSERT_TRUE(dv);
  EXPECT_EQ(dv->head_commit(), d1);
  expect_healthy(dir.path());
}

// main and dev both update row 7 (and dev also row 8) from 20 rows 0..19.
std::unique_ptr<Dataset> conflicting(const std::string& path, std::string* main_head) {
  auto ds = make_x(path, iota(20), 64);
  if (!ds) return nullptr;
  EXPECT_TRUE(ds->branch("dev").ok());
  set(*ds, 7, 700);
  *main_head = commit(*ds, "main 7");
  EXPECT_TRUE(ds->checkout("dev").ok());
  set(*ds, 7, 7000);
  set(*ds, 8, 8000);
  commit(*ds, "dev 7 8");
  EXPECT_TRUE(ds->checkout("main").ok());
  return ds;
}

TEST(Merge, ConflictPolicies) {
  TempDir dir;
  std::vector<int64_t> base = iota(20);
  {
    std::string head;
    auto ds = conflicting(dir.sub("fail"), &head);
    ASSERT_TRUE(ds);
    auto r = ds->merge("dev", MergePolicy::kFail);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->commit.empty());
    ASSERT_EQ(r->conflicts.size(), 1u);
    EXPECT_EQ(r->conflicts[0].tensor, "x");
    EXPECT_EQ(r->conflicts[0].ours_index, 7);
    EXPECT_EQ(r->conflicts[0].theirs_index, 7);
    EXPECT_EQ(r->conflicts[0].kind, "both updated");
    EXPECT_EQ(ds->head_commit(), head);
    EXPECT_FALSE(ds->has_uncommitted_changes());
    auto want = base;
    want[7] = 700;
    expect_values(*ds, want);
    ASSERT_TRUE(ds->close().ok());
    auto again = open_ro(dir.sub("fail"));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->head_commit(), head);
    expect_values(*again, want);
  }
  for (MergePolicy p : {MergePolicy::kOurs, MergePolicy::kTheirs}) {
    std::string head;
    std::string path = dir.sub(p == MergePolicy::kOurs ? "ours" : "theirs");
    auto ds = conflicting(path, &head);
    ASSERT_TRUE(ds);
    auto r = ds->merge("dev", p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->commit.empty());
    EXPECT_EQ(r->conflicts.size(), 1u);
    EXPECT_EQ(ds->head_commit(), r->commit);
    auto want = base;
    want[7] = p == MergePolicy::kOurs ? 700 : 7000;
    want[8] = 8000;
    expect_values(*ds, want);
    expect_healthy(path);
  }
}

TEST(Merge, DeletionOnOneSide) {
  TempDir dir;
  auto ds = make_x(dir.path(), iota(30), 64);
  ASSERT_TRUE(ds);
  ASSERT_TRUE(ds->branch("dev").ok());
  set(*ds, 10, 1010);
  set(*ds, 20, 2020);
  commit(*ds, "main");
  ASSERT_TRUE(ds->checkout("dev").ok());
  ASSERT_TRUE(ds->delete_samples({3, 15, 29}).ok());
  commit(*ds, "dev deletes");
  ASSERT_TRUE(ds->checkout("main").ok());
  auto r = ds->merge("dev");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->conflicts.empty());
  EXPECT_EQ(r->rows_deleted, 3u);
  std::vector<int64_t> want;
  for (int64_t i = 0; i < 30; ++i) {
    if (i == 3 || i == 15 || i == 29) continue;
    want.push_back(i == 10 ? 1010 : i == 20 ? 2020 : i);
  }
  expect_values(*ds, want);

  // deleted there, updated here: a conflict
  ASSERT_TRUE(ds->checkout("dev").ok());
  ASSERT_TRUE(ds->merge("main").ok());  // fast-forward dev to main
  ASSERT_TRUE(ds->delete_samples({0}).ok());
  commit(*ds, "dev deletes row 0");
  ASSERT_TRUE(ds->checkout("main").ok());
  set(*ds, 0, -100);
  commit(*ds, "main updates row 0");
  r = ds->merge("dev");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->commit.empty());
  ASSERT_EQ(r->conflicts.size(), 1u);
  EXPECT_EQ(r->conflicts[0].kind, "updated here, deleted there");
  EXPECT_EQ(r->conflicts[0].ours_index, 0);
  EXPECT_EQ(r->conflicts[0].theirs_index, -1);
  r = ds->merge("dev", MergePolicy::kTheirs);
  ASSERT_TRUE(r.ok());
  want.erase(want.begin());
  expect_values(*ds, want);
  expect_healthy(dir.path());
}

TEST(Merge, TensorCreatedOnOneBranch) {
  TempDir dir;
  auto ds = make_x(dir.path(), iota(10), 64);
  ASSERT_TRUE(ds);
  ASSERT_TRUE(ds->checkout("dev", {.create = true}).ok());
  ASSERT_TRUE(ds->create_tensor(spec("y", DType::kInt64, 64)).ok());
  {
    ColumnBatch b;
    Array xs = Array::Zeros(DType::kInt64, {2});
    static_cast<int64_t*>(xs.mutable_data())[0] = 200;
    static_cast<int64_t*>(xs.mutable_data())[1] = 201;
    Array ys = Array::Zeros(DType::kInt64, {2});
    static_cast<int64_t*>(ys.mutable_data())[0] = -1;
    static_cast<int64_t*>(ys.mutable_data())[1] = -2;
    b["x"].rows = xs;
    b["y"].rows = ys;
    ASSERT_TRUE(ds->extend_columns(b).ok());
  }
  commit(*ds, "dev: y");
  ASSERT_TRUE(ds->checkout("main").ok());
  extend_x(*ds, {100, 101, 102});
  commit(*ds, "main appends");
  auto r = ds->merge("dev");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->conflicts.empty());
  EXPECT_EQ(ds->tensor_names(), (std::vector<std::string>{"x", "y"}));
  std::vector<int64_t> want = iota(10);
  for (int64_t v : {100, 101, 102, 200, 201}) want.push_back(v);
  expect_values(*ds, want);
  for (uint64_t i = 0; i < 13; ++i) {
    auto y = ds->read("y", i);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    EXPECT_EQ(y->numel(), 0) << "row " << i;
  }
  for (uint64_t i : {13, 14}) {
    auto y = ds->read("y", i);
    ASSERT_TRUE(y.ok());
    ASSERT_EQ(y->numel(), 1);
    EXPECT_EQ(y->data_as<int64_t>()[0], i == 13 ? -1 : -2);
  }
  expect_healthy(dir.path());
}

TEST(Merge, UnrelatedHistoriesRefused) {
  // The API cannot create a second root commit in one dataset; graft another dataset's
  // history in as a branch by copying its files (tensor keys and version ids are random).
  TempDir dir;
  auto a = make_x(dir.sub("a"), iota(5), 1024);
  auto b = make_x(dir.sub("b"), iota(5, 100), 1024);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(b->close().ok());
  for (const char* sub : {"versions", "chunks"}) {
    fs::copy(dir.sub("b") + "/" + sub, dir.sub("a") + "/" + sub,
             fs::copy_options::recursive | fs::copy_options::skip_existing);
  }
  fs::copy_file(dir.sub("b") + "/refs/heads/main", dir.sub("a") + "/refs/heads/other");
  auto br = a->branches();
  ASSERT_TRUE(br.ok());
  ASSERT_TRUE(has(*br, "other"));
  auto r = a->merge("other");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  expect_values(*a, iota(5));
}

TEST(Merge, CherryPick) {
  TempDir dir;
  std::string base;
  auto ds = make_x(dir.path(), iota(10), 64, &base);
  ASSERT_TRUE(ds);
  ASSERT_TRUE(ds->checkout("dev", {.create = true}).ok());
  set(*ds, 1, 111);
  commit(*ds, "d1");
  set(*ds, 2, 222);
  extend_x(*ds, {10});
  std::string d2 = commit(*ds, "d2");
  ASSERT_TRUE(ds->checkout("main").ok());
  set(*ds, 9, 999);
  std::string m1 = commit(*ds, "m1");
  auto c = ds->cherry_pick(d2);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(ds->head_commit(), *c);
  std::vector<int64_t> want = iota(10);
  want[2] = 222;
  want[9] = 999;
  want.push_back(10);
  expect_values(*ds, want);  // d1's change (row 1) is not applied
  auto log = ds->log();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)[0].parents, std::vector<std::string>{m1});
  // a root commit has nothing to pick
  EXPECT_EQ(ds->cherry_pick(base).status().code(), StatusCode::kInvalidArgument);
}

// --- gc and compaction ---

TEST(Gc, DeletesAbandonedBranchKeepsEveryRef) {
  TempDir dir;
  auto ds = make_x(dir.path(), iota(500), 256);
  ASSERT_TRUE(ds);
  ASSERT_TRUE(ds->checkout("tmp", {.create = true}).ok());
  for (int k = 0; k < 5; ++k) {
    extend_x(*ds, iota(300, 10000 * (k + 1)));
    set(*ds, static_cast<uint64_t>(k), -k);
    commit(*ds, "tmp " + std::to_string(k));
  }
  ASSERT_TRUE(ds->checkout("main").ok());
  std::vector<int64_t> main_v = iota(500);
  set(*ds, 1, 1);
  main_v[1] = 1;  // same value: still an update
  set(*ds, 3, 33);
  main_v[3] = 33;
  std::string m1 = commit(*ds, "m1");
  ASSERT_TRUE(ds->tag("v1").ok());
  ASSERT_TRUE(ds->checkout("keep", {.create = true}).ok());
  extend_x(*ds, {1, 2, 3});
  std::vector<int64_t> keep_v = main_v;
  for (int64_t v : {1, 2, 3}) keep_v.push_back(v);
  commit(*ds, "keep");
  ASSERT_TRUE(ds->checkout("main").ok());
  set(*ds, 4, 44);  // uncommitted on main: kept as main's state
  main_v[4] = 44;
  ASSERT_TRUE(ds->delete_branch("tmp").ok());

  auto g = ds->gc();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_GT(g->files_deleted, 0u);
  EXPECT_GT(g->bytes_freed, 0u);
  EXPECT_GT(g->versions_deleted, 0u);
  expect_values(*ds, main_v);
  auto again = ds->gc();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_deleted, 0u);
  ASSERT_TRUE(ds->close().ok());
  expect_healthy(dir.path());

  auto keep = open_ro(dir.path(), "keep");
  ASSERT_TRUE(keep);
  expect_values(*keep, keep_v);
  auto v1 = open_ro(dir.path(), "v1");
  ASSERT_TRUE(v1);
  std::vector<int64_t> v1_v = main_v;
  v1_v[4] = 4;
  expect_values(*v1, v1_v);
  auto m = open_ro(dir.path(), "main");
  ASSERT_TRUE(m);
  expect_values(*m, main_v);
  // every commit still in the log reads back
  auto log = m->log();
  ASSERT_TRUE(log.ok());
  for (const auto& c : *log) {
    auto ro = open_ro(dir.path(), c.id);
    ASSERT_TRUE(ro) << c.id;
    EXPECT_EQ(ro->size(), c.length);
    auto all = ro->read_range("x", 0, ro->size());
    EXPECT_TRUE(all.ok()) << c.id << ": " << all.status().ToString();
  }
}

TEST(Gc, KeepsWhatAnOpenReaderNeeds) {
  TempDir dir;
  std::string c1;
  auto ds = make_x(dir.path(), iota(200), 256, &c1);
  ASSERT_TRUE(ds);
  std::vector<int64_t> v2 = iota(200);
  extend_x(*ds, iota(2000, 5000));
  for (int64_t v : iota(2000, 5000)) v2.push_back(v);
  for (uint64_t i : {0, 50, 199, 1000}) {
    set(*ds, i, -static_cast<int64_t>(i) - 1);
    v2[i] = -static_cast<int64_t>(i) - 1;
  }
  std::string c2 = commit(*ds, "c2");
  auto reader = open_ro(dir.path(), c2);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(ds->reset(c1).ok());  // c2 is reachable from no ref now
  expect_values(*ds, iota(200));
  auto g = ds->gc();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_NO_FATAL_FAILURE(expect_values(*reader, v2));
  reader.reset();  // the registration goes with the handle
  g = ds->gc();
  ASSERT_TRUE(g.ok());
  EXPECT_GT(g->files_deleted, 0u);
  OpenOptions o;
  o.read_only = true;
  o.version = c2;
  auto gone = Dataset::Open(dir.path(), o);
  EXPECT_FALSE(gone.ok());
  expect_values(*ds, iota(200));
  ASSERT_TRUE(ds->close().ok());
  expect_healthy(dir.path());
}

// GcStats::files_kept_for_readers: "unreachable files kept because a registered reader's
// version still needs them". A reader of a commit no ref reaches holds such files.
TEST(Gc, CountsFilesKeptForReaders) {
  TempDir dir;
  std::string c1;
  auto ds = make_x(dir.path(), iota(200), 256, &c1);
  ASSERT_TRUE(ds);
  extend_x(*ds, iota(2000, 5000));
  std::string c2 = commit(*ds, "c2");
  auto reader = open_ro(dir.path(), c2);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(ds->reset(c1).ok());
  auto g = ds->gc();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_GT(g->files_kept_for_readers, 0u);
  EXPECT_EQ(reader->size(), 2200u);
}

// commit() compacts on its own once a table is fragmented enough, so the first two
// thousand updates are committed (and auto-compacted) and compact() is called by hand on
// the last thousand before they are committed.
TEST(Compact, ShrinksTablesKeepsValues) {
  TempDir dir;
  std::vector<int64_t> model = iota(4000);
  auto ds = make_x(dir.path(), model, 4096);
  ASSERT_TRUE(ds);
  std::mt19937_64 rng(11);
  std::vector<std::string> ids;
  std::vector<std::vector<int64_t>> models;
  for (int k = 0; k < 3000; ++k) {
    uint64_t i = rng() % model.size();
    model[i] = 100000 + k;
    set(*ds, i, model[i]);
    if (k == 999 || k == 1999) {
      ids.push_back(commit(*ds, "updates " + std::to_string(k)));
      models.push_back(model);
    }
  }
  expect_values(*ds, model);
  auto st = ds->compact();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_LT(st->entries_after, st->entries_before);
  EXPECT_GT(st->entries_before, 1000u);  // about two entries per scattered update
  EXPECT_GT(st->samples_rewritten, 0u);
  EXPECT_LE(st->entries_after, 20u);  // 32,000 bytes in chunks of 4,096
  expect_values(*ds, model);
  ids.push_back(commit(*ds, "compacted"));
  models.push_back(model);
  auto again = ds->compact();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entries_after, again->entries_before);
  ASSERT_TRUE(ds->close().ok());
  expect_healthy(dir.path());
  for (size_t k = 0; k < ids.size(); ++k) {
    auto ro = open_ro(dir.path(), ids[k]);
    ASSERT_TRUE(ro);
    ASSERT_NO_FATAL_FAILURE(expect_values(*ro, models[k])) << "commit " << k;
  }
}

// --- concurrency ---

TEST(Concurrency, OneWriterManyReaders) {
  TempDir dir;
  std::string c1;
  auto ds = make_x(dir.path(), iota(1000), 512, &c1);
  ASSERT_TRUE(ds);
  auto second = Dataset::Open(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  OpenOptions o;
  o.version = "main";
  second = Dataset::Open(dir.path(), o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);

  auto reader = open_ro(dir.path(), "main");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->head_commit(), c1);
  std::vector<int64_t> model = iota(1000);
  for (int k = 0; k < 5; ++k) {
    for (uint64_t i = 0; i < 1000; i += 7) set(*ds, i, k * 10000 + static_cast<int64_t>(i));
    ASSERT_TRUE(ds->delete_samples({static_cast<uint64_t>(k)}).ok());
    extend_x(*ds, iota(500, 100000 * (k + 1)));
    commit(*ds, "more " + std::to_string(k));
    ASSERT_NO_FATAL_FAILURE(expect_values(*reader, model)) << "after commit " << k;
    EXPECT_EQ(reader->head_commit(), c1);
  }
  ASSERT_TRUE(ds->gc().ok());
  ASSERT_NO_FATAL_FAILURE(expect_values(*reader, model));
  auto fresh = open_ro(dir.path(), "main");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->head_commit(), ds->head_commit());
  EXPECT_EQ(fresh->size(), ds->size());
}

}  // namespace
}  // namespace gtn
