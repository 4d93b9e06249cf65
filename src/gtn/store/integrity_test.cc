// Checksums, corruption reports naming the broken file, fsck and dump.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gtn/dataset.h"
#include "gtn/store/dump.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

namespace fs = std::filesystem;
using store::testing::random_u8;
using store::testing::TempDir;

// A dataset with one tensor of 20 samples of 100 bytes in chunks of 500 bytes.
void build(const std::string& path) {
  auto ds = Dataset::Open(path);
  ASSERT_TRUE(ds.ok());
  TensorSpec s;
  s.name = "x";
  s.dtype = DType::kUInt8;
  s.chunk_target_bytes = 500;
  ASSERT_TRUE((*ds)->create_tensor(s).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*ds)->append({{"x", random_u8({100}, i)}}).ok());
  ASSERT_TRUE((*ds)->flush().ok());
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string relative(const std::string& root, const std::string& file) {
  return fs::relative(file, root).generic_string();
}

void flip_byte(const std::string& file, std::streamoff offset_from_end) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(-offset_from_end, std::ios::end);
  char c;
  f.read(&c, 1);
  c ^= 0x5a;
  f.seekp(-offset_from_end, std::ios::end);
  f.write(&c, 1);
}

OpenOptions read_only(bool verify = true) {
  OpenOptions o;
  o.read_only = true;
  o.verify_checksums = verify;
  return o;
}

TEST(Integrity, HealthyDatasetHasNoIssues) {
  TempDir dir;
  build(dir.path());
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  EXPECT_TRUE(issues->empty());
  EXPECT_EQ(fsck(dir.sub("nothing")).status().code(), StatusCode::kNotFound);
}

TEST(Integrity, FlippedChunkByteIsNamed) {
  TempDir dir;
  build(dir.path());
  auto chunks = files_under(dir.sub("chunks"));
  ASSERT_EQ(chunks.size(), 4u);  // 20 x 100 bytes in chunks of 500
  std::string victim = chunks[1];
  flip_byte(victim, 20);  // inside the data region
  std::string key = relative(dir.path(), victim);

  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  ASSERT_EQ(issues->size(), 1u);
  EXPECT_EQ((*issues)[0].object, key);
  EXPECT_NE((*issues)[0].problem.find("checksum mismatch"), std::string::npos);

  auto ds = Dataset::Open(dir.path(), read_only());
  ASSERT_TRUE(ds.ok());
  int corrupt = 0;
  for (uint64_t i = 0; i < 20; ++i) {
    auto r = (*ds)->read("x", i);
    if (r.ok()) continue;
    corrupt++;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find(key), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(corrupt, 5);  // exactly the samples of the broken chunk
  // Without verification the flipped byte is read as data.
  auto unchecked = Dataset::Open(dir.path(), read_only(false));
  ASSERT_TRUE(unchecked.ok());
  int differ = 0;
  for (uint64_t i = 0; i < 20; ++i) {
    auto r = (*unchecked)->read("x", i);
    ASSERT_TRUE(r.ok());
    differ += r->as_string_view() != random_u8({100}, i).as_string_view();
  }
  EXPECT_EQ(differ, 1);
}

TEST(Integrity, TruncatedOrMissingChunk) {
  TempDir dir;
  build(dir.path());
  auto chunks = files_under(dir.sub("chunks"));
  fs::resize_file(chunks[0], 30);
  fs::remove(chunks[2]);
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  ASSERT_EQ(issues->size(), 2u);
  std::string truncated = relative(dir.path(), chunks[0]), missing = relative(dir.path(), chunks[2]);
  std::map<std::string, std::string> by_object;
  for (const auto& issue : *issues) by_object[issue.object] = issue.problem;
  ASSERT_EQ(by_object.count(truncated), 1u);
  ASSERT_EQ(by_object.count(missing), 1u);
  EXPECT_NE(by_object[missing].find("missing"), std::string::npos);
  auto ds = Dataset::Open(dir.path(), read_only());
  ASSERT_TRUE(ds.ok());
  int corrupt = 0;
  for (uint64_t i = 0; i < 20; ++i) {
    Status st = (*ds)->read("x", i).status();
    if (st.ok()) continue;
    corrupt++;
    EXPECT_EQ(st.code(), StatusCode::kCorruption);
    bool named = st.message().find(truncated) != std::string::npos || st.message().find(missing) != std::string::npos;
    EXPECT_TRUE(named) << st.message();
  }
  EXPECT_EQ(corrupt, 10);
}

TEST(Integrity, CorruptManifestIsNamed) {
  TempDir dir;
  build(dir.path());
  auto manifests = files_under(dir.sub("versions"));
  ASSERT_EQ(manifests.size(), 1u);
  flip_byte(manifests[0], 30);
  std::string key = relative(dir.path(), manifests[0]);
  auto ds = Dataset::Open(dir.path(), read_only());
  EXPECT_EQ(ds.status().code(), StatusCode::kCorruption);
  EXPECT_NE(ds.status().message().find(key), std::string::npos) << ds.status().message();
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  ASSERT_EQ(issues->size(), 1u);
  EXPECT_EQ((*issues)[0].object, key);
  fs::resize_file(manifests[0], 10);
  EXPECT_EQ(Dataset::Open(dir.path(), read_only()).status().code(), StatusCode::kCorruption);
}

TEST(Integrity, OrphanChunksAreHarmless) {
  TempDir dir;
  build(dir.path());
  {
    std::string folder = fs::directory_iterator(dir.sub("chunks"))->path().string();
    std::ofstream orphan(folder + "/00000000deadbeef.chunk");
    orphan << "left by an interrupted write";
  }
  auto issues = fsck(dir.path());
  ASSERT_TRUE(issues.ok());
  EXPECT_TRUE(issues->empty());
  auto text = store::dump(dir.path(), false);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("/00000000deadbeef.chunk"), std::string::npos);
}

TEST(Integrity, DumpShowsChunksAndSamples) {
  TempDir dir;
  build(dir.path());
  auto text = store::dump(dir.path(), false);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("ref refs/heads/main -> version "), std::string::npos);
  EXPECT_NE(text->find("tensor 'x' (t0-"), std::string::npos) << *text;
  EXPECT_NE(text->find("): htype generic, dtype uint8"), std::string::npos);
  EXPECT_NE(text->find("samples [5, 10), 500 raw bytes"), std::string::npos) << *text;
  EXPECT_EQ(text->find("sample 7: offset"), std::string::npos);
  auto verbose = store::dump(dir.path(), true);
  ASSERT_TRUE(verbose.ok());
  EXPECT_NE(verbose->find("sample 7: offset 200, 100 bytes, shape (100,)"), std::string::npos) << *verbose;
  EXPECT_EQ(store::dump(dir.sub("nothing"), false).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gtn
