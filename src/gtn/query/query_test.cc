// The query engine from C++ (also run under ASan/UBSan): parsing errors with positions,
// results against a direct scan, ragged tensors and indexing, skipping, views.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "gtn/dataset.h"
#include "gtn/query.h"
#include "gtn/query/parser.h"

namespace gtn {
namespace {

struct Tmp {
  std::string path;
  Tmp() {
    path = (std::filesystem::temp_directory_path() / ("gtn-query-" + std::to_string(std::random_device{}()))).string();
  }
  ~Tmp() { std::filesystem::remove_all(path); }
};

TensorSpec spec(const std::string& name, DType d, uint64_t chunk = 8ull << 20) {
  TensorSpec s;
  s.name = name;
  s.dtype = d;
  s.chunk_target_bytes = chunk;
  return s;
}

TEST(QueryParser, ReportsLineAndColumn) {
  auto r = query::parse_query("SELECT *\nWHERE x >> 3");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2, column 10"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(query::parse_query("SELECT * WHERE x IN ()").ok());
  EXPECT_FALSE(query::parse_query("SELECT * WHERE x[1:2:0] > 1").ok());
  EXPECT_TRUE(query::parse_query("SELECT a AS b, count(*) FROM ds@main~2 WHERE NOT x BETWEEN 1 AND 2 GROUP BY b "
                                 "ORDER BY b DESC NULLS LAST LIMIT 5 OFFSET 2").ok());
  // Deep nesting is an error, not a stack overflow.
  std::string deep = "SELECT * WHERE " + std::string(5000, '(') + "x" + std::string(5000, ')') + " > 1";
  auto d = query::parse_query(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("nests deeper"), std::string::npos);
  EXPECT_FALSE(query::parse_query("SELECT * WHERE " + std::string(5000, '-') + "x > 1").ok());
  std::string nots;
  for (int i = 0; i < 3000; ++i) nots += "NOT ";
  EXPECT_FALSE(query::parse_query("SELECT * WHERE " + nots + "x > 1").ok());
  EXPECT_TRUE(query::parse_query("SELECT * WHERE " + std::string(50, '(') + "x" + std::string(50, ')') + " > 1").ok());
  auto q = query::parse_query("FROM ds@v1.0 WHERE x > 1");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->from_version, "v1.0");
}

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ds = Dataset::Open(tmp_.path);
    ASSERT_TRUE(ds.ok());
    ds_ = std::move(*ds);
    ASSERT_TRUE(ds_->create_tensor(spec("x", DType::kInt64, 800)).ok());
    ASSERT_TRUE(ds_->create_tensor(spec("f", DType::kFloat32, 400)).ok());
    TensorSpec boxes = spec("boxes", DType::kFloat32);  // ragged: [k, 4]
    ASSERT_TRUE(ds_->create_tensor(boxes).ok());
    TensorSpec t = spec("t", DType::kText);
    t.htype = "text";
    ASSERT_TRUE(ds_->create_tensor(t).ok());
    std::mt19937_64 rng(3);
    for (int i = 0; i < 2000; ++i) {
      x_.push_back(i);
      f_.push_back(i % 13 == 0 ? NAN : static_cast<float>(rng() % 1000) / 10.f);
      int64_t k = static_cast<int64_t>(rng() % 4);
      Array b = Array::Zeros(DType::kFloat32, {k, 4});
      for (int64_t e = 0; e < k * 4; ++e) static_cast<float*>(b.mutable_data())[e] = static_cast<float>(rng() % 50);
      boxes_.push_back(b);
      text_.push_back(i % 3 == 0 ? "a red fox" : i % 3 == 1 ? "blue sky" : "");
      Sample s{{"x", Array::Scalar<int64_t>(DType::kInt64, i)},
               {"f", Array::Scalar<float>(DType::kFloat32, f_.back())},
               {"boxes", b},
               {"t", Array::Text(text_.back())}};
      ASSERT_TRUE(ds_->append(s).ok());
    }
    ASSERT_TRUE(ds_->commit("data").ok());
  }

  std::vector<uint64_t> rows(const std::string& q) {
    auto r = run_query(*ds_, q);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    return r.ok() ? r->rows : std::vector<uint64_t>{};
  }

  Tmp tmp_;
  std::unique_ptr<Dataset> ds_;
  std::vector<int64_t> x_;
  std::vector<float> f_;
  std::vector<Array> boxes_;
  std::vector<std::string> text_;
};

