#include "gtn/store/manifest.h"

#include <gtest/gtest.h>

#include "gtn/store/root_file.h"
#include "gtn/store/table_edit.h"
#include "gtn/store/table_tree.h"

namespace gtn::store {
namespace {

Manifest sample_manifest() {
  Manifest m;
  m.version_id = 0x1234;
  m.length = 5;
  TensorMeta a;
  a.name = "images";
  a.key = "t0";
  a.htype = "image";
  a.dtype = DType::kUInt8;
  a.sample_compression = Compression::kJpeg;
  a.rank = 3;
  TensorMeta b;
  b.name = "labels";
  b.key = "t1";
  b.htype = "class_label";
  b.dtype = DType::kInt64;
  b.class_names = {"cat", "dog"};
  m.tensors = {a, b};
  m.chunks.resize(2);
  auto entry = [](uint64_t first, uint32_t n, uint64_t raw, std::vector<ChunkFileRef> files) {
    ChunkEntry e;
    e.first_sample = first;
    e.num_samples = n;
    e.raw_bytes = raw;
    e.files = std::move(files);
    return e;
  };
  m.chunks[0].push_back(entry(0, 3, 300, {{11, 1000, 0xabc}}));
  m.chunks[0].push_back(entry(3, 1, 9000, {{12, 500, 1}, {13, 500, 2}}));
  m.chunks[0].push_back(entry(4, 1, 10, {{14, 100, 3}}));
  m.chunks[1].push_back(entry(0, 5, 40, {{15, 200, 4}}));
  return m;
}

// The format 2 bytes of sample_manifest(): its tables as trees in its node section.
std::string encode_v2(const Manifest& in, NodeIndex* known = nullptr) {
  Manifest m = in;
  NodeIndex none;
  std::string section;
  std::vector<NodeRef> placed;
  std::vector<ChunkEntry> ids{id_run(77, 0, static_cast<uint32_t>(m.length))};
  m.roots.push_back(write_table(ids, m.version_id, known ? *known : none, &section, &placed));
  for (const auto& t : m.chunks) m.roots.push_back(write_table(t, m.version_id, known ? *known : none, &section, &placed));
  return encode_manifest(m, section);
}

TEST(Manifest, RoundTripsFormat2WithTableTrees) {
  Manifest m = sample_manifest();
  m.commit.committed = true;
  m.commit.parents = {0x99};
  m.commit.message = "first";
  m.commit.author = "ann";
  m.commit.time_ms = 1234567;
  std::string bytes = encode_v2(m);
  Manifest back;
  ASSERT_TRUE(decode_manifest(bytes, &back).ok());
  EXPECT_EQ(back.format, 2);
  EXPECT_TRUE(back.commit.committed);
  EXPECT_EQ(back.commit.parents, (std::vector<uint64_t>{0x99}));
  EXPECT_EQ(back.commit.message, "first");
  EXPECT_EQ(back.commit.author, "ann");
  EXPECT_EQ(back.commit.time_ms, 1234567);
  ASSERT_EQ(back.roots.size(), 3u);
  auto storage = make_memory_storage();
  ASSERT_TRUE(storage->write_atomic(manifest_key(m.version_id), bytes).ok());
  Tables tables;
  { Status lt = load_tables(*storage, back, &tables, nullptr); ASSERT_TRUE(lt.ok()) << lt.ToString(); }
  ASSERT_EQ(tables.tensors.size(), 2u);
  ASSERT_EQ(tables.tensors[0].size(), 3u);
  EXPECT_TRUE(tables.tensors[0][1].is_tiled());
  EXPECT_EQ(tables.tensors[0][2].first_sample, 4u);
  EXPECT_EQ(tables.tensors[1][0].raw_bytes, 40u);
  ASSERT_EQ(tables.ids.size(), 1u);
  EXPECT_EQ(id_block(tables.ids[0]), 77u);
  EXPECT_EQ(encode_manifest(back, back.nodes), bytes);
}

// A table of many entries is a tree; a version that changes one entry shares every node
// but the ones on the path to it.
TEST(TableTree, SharesUnchangedNodesBetweenVersions) {
  std::vector<ChunkEntry> table;
  for (uint32_t i = 0; i < 20000; ++i) {
    ChunkEntry e;
    e.num_samples = 10;
    e.raw_bytes = 40;
    e.files.push_back({1000 + i, 500, i});
    append_entry(&table, e);
  }
  NodeIndex known;
  std::string s1;
  std::vector<NodeRef> placed1;
  NodeRef r1 = write_table(table, 1, known, &s1, &placed1);
  EXPECT_GT(r1.level, 0u);
  EXPECT_EQ(r1.samples, 200000u);
  for (const auto& r : placed1) known.add(r);
  std::vector<ChunkEntry> changed = table;
  TableEdit edit;
  edit.index = 123457;
  edit.with.num_samples = 1;
  edit.with.raw_bytes = 4;
  edit.with.files.push_back({5, 50, 5});
  ASSERT_TRUE(edit_table(&changed, {edit}, [](const ChunkEntry&, uint32_t, uint32_t n) -> Result<uint64_t> {
                return uint64_t{4} * n;
              }).ok());
  std::string s2;
  std::vector<NodeRef> placed2;
  NodeRef r2 = write_table(changed, 2, known, &s2, &placed2);
  EXPECT_FALSE(r2.same_content(r1));
  EXPECT_LE(placed2.size(), 6u);                 // the changed leaves and their path
  EXPECT_LT(s2.size() * 20, s1.size());          // a small fraction of the table
  // Reading it back gives the edited table, first_sample renumbered.
  auto storage = make_memory_storage();
  Manifest m1, m2;
  m1.version_id = 1;
  m1.commit.committed = true;
  m1.roots = {NodeRef{}, r1};
  m1.tensors.resize(1);
  m1.tensors[0].name = "x";
  m1.tensors[0].key = "t0";
  m2 = m1;
  m2.version_id = 2;
  m2.roots = {NodeRef{}, r2};
  ASSERT_TRUE(storage->write_atomic(manifest_key(1), encode_manifest(m1, s1)).ok());
  ASSERT_TRUE(storage->write_atomic(manifest_key(2), encode_manifest(m2, s2)).ok());
  Manifest back;
  auto bytes = storage->read(manifest_key(2));
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(decode_manifest((*bytes)->view(), &back).ok());
  Tables tables;
  { Status lt = load_tables(*storage, back, &tables, nullptr); ASSERT_TRUE(lt.ok()) << lt.ToString(); }
  renumber(&changed);
  ASSERT_EQ(tables.tensors[0].size(), changed.size());
  for (size_t i = 0; i < changed.size(); ++i) {
    EXPECT_EQ(tables.tensors[0][i].first_sample, changed[i].first_sample);
    EXPECT_EQ(tables.tensors[0][i].chunk_offset, changed[i].chunk_offset);
    EXPECT_EQ(tables.tensors[0][i].files[0].id, changed[i].files[0].id);
  }
  // A damaged node of the older version is caught by its content hash.
  std::string broken = encode_manifest(m1, std::string(s1.size(), 'x'));
  ASSERT_TRUE(storage->write_atomic(manifest_key(1), broken).ok());
  EXPECT_EQ(load_tables(*storage, back, &tables, nullptr).code(), StatusCode::kCorruption);
}

TEST(Manifest, RoundTripsFormat1) {
  Manifest m = sample_manifest();
  std::string bytes = encode_manifest_v1(m, 0);
  Manifest back;
  ASSERT_TRUE(decode_manifest(bytes, &back).ok());
  EXPECT_EQ(back.version_id, m.version_id);
  EXPECT_EQ(back.length, 5u);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].sample_compression, Compression::kJpeg);
  EXPECT_EQ(back.tensors[0].rank, 3);
  EXPECT_EQ(back.tensors[1].class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(back.chunks[0].size(), 3u);
  EXPECT_TRUE(back.chunks[0][1].is_tiled());
  EXPECT_EQ(back.chunks[0][1].files[1].id, 13u);
  EXPECT_EQ(encode_manifest_v1(back, 0), bytes);
}

TEST(Manifest, DetectsCorruptionAndTruncation) {
  std::string bytes = encode_v2(sample_manifest());
  for (size_t n = 0; n < bytes.size(); n += 7) {
    Manifest m;
    EXPECT_EQ(decode_manifest(std::string_view(bytes).substr(0, n), &m).code(), StatusCode::kCorruption);
  }
  std::string flipped = bytes;
  flipped[40] ^= 0x10;
  Manifest m;
  Status st = decode_manifest(flipped, &m);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("checksum"), std::string::npos);
}

