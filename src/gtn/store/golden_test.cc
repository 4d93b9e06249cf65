// The golden datasets (tests/golden/v1: chunk format 1; v2: chunk format 2 with block
// checksums; v3: manifest format 2 with history) must keep reading back exactly, and
// their files must keep their bytes (tests/golden/<v>.xxh3). All hold the same samples
// on their head branch (golden_v1.h).
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "golden/golden_v1.h"

namespace gtn {
namespace {

namespace fs = std::filesystem;

std::string source_dir() {
  const char* env = std::getenv("GTN_SOURCE_DIR");
  return env ? env : "";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, FilesAreUnchanged) {
  ASSERT_FALSE(source_dir().empty()) << "GTN_SOURCE_DIR must name the source tree";
  fs::path dir = fs::path(source_dir()) / "tests/golden" / GetParam();
  std::map<std::string, std::string> want;
  std::istringstream list(read_file(fs::path(source_dir()) / "tests/golden" / (GetParam() + ".xxh3")));
  std::string hash, name;
  while (list >> hash >> name) want[name] = hash;
  ASSERT_GT(want.size(), 10u);
  std::map<std::string, std::string> got;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string bytes = read_file(e.path());
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(XXH3_64bits(bytes.data(), bytes.size())));
    got[fs::relative(e.path(), dir).generic_string()] = hex;
  }
  EXPECT_EQ(got, want);
}

TEST_P(Golden, EverySampleReadsBack) {
  ASSERT_FALSE(source_dir().empty()) << "GTN_SOURCE_DIR must name the source tree";
  std::string dir = source_dir() + "/tests/golden/" + GetParam();
  OpenOptions ro;
  ro.read_only = true;
  auto ds = Dataset::Open(dir, ro);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ((*ds)->size(), golden::kSamples);
  std::vector<std::string> names;
  for (const auto& s : golden::specs()) names.push_back(s.name);
  ASSERT_EQ((*ds)->tensor_names(), names);
  for (const auto& tensor : names) {
    for (uint64_t i = 0; i < golden::kSamples; ++i) {
      auto got = (*ds)->read(tensor, i);
      ASSERT_TRUE(got.ok()) << tensor << " " << i << ": " << got.status().ToString();
      Array want = golden::value(tensor, i);
      ASSERT_EQ(got->dtype(), want.dtype()) << tensor << " " << i;
      ASSERT_EQ(got->shape(), want.shape()) << tensor << " " << i;
      if (tensor == "image_jpeg") {
        double err = 0;
        for (size_t k = 0; k < want.nbytes(); ++k) {
          err += std::abs(int(got->data_as<uint8_t>()[k]) - int(want.data_as<uint8_t>()[k]));
        }
        EXPECT_LT(err / want.nbytes(), 3.0) << i;
      } else {
        EXPECT_EQ(got->as_string_view(), want.as_string_view()) << tensor << " " << i;
      }
    }
  }
  auto label = (*ds)->tensor_info("label");
  ASSERT_TRUE(label.ok());
  EXPECT_EQ(label->class_names, (std::vector<std::string>{"cat", "dog", "bird"}));
  auto tiled = (*ds)->tensor_info("tiled");
  ASSERT_TRUE(tiled.ok());
  EXPECT_GE(tiled->num_chunks, 6u);
  auto issues = fsck(dir);
  ASSERT_TRUE(issues.ok());
  EXPECT_TRUE(issues->empty());
}

INSTANTIATE_TEST_SUITE_P(FormatVersions, Golden, ::testing::Values("v1", "v2", "v3", "v4"));

// v3 (manifest format 2) holds history: a tagged commit on main and a branch whose commit
// relabels sample 0.
class GoldenHistory : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenHistory, CommitsBranchesAndTagsReadBack) {
  ASSERT_FALSE(source_dir().empty()) << "GTN_SOURCE_DIR must name the source tree";
  std::string dir = source_dir() + "/tests/golden/" + GetParam();
  OpenOptions ro;
  ro.read_only = true;
  auto ds = Dataset::Open(dir, ro);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->current_branch(), "main");
  auto branches = (*ds)->branches();
  ASSERT_TRUE(branches.ok());
  EXPECT_EQ(*branches, (std::vector<std::string>{"main", "relabel"}));
  auto log = (*ds)->log("relabel");
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].message, "relabel sample 0");
  EXPECT_EQ((*log)[1].message, "golden samples");
  EXPECT_EQ((*log)[0].parents, (std::vector<std::string>{(*log)[1].id}));
  auto tags = (*ds)->tags();
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->size(), 1u);
  EXPECT_EQ((*tags)[0].second, (*log)[1].id);
  auto diff = (*ds)->diff("golden", "relabel");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  for (const auto& t : diff->tensors) {
    EXPECT_EQ(t.updated, t.name == "label" ? std::vector<uint64_t>{0} : std::vector<uint64_t>{}) << t.name;
  }
  OpenOptions at = ro;
  at.version = "relabel";
  auto relabel = Dataset::Open(dir, at);
  ASSERT_TRUE(relabel.ok());
  EXPECT_EQ((*relabel)->read("label", 0)->data_as<int64_t>()[0], 1);
  EXPECT_EQ((*relabel)->read("label", 1)->data_as<int64_t>()[0], 1);
}

INSTANTIATE_TEST_SUITE_P(HistoryVersions, GoldenHistory, ::testing::Values("v3", "v4"));

// v4 (reader feature chunk_stats, leaf encoding 2) holds chunk statistics and a saved view.
TEST(GoldenV4, ChunkStatisticsAndSavedViewReadBack) {
  ASSERT_FALSE(source_dir().empty()) << "GTN_SOURCE_DIR must name the source tree";
  std::string dir = source_dir() + "/tests/golden/v4";
  OpenOptions ro;
  ro.read_only = true;
  auto ds = Dataset::Open(dir, ro);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  auto t = (*ds)->tensor_index("label");
  ASSERT_TRUE(t.ok());
  auto spans = (*ds)->chunk_spans(*t);
  ASSERT_TRUE(spans.ok());
  bool known = false;
  for (const auto& s : *spans) {
    if (!s.stats.known) continue;
    known = true;
    for (uint64_t i = s.begin; i < s.end; ++i) {
      int64_t v = (*ds)->read(*t, i)->data_as<int64_t>()[0];
      EXPECT_LE(s.stats.min, v);
      EXPECT_GE(s.stats.max, v);
    }
  }
  EXPECT_TRUE(known);
  auto view = (*ds)->load_view("first-ten");
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->rows, (std::vector<uint64_t>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(view->message, "golden view");
  auto log = (*ds)->log("golden");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(view->commit, (*log)[0].id);
}

}  // namespace
}  // namespace gtn
