// OGB raw-format ingest, CSR loading and the neighbour sampler, on small graphs written here.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtn/access_trace.h"
#include "gtn/graph.h"
#include "gtn/graph/csr.h"
#include "gtn/graph/gz_csv.h"

namespace gtn::graph {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("gtn_graph_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_gz(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  gzFile f = gzopen(p.string().c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
}

// A 5-node graph: 0->1, 0->2, 1->2, 3->0, 2->0 (node 4 isolated), 2 features, 3 classes.
void write_small(const fs::path& root) {
  write_gz(root / "raw/num-node-list.csv.gz", "5\n");
  write_gz(root / "raw/num-edge-list.csv.gz", "5\n");
  write_gz(root / "raw/edge.csv.gz", "0,1\n0,2\n1,2\n3,0\n2,0\n");
  write_gz(root / "raw/edge-feat.csv.gz", "0.5\n1.5\n2.5\n3.5\n4.5\n");
  write_gz(root / "raw/node-feat.csv.gz", "0.0,1.0\n2.0,3.0\n4.0,5.0\n6.0,7.0\n8.0,9.0\n");
  write_gz(root / "raw/node-label.csv.gz", "0\n1\n2\n1\n0\n");
  write_gz(root / "raw/node_year.csv.gz", "2001\n2002\n2003\n2004\n2005\n");
  write_gz(root / "split/time/train.csv.gz", "0\n1\n");
  write_gz(root / "split/time/valid.csv.gz", "2\n");
  write_gz(root / "split/time/test.csv.gz", "3\n");
}

std::vector<int64_t> ints(const Array& a) {
  std::vector<int64_t> v(a.numel());
  for (int64_t i = 0; i < a.numel(); ++i) {
    v[i] = a.dtype() == DType::kInt32 ? a.data_as<int32_t>()[i] : a.data_as<int64_t>()[i];
  }
  return v;
}

TEST(GzCsv, ReadsLinesAcrossBufferRefillsAndReportsLineNumbers) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 300000; ++i) text += std::to_string(i) + "," + std::to_string(i * 3) + "\r\n";
  write_gz(dir.path() / "big.csv.gz", text);
  std::vector<int64_t> out;
  auto cols = read_int_matrix((dir.path() / "big.csv.gz").string(), 2, out);
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  ASSERT_EQ(out.size(), 600000u);
  EXPECT_EQ(out[2 * 123456 + 1], 123456 * 3);

  write_gz(dir.path() / "bad.csv.gz", "1,2\n3,4\n5,x7\n");
  auto bad = read_int_matrix((dir.path() / "bad.csv.gz").string(), 2, out);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.csv.gz:3: field 2 is 'x7', expected an integer"), std::string::npos)
      << bad.status().message();

  write_gz(dir.path() / "ragged.csv.gz", "1,2\n3\n");
  auto ragged = read_int_matrix((dir.path() / "ragged.csv.gz").string(), 0, out);
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("ragged.csv.gz:2: 1 fields, expected 2"), std::string::npos);

  // A truncated gzip stream is an error, not a short file.
  std::string whole;
  {
    write_gz(dir.path() / "t.csv.gz", text);
    std::ifstream in(dir.path() / "t.csv.gz", std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir.path() / "t.csv.gz", std::ios::binary | std::ios::trunc).write(whole.data(), whole.size() / 2);
  auto cut = read_int_matrix((dir.path() / "t.csv.gz").string(), 2, out);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("damaged gzip stream"), std::string::npos) << cut.status().message();
}