TEST(Manifest, RejectsGapsInTheChunkTable) {
  Manifest m = sample_manifest();
  m.chunks[0][2].first_sample = 7;
  Manifest back;
  EXPECT_EQ(decode_manifest(encode_manifest_v1(m, 0), &back).code(), StatusCode::kCorruption);
}

TEST(RootFile, RoundTripsAndChecksFeatures) {
  RootFile r;
  RootFile back;
  ASSERT_TRUE(decode_root(encode_root(r), &back).ok());
  EXPECT_EQ(back.head, "main");
  EXPECT_TRUE(check_writable(back).ok());
  back.writer_features = {"future"};
  EXPECT_TRUE(check_readable(back).ok());
  EXPECT_EQ(check_writable(back).code(), StatusCode::kUnsupported);
  back.reader_features = {"future"};
  EXPECT_EQ(check_readable(back).code(), StatusCode::kUnsupported);
  EXPECT_EQ(decode_root("{}", &back).code(), StatusCode::kCorruption);
  uint64_t v = 0;
  ASSERT_TRUE(decode_ref(encode_ref(0xfeed), &v).ok());
  EXPECT_EQ(v, 0xfeedu);
  EXPECT_EQ(decode_ref("xyz\n", &v).code(), StatusCode::kCorruption);
}

TEST(RootFile, RefNamesFollowGitRules) {
  for (const char* good : {"main", "feature/x", "v1.0", "a_b-c", "release/2026/11"}) {
    EXPECT_TRUE(check_ref_name(good, "branch").ok()) << good;
  }
  for (const std::string bad : {std::string(""), std::string("a..b"), std::string("-x"), std::string("a b"),
                                std::string("x/"), std::string("x."), std::string(".hidden"), std::string("a//b"),
                                std::string("HEAD"), std::string("a.lock"), std::string("a\0b", 3), std::string("a:b"),
                                std::string(300, 'a')}) {
    Status st = check_ref_name(bad, "branch");
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("branch name"), std::string::npos);
  }
}

}  // namespace
}  // namespace gtn::store