TEST_F(QueryTest, FiltersMatchADirectScan) {
  std::vector<uint64_t> want;
  for (uint64_t i = 0; i < x_.size(); ++i) {
    if ((f_[i] > 50 && x_[i] % 7 == 3) || text_[i] == "blue sky") want.push_back(i);
  }
  EXPECT_EQ(rows("SELECT * WHERE (f > 50 AND x % 7 == 3) OR t == 'blue sky'"), want);
  want.clear();
  for (uint64_t i = 0; i < x_.size(); ++i) {
    bool any = false;
    for (int64_t k = 0; k < boxes_[i].shape()[0]; ++k) any |= boxes_[i].data_as<float>()[k * 4 + 2] > 40;
    if (any) want.push_back(i);
  }
  EXPECT_EQ(rows("SELECT * WHERE any(boxes[:, 2] > 40)"), want);
  want.clear();
  for (uint64_t i = 0; i < x_.size(); ++i) {
    if (boxes_[i].numel() == 0) want.push_back(i);
  }
  EXPECT_EQ(rows("SELECT * WHERE boxes IS NULL"), want);
  EXPECT_EQ(rows("SELECT * WHERE len(boxes) == 0"), want);
  want.clear();
  for (uint64_t i = 0; i < x_.size(); ++i) {
    if (std::isnan(f_[i])) want.push_back(i);
  }
  EXPECT_EQ(rows("SELECT * WHERE NOT (f == f)"), want);
  EXPECT_EQ(rows("SELECT * WHERE t LIKE '%fox' AND x < 10"), (std::vector<uint64_t>{0, 3, 6, 9}));
  EXPECT_EQ(rows("SELECT * WHERE regexp_match(t, '^b.*y$') AND x < 5"), (std::vector<uint64_t>{1, 4}));
}

TEST_F(QueryTest, OrderLimitSkipAndComputedColumns) {
  auto r = run_query(*ds_, "SELECT x, f * 2 AS g WHERE x >= 1990 ORDER BY f DESC LIMIT 3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<uint64_t> idx;
  for (uint64_t i = 1990; i < 2000; ++i) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](uint64_t a, uint64_t b) {
    if (std::isnan(f_[a]) != std::isnan(f_[b])) return std::isnan(f_[a]);
    return f_[a] > f_[b];
  });
  idx.resize(3);
  EXPECT_EQ(r->rows, idx);
  ASSERT_EQ(r->columns.size(), 2u);
  EXPECT_EQ(r->columns[0].tensor, "x");
  ASSERT_EQ(r->columns[1].values.shape(), (Shape{3}));
  for (int k = 0; k < 3; ++k) {
    double want = 2.0 * f_[idx[k]];
    double got = r->columns[1].values.data_as<double>()[k];
    EXPECT_TRUE(got == want || (std::isnan(got) && std::isnan(want)));
  }
  // x is sorted and stored in chunks of 100 rows: the filter reads one of 20.
  EXPECT_GE(r->stats.chunks_skipped, 18u);
  EXPECT_LE(r->stats.rows_scanned, 200u);
}

TEST_F(QueryTest, ViewsSurviveLaterCommitsAndQueriesRunOverViews) {
  auto r = run_query(*ds_, "SELECT * WHERE x % 100 == 7");
  ASSERT_TRUE(r.ok());
  ViewRecord v;
  v.name = "sevens";
  v.commit = r->commit;
  v.query = r->query;
  v.rows = r->rows;
  ASSERT_TRUE(ds_->save_view(v).ok());
  ASSERT_TRUE(ds_->delete_samples({0, 1, 2}).ok());
  ASSERT_TRUE(ds_->commit("fewer").ok());
  auto back = ds_->load_view("sevens");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->rows, r->rows);
  auto old = ds_->open_version(back->commit);
  ASSERT_TRUE(old.ok());
  QueryOptions o;
  o.rows = &back->rows;
  auto sub = run_query(**old, "SELECT * WHERE x > 1000", o);
  ASSERT_TRUE(sub.ok());
  std::vector<uint64_t> want;
  for (uint64_t row : back->rows) {
    if (row > 1000) want.push_back(row);
  }
  EXPECT_EQ(sub->rows, want);
  ViewRecord bad = v;
  bad.name = "bad";
  bad.rows = {5000};
  EXPECT_FALSE(ds_->save_view(bad).ok());
  bad.name = "../x";
  EXPECT_FALSE(ds_->save_view(bad).ok());
}

}  // namespace
}  // namespace gtn