TEST(Csr, MatchesASortedEdgeListAndMergesDuplicatesWhenUndirected) {
  std::vector<int64_t> src = {2, 0, 0, 1, 2, 0}, dst = {0, 2, 1, 2, 0, 1};
  CsrGraph g = build_csr(src.data(), dst.data(), src.size(), 3, false, false);
  EXPECT_EQ(g.indptr, (std::vector<int64_t>{0, 3, 4, 6}));
  EXPECT_EQ(g.indices, (std::vector<int64_t>{1, 1, 2, 2, 0, 0}));
  EXPECT_EQ(g.edge_id, (std::vector<int64_t>{2, 5, 1, 3, 0, 4}));
  CsrGraph u = build_csr(src.data(), dst.data(), src.size(), 3, false, true);
  EXPECT_EQ(u.indptr, (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(u.indices, (std::vector<int64_t>{1, 2, 0, 2, 0, 1}));
  EXPECT_EQ(u.edge_id, (std::vector<int64_t>{2, 0, 2, 3, 0, 3}));
  CsrGraph c = build_csr(src.data(), dst.data(), src.size(), 3, true, false);
  EXPECT_EQ(c.indptr, (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(c.indices, (std::vector<int64_t>{2, 2, 0, 0, 0, 1}));
}

TEST(OgbIngest, WritesTheGraphSchemaAndLoadsBack) {
  TempDir dir;
  write_small(dir.path() / "src");
  auto ds = Dataset::Open((dir.path() / "ds").string());
  ASSERT_TRUE(ds.ok());
  OgbIngestOptions o;
  o.csc = true;
  auto rep = ingest_ogb((dir.path() / "src").string(), **ds, o);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->nodes, 5u);
  EXPECT_EQ(rep->stored_edges, 5u);
  EXPECT_EQ(rep->classes, 3u);
  EXPECT_EQ(rep->split, "time");
  EXPECT_EQ(rep->tensors,
            (std::vector<std::string>{"x", "y", "split", "neighbors", "in_neighbors", "edge_attr", "node_year"}));
  EXPECT_EQ((*ds)->log()->size(), 1u);
  auto g = load_csr(**ds);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(ints(g->indptr), (std::vector<int64_t>{0, 2, 3, 4, 5, 5}));
  EXPECT_EQ(ints(g->indices), (std::vector<int64_t>{1, 2, 2, 0, 0}));
  EXPECT_TRUE(g->indices_zero_copy);  // one uncompressed chunk
  EXPECT_EQ(ints(g->y), (std::vector<int64_t>{0, 1, 2, 1, 0}));
  EXPECT_EQ(ints(g->split), (std::vector<int64_t>{0, 0, 1, 2, 3}));
  ASSERT_EQ(g->x.shape(), (Shape{5, 2}));
  EXPECT_EQ(g->x.data_as<float>()[7], 7.0f);
  LoadOptions lo;
  lo.neighbors = "in_neighbors";
  auto c = load_csr(**ds, lo);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ints(c->indptr), (std::vector<int64_t>{0, 2, 3, 5, 5, 5}));
  EXPECT_EQ(ints(c->indices), (std::vector<int64_t>{2, 3, 0, 0, 1}));
  // Edge features follow the sorted neighbours: row 2 = edge "2,0" (4.5).
  auto ea = (*ds)->read("edge_attr", 2);
  ASSERT_TRUE(ea.ok());
  EXPECT_EQ(ea->data_as<float>()[0], 4.5f);
}

TEST(OgbIngest, ToUndirectedAndSmallChunksCopyOnce) {
  TempDir dir;
  write_small(dir.path() / "src");
  auto ds = Dataset::Open((dir.path() / "ds").string());
  ASSERT_TRUE(ds.ok());
  OgbIngestOptions o;
  o.to_undirected = true;
  o.int32_ids = true;
  o.chunk_target_bytes = 8;  // several chunks per tensor
  ASSERT_TRUE(ingest_ogb((dir.path() / "src").string(), **ds, o).ok());
  auto g = load_csr(**ds);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->indices.dtype(), DType::kInt32);
  EXPECT_FALSE(g->indices_zero_copy);
  EXPECT_FALSE(g->x_zero_copy);
  // 0-1, 0-2, 1-2, 0-3 (3->0 and 2->0 merge with 0->2).
  EXPECT_EQ(ints(g->indptr), (std::vector<int64_t>{0, 3, 5, 7, 8, 8}));
  EXPECT_EQ(ints(g->indices), (std::vector<int64_t>{1, 2, 3, 0, 2, 0, 1, 0}));
  EXPECT_EQ(g->x.data_as<float>()[9], 9.0f);
}

TEST(OgbIngest, ClearErrors) {
  TempDir dir;
  auto expect_error = [&](const std::string& contains) {
    fs::remove_all(dir.path() / "ds");
    auto ds = Dataset::Open((dir.path() / "ds").string());
    ASSERT_TRUE(ds.ok());
    auto rep = ingest_ogb((dir.path() / "src").string(), **ds);
    ASSERT_FALSE(rep.ok()) << "expected: " << contains;
    EXPECT_NE(rep.status().message().find(contains), std::string::npos) << rep.status().message();
  };
  expect_error("no raw/ folder");
  write_small(dir.path() / "src");
  write_gz(dir.path() / "src/raw/edge.csv.gz", "0,1\n0,7\n1,2\n3,0\n2,0\n");
  expect_error("edge.csv.gz:2: node id 7 is outside [0, 5)");
  write_gz(dir.path() / "src/raw/edge.csv.gz", "0,1\n0,2\n1,2\n3,0\n");
  expect_error("num-edge-list.csv.gz says 5 edges but edge.csv.gz has 4 lines");
  write_small(dir.path() / "src");
  write_gz(dir.path() / "src/raw/node-feat.csv.gz", "0.0,1.0\n2.0,3.0\n4.0\n6.0,7.0\n8.0,9.0\n");
  expect_error("node-feat.csv.gz:3: 1 fields, expected 2");
  write_small(dir.path() / "src");
  write_gz(dir.path() / "src/raw/node-label.csv.gz", "0\n1\n\n1\n0\n");
  expect_error("node-label.csv.gz:3: empty line");
  write_small(dir.path() / "src");
  write_gz(dir.path() / "src/split/time/test.csv.gz", "3\n1\n");
  expect_error("test.csv.gz:2: node 1 is also in the train split");
  write_small(dir.path() / "src");
  fs::remove(dir.path() / "src/raw/num-node-list.csv.gz");
  expect_error("missing file");
  write_small(dir.path() / "src");
  fs::create_directories(dir.path() / "src/split/other");
  expect_error("holds several splits (");
}

// A random graph as a dataset with a `neighbors` row per node and x = [id, id * 2].
std::shared_ptr<Dataset> random_graph(const fs::path& path, int64_t n, int max_degree, uint64_t chunk_bytes,
                                      std::vector<std::vector<int64_t>>& adj,
                                      Compression chunk_compression = Compression::kNone,
                                      Compression sample_compression = Compression::kNone, int64_t uncommitted = 0) {
  auto opened = Dataset::Open(path.string());
  EXPECT_TRUE(opened.ok());
  std::shared_ptr<Dataset> ds = std::move(*opened);
  TensorSpec nb;
  nb.name = nb.htype = "neighbors";
  nb.chunk_target_bytes = chunk_bytes;
  nb.chunk_compression = chunk_compression;
  nb.sample_compression = sample_compression;
  TensorSpec x;
  x.name = "x";
  x.dtype = DType::kFloat32;
  x.chunk_target_bytes = chunk_bytes;
  TensorSpec y;
  y.name = "y";
  y.htype = "class_label";
  EXPECT_TRUE(ds->create_tensor(nb).ok());
  EXPECT_TRUE(ds->create_tensor(x).ok());
  EXPECT_TRUE(ds->create_tensor(y).ok());
  std::mt19937_64 rng(7);
  adj.assign(n, {});
  SampleBatch batch;
  for (int64_t v = 0; v < n; ++v) {
    std::set<int64_t> s;
    int deg = static_cast<int>(rng() % (max_degree + 1));
    while (static_cast<int>(s.size()) < deg) s.insert(static_cast<int64_t>(rng() % n));
    adj[v].assign(s.begin(), s.end());
    batch["neighbors"].push_back(*Array::Copy(DType::kInt64, {deg}, adj[v].data(), deg * 8));
    float f[2] = {static_cast<float>(v), static_cast<float>(2 * v)};
    batch["x"].push_back(*Array::Copy(DType::kFloat32, {2}, f, 8));
    batch["y"].push_back(Array::Scalar<int64_t>(DType::kInt64, v % 5));
  }
  EXPECT_TRUE(ds->extend(batch).ok());
  EXPECT_TRUE(ds->commit("graph").ok());
  // Rows appended and not committed: the writer's buffer serves them.
  SampleBatch more;
  for (int64_t v = n; v < n + uncommitted; ++v) {
    adj.push_back({v - 1});
    more["neighbors"].push_back(*Array::Copy(DType::kInt64, {1}, &adj.back()[0], 8));
    float f[2] = {static_cast<float>(v), static_cast<float>(2 * v)};
    more["x"].push_back(*Array::Copy(DType::kFloat32, {2}, f, 8));
    more["y"].push_back(Array::Scalar<int64_t>(DType::kInt64, v % 5));
  }
  if (uncommitted) EXPECT_TRUE(ds->extend(more).ok());
  return ds;
}

TEST(NeighborSampler, BlocksHoldOnlyRealEdgesRespectFanoutsAndGatherRows) {
  TempDir dir;
  std::vector<std::vector<int64_t>> adj;
  auto ds = random_graph(dir.path() / "g", 500, 30, 4096, adj);
  for (bool preload : {false, true}) {
    SamplerOptions o;
    o.fanouts = {5, 3};
    o.preload_csr = preload;
    auto s = NeighborSampler::Make(ds, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::vector<int64_t> seeds = {3, 17, 250, 499, 0};
    auto b = (*s)->sample(seeds, 11);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    ASSERT_EQ(b->blocks.size(), 2u);
    EXPECT_EQ(std::vector<int64_t>(b->n_id.begin(), b->n_id.begin() + 5), seeds);
    EXPECT_EQ(std::set<int64_t>(b->n_id.begin(), b->n_id.end()).size(), b->n_id.size());
    for (size_t l = 0; l < 2; ++l) {
      const Block& blk = b->blocks[l];
      EXPECT_EQ(blk.num_dst, b->hop_nodes[l]);
      EXPECT_EQ(blk.num_src, b->hop_nodes[l + 1]);
      for (uint64_t d = 0; d < blk.num_dst; ++d) {
        int64_t v = b->n_id[d];
        std::vector<int64_t> got;
        for (int64_t p = blk.indptr[d]; p < blk.indptr[d + 1]; ++p) {
          ASSERT_LT(static_cast<uint64_t>(blk.indices[p]), blk.num_src);
          got.push_back(b->n_id[blk.indices[p]]);
        }
        int64_t fan = o.fanouts[l];
        size_t want = std::min<size_t>(adj[v].size(), fan);
        EXPECT_EQ(got.size(), want);
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
        EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()).size(), got.size());
        for (int64_t u : got) EXPECT_TRUE(std::binary_search(adj[v].begin(), adj[v].end(), u));
        if (adj[v].size() <= static_cast<size_t>(fan)) {
          EXPECT_EQ(got, adj[v]);
        }
      }
    }
    ASSERT_EQ(b->x.shape(), (Shape{static_cast<int64_t>(b->n_id.size()), 2}));
    for (size_t i = 0; i < b->n_id.size(); ++i) {
      EXPECT_EQ(b->x.data_as<float>()[2 * i], static_cast<float>(b->n_id[i]));
      EXPECT_EQ(b->x.data_as<float>()[2 * i + 1], static_cast<float>(2 * b->n_id[i]));
    }
    ASSERT_EQ(b->y.shape(), (Shape{5}));
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(b->y.data_as<int64_t>()[i], seeds[i] % 5);
    // Deterministic per seed; another seed gives another sample.
    auto again = (*s)->sample(seeds, 11);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->n_id, b->n_id);
    auto other = (*s)->sample(seeds, 12);
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->n_id, b->n_id);
  }
}

// Neighbour rows come from chunk reads cached per batch: whatever the chunk layout
// (small chunks, chunk- or sample-compressed, rows still in the writer's buffer) a batch is
// the one the preloaded CSR gives, and a trace records the rows the batch used, not the
// chunks read to serve them.
TEST(NeighborSampler, ChunkReadsMatchThePreloadedCsrAndTraceTheRowsUsed) {
  struct Layout {
    uint64_t chunk_bytes;
    Compression chunk, sample;
    int64_t uncommitted;
  };
  for (const Layout& l : {Layout{4096, Compression::kNone, Compression::kNone, 0},
                          Layout{1 << 20, Compression::kNone, Compression::kNone, 0},
                          Layout{2048, Compression::kLz4, Compression::kNone, 0},
                          Layout{4096, Compression::kNone, Compression::kZstd, 0},
                          Layout{4096, Compression::kNone, Compression::kNone, 40}}) {
    SCOPED_TRACE("chunk_bytes " + std::to_string(l.chunk_bytes) + " chunk " +
                 std::string(compression_name(l.chunk)) + " sample " + std::string(compression_name(l.sample)) +
                 " uncommitted " + std::to_string(l.uncommitted));
    TempDir dir;
    std::vector<std::vector<int64_t>> adj;
    auto ds = random_graph(dir.path() / "g", 400, 25, l.chunk_bytes, adj, l.chunk, l.sample, l.uncommitted);
    const int64_t n = static_cast<int64_t>(ds->size());
    ASSERT_EQ(n, 400 + l.uncommitted);
    SamplerOptions o;
    o.fanouts = {6, 4, 3};
    auto chunked = NeighborSampler::Make(ds, o);
    o.max_held_bytes = 1;  // lets every chunk go before it reads the next
    auto tight = NeighborSampler::Make(ds, o);
    o.preload_csr = true;
    auto preloaded = NeighborSampler::Make(ds, o);
    ASSERT_TRUE(chunked.ok()) << chunked.status().ToString();
    ASSERT_TRUE(tight.ok()) << tight.status().ToString();
    ASSERT_TRUE(preloaded.ok()) << preloaded.status().ToString();
    std::mt19937_64 rng(3);
    for (int round = 0; round < 5; ++round) {
      std::set<int64_t> pick;
      while (pick.size() < 30) pick.insert(static_cast<int64_t>(rng() % n));
      std::vector<int64_t> seeds(pick.begin(), pick.end());
      std::shuffle(seeds.begin(), seeds.end(), rng);
      auto trace = std::make_shared<AccessTrace>();
      ds->set_access_trace(trace);
      auto a = (*chunked)->sample(seeds, 100 + round);
      ds->set_access_trace(nullptr);
      auto b = (*preloaded)->sample(seeds, 100 + round);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      EXPECT_EQ(a->n_id, b->n_id);
      EXPECT_EQ(a->hop_nodes, b->hop_nodes);
      ASSERT_EQ(a->blocks.size(), b->blocks.size());
      for (size_t k = 0; k < a->blocks.size(); ++k) {
        EXPECT_EQ(a->blocks[k].indptr, b->blocks[k].indptr);
        EXPECT_EQ(a->blocks[k].indices, b->blocks[k].indices);
      }
      ASSERT_EQ(a->x.nbytes(), b->x.nbytes());
      EXPECT_EQ(std::memcmp(a->x.data(), b->x.data(), a->x.nbytes()), 0);
      EXPECT_EQ(ints(a->y), ints(b->y));
      auto c = (*tight)->sample(seeds, 100 + round);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      EXPECT_EQ(c->n_id, b->n_id);
      for (size_t k = 0; k < c->blocks.size(); ++k) EXPECT_EQ(c->blocks[k].indices, b->blocks[k].indices);
      // The trace: the rows whose neighbours were read (every hop's destinations), the x
      // rows of every sampled node and the y rows of the seeds, all in one call.
      std::map<std::string, std::set<int64_t>> rows;
      std::set<uint64_t> calls;
      const auto names = trace->tensor_names();
      for (const AccessEvent& e : trace->events()) {
        calls.insert(e.call);
        for (uint64_t r = e.begin; r < e.begin + e.rows; ++r) rows[names[e.tensor]].insert(static_cast<int64_t>(r));
      }
      EXPECT_EQ(calls.size(), 1u);
      const uint64_t dst = a->blocks.back().num_dst;
      EXPECT_EQ(rows["neighbors"], std::set<int64_t>(a->n_id.begin(), a->n_id.begin() + dst));
      EXPECT_EQ(rows["x"], std::set<int64_t>(a->n_id.begin(), a->n_id.end()));
      EXPECT_EQ(rows["y"], std::set<int64_t>(seeds.begin(), seeds.end()));
    }
  }
}

TEST(NeighborSampler, RefusesBadInput) {
  TempDir dir;
  std::vector<std::vector<int64_t>> adj;
  auto ds = random_graph(dir.path() / "g", 50, 5, 1 << 20, adj);
  SamplerOptions o;
  EXPECT_FALSE(NeighborSampler::Make(ds, o).ok());  // no fanouts
  o.fanouts = {0};
  EXPECT_FALSE(NeighborSampler::Make(ds, o).ok());
  o.fanouts = {2};
  o.neighbors = "x";
  EXPECT_FALSE(NeighborSampler::Make(ds, o).ok());
  o.neighbors = "neighbors";
  auto s = NeighborSampler::Make(ds, o);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)->sample({50}, 0).ok());
  EXPECT_FALSE((*s)->sample({1, 1}, 0).ok());
  EXPECT_TRUE((*s)->sample({1, 2}, 0).ok());  // marks were reset after the errors
  // A neighbour id past the node count is refused by the sampler and by load_csr.
  int64_t bad[1] = {50};
  ASSERT_TRUE(ds->update("neighbors", 1, *Array::Copy(DType::kInt64, {1}, bad, 8)).ok());
  auto r = (*s)->sample({1}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("row 1: neighbour id 50 is not a row"), std::string::npos);
  EXPECT_FALSE(load_csr(*ds).ok());
}

}  // namespace
}  // namespace gtn::graph
