// ingest_ogb(): OGB's raw node-property format -> a graph dataset (docs/graph.md).
#include <algorithm>
#include <climits>
#include <filesystem>
#include <string>
#include <vector>

#include "gtn/graph.h"
#include "gtn/graph/csr.h"
#include "gtn/graph/gz_csv.h"

namespace gtn::graph {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kRowsPerBatch = 16384;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string at_line(const fs::path& file, uint64_t index) {
  return file.string() + ":" + std::to_string(index + 1);
}

// The split folder to read: `wanted`, or the only folder under split/.
Result<std::string> pick_split(const fs::path& root, const std::string& wanted) {
  fs::path dir = root / "split";
  std::error_code ec;
  if (!wanted.empty()) {
    if (!fs::is_directory(dir / wanted, ec)) {
      return Status::NotFound("no split folder " + (dir / wanted).string());
    }
    return wanted;
  }
  if (!fs::is_directory(dir, ec)) return std::string();
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  if (names.empty()) return std::string();
  if (names.size() > 1) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return Status::InvalidArgument(dir.string() + " holds several splits (" + list + "); choose one");
  }
  return names[0];
}

}  // namespace

Result<OgbIngestReport> ingest_ogb(const std::string& src, Dataset& dst, const OgbIngestOptions& options) {
  const fs::path root(src);
  const fs::path raw = root / "raw";
  std::error_code ec;
  if (!fs::is_directory(raw, ec)) {
    return Status::NotFound("no raw/ folder in " + src +
                            " (expected an unpacked OGB node-property dataset: raw/edge.csv.gz, "
                            "raw/num-node-list.csv.gz, raw/node-feat.csv.gz, ... and split/<name>/)");
  }
  if (dst.size() != 0 || !dst.tensor_names().empty()) {
    return Status::InvalidArgument("ingest_ogb writes into an empty dataset; the destination already has tensors");
  }
  auto progress = [&](std::string_view stage, uint64_t done, uint64_t total) {
    if (options.progress) options.progress(stage, done, total);
  };
  OgbIngestReport report;

  // --- sizes ---
  std::vector<int64_t> counts;
  GTN_ASSIGN_OR_RETURN(size_t cols, read_int_matrix((raw / "num-node-list.csv.gz").string(), 1, counts));
  (void)cols;
  if (counts.size() != 1) {
    return Status::InvalidArgument((raw / "num-node-list.csv.gz").string() + ": " + std::to_string(counts.size()) +
                                   " graphs; a node-property dataset has exactly one line (its node count)");
  }
  if (counts[0] <= 0) {
    return Status::InvalidArgument((raw / "num-node-list.csv.gz").string() + ":1: node count " +
                                   std::to_string(counts[0]) + ", expected > 0");
  }
  const uint64_t n = static_cast<uint64_t>(counts[0]);
  report.nodes = n;

  // --- edges ---
  progress("edge.csv.gz", 0, 1);
  const fs::path edge_file = raw / "edge.csv.gz";
  std::vector<int64_t> edges;
  GTN_ASSIGN_OR_RETURN(cols, read_int_matrix(edge_file.string(), 2, edges));
  const uint64_t m = edges.size() / 2;
  report.input_edges = m;
  std::vector<int64_t> src_ids(m), dst_ids(m);
  for (uint64_t e = 0; e < m; ++e) {
    for (int k = 0; k < 2; ++k) {
      int64_t v = edges[2 * e + k];
      if (v < 0 || static_cast<uint64_t>(v) >= n) {
        return Status::InvalidArgument(at_line(edge_file, e) + ": node id " + std::to_string(v) +
                                       " is outside [0, " + std::to_string(n) + ") (num-node-list.csv.gz says " +
                                       std::to_string(n) + " nodes)");
      }
    }
    src_ids[e] = edges[2 * e];
    dst_ids[e] = edges[2 * e + 1];
  }
  std::vector<int64_t>().swap(edges);
  progress("edge.csv.gz", 1, 1);
  if (is_file(raw / "num-edge-list.csv.gz")) {
    counts.clear();
    GTN_ASSIGN_OR_RETURN(cols, read_int_matrix((raw / "num-edge-list.csv.gz").string(), 1, counts));
    if (counts.size() != 1 || counts[0] != static_cast<int64_t>(m)) {
      return Status::InvalidArgument((raw / "num-edge-list.csv.gz").string() + " says " +
                                     (counts.empty() ? std::string("nothing") : std::to_string(counts[0])) +
                                     " edges but edge.csv.gz has " + std::to_string(m) + " lines");
    }
  }

  // --- node files ---
  std::vector<float> feat;
  if (is_file(raw / "node-feat.csv.gz")) {
    progress("node-feat.csv.gz", 0, 1);
    feat.reserve(n * 128);
    GTN_ASSIGN_OR_RETURN(report.features, read_float_matrix((raw / "node-feat.csv.gz").string(), 0, feat));
    if (report.features && feat.size() / report.features != n) {
      return Status::InvalidArgument((raw / "node-feat.csv.gz").string() + " has " +
                                     std::to_string(feat.size() / report.features) + " rows, expected one per node (" +
                                     std::to_string(n) + ")");
    }
    progress("node-feat.csv.gz", 1, 1);
  }
  std::vector<int64_t> labels;
  if (is_file(raw / "node-label.csv.gz")) {
    const fs::path f = raw / "node-label.csv.gz";
    auto lc = read_int_matrix(f.string(), 0, labels);
    if (!lc.ok()) {
      return Status::InvalidArgument(lc.status().message() +
                                     " (node labels must be integer class ids; unlabelled nodes are not supported)");
    }
    if (*lc != 1) {
      return Status::InvalidArgument(f.string() + ": " + std::to_string(*lc) +
                                     " label columns; only single-task node classification (one column) is supported");
    }
    if (labels.size() != n) {
      return Status::InvalidArgument(f.string() + " has " + std::to_string(labels.size()) +
                                     " rows, expected one per node (" + std::to_string(n) + ")");
    }
    int64_t max_label = -1;
    for (uint64_t i = 0; i < n; ++i) {
      if (labels[i] < 0) {
        return Status::InvalidArgument(at_line(f, i) + ": label " + std::to_string(labels[i]) + ", expected >= 0");
      }
      max_label = std::max(max_label, labels[i]);
    }
    report.classes = static_cast<uint64_t>(max_label + 1);
  }
  std::vector<int64_t> years;
  if (is_file(raw / "node_year.csv.gz")) {
    GTN_ASSIGN_OR_RETURN(cols, read_int_matrix((raw / "node_year.csv.gz").string(), 1, years));
    if (years.size() != n) {
      return Status::InvalidArgument((raw / "node_year.csv.gz").string() + " has " + std::to_string(years.size()) +
                                     " rows, expected one per node (" + std::to_string(n) + ")");
    }
  }
  std::vector<float> edge_feat;
  if (is_file(raw / "edge-feat.csv.gz")) {
    progress("edge-feat.csv.gz", 0, 1);
    GTN_ASSIGN_OR_RETURN(report.edge_features, read_float_matrix((raw / "edge-feat.csv.gz").string(), 0, edge_feat));
    if (report.edge_features && edge_feat.size() / report.edge_features != m) {
      return Status::InvalidArgument((raw / "edge-feat.csv.gz").string() + " has " +
                                     std::to_string(edge_feat.size() / report.edge_features) +
                                     " rows, expected one per edge (" + std::to_string(m) + ")");
    }
    progress("edge-feat.csv.gz", 1, 1);
  }

  // --- split ---
  std::vector<int64_t> split(n, 3);  // "none"
  GTN_ASSIGN_OR_RETURN(report.split, pick_split(root, options.split));
  if (!report.split.empty()) {
    const char* parts[3] = {"train", "valid", "test"};
    uint64_t* tallies[3] = {&report.train, &report.valid, &report.test};
    for (int k = 0; k < 3; ++k) {
      fs::path f = root / "split" / report.split / (std::string(parts[k]) + ".csv.gz");
      std::vector<int64_t> ids;
      GTN_ASSIGN_OR_RETURN(cols, read_int_matrix(f.string(), 1, ids));
      for (uint64_t i = 0; i < ids.size(); ++i) {
        int64_t v = ids[i];
        if (v < 0 || static_cast<uint64_t>(v) >= n) {
          return Status::InvalidArgument(at_line(f, i) + ": node id " + std::to_string(v) + " is outside [0, " +
                                         std::to_string(n) + ")");
        }
        if (split[v] != 3 && split[v] != k) {
          return Status::InvalidArgument(at_line(f, i) + ": node " + std::to_string(v) + " is also in the " +
                                         parts[split[v]] + " split");
        }
        split[v] = k;
      }
      *tallies[k] = ids.size();
    }
  }

  // --- CSR (and CSC) ---
  progress("csr", 0, 1);
  CsrGraph out = build_csr(src_ids.data(), dst_ids.data(), m, n, false, options.to_undirected);
  CsrGraph in;
  if (options.csc) in = build_csr(src_ids.data(), dst_ids.data(), m, n, true, options.to_undirected);
  std::vector<int64_t>().swap(src_ids);
  std::vector<int64_t>().swap(dst_ids);
  report.stored_edges = out.indices.size();
  progress("csr", 1, 1);
  const bool int32_ids = options.int32_ids && n <= static_cast<uint64_t>(INT32_MAX);
  std::vector<int32_t> out32, in32;
  if (int32_ids) {
    out32.assign(out.indices.begin(), out.indices.end());
    if (options.csc) in32.assign(in.indices.begin(), in.indices.end());
  }

  // --- schema ---
  auto spec = [&](std::string name, std::string htype, std::optional<DType> dtype) {
    TensorSpec s;
    s.name = std::move(name);
    s.htype = std::move(htype);
    s.dtype = dtype;
    s.chunk_target_bytes = options.chunk_target_bytes;
    s.chunk_compression = options.chunk_compression;
    return s;
  };
  std::vector<TensorSpec> specs;
  if (report.features) specs.push_back(spec("x", "generic", DType::kFloat32));
  if (!labels.empty()) {
    TensorSpec s = spec("y", "class_label", DType::kInt64);
    for (uint64_t c = 0; c < report.classes; ++c) s.class_names.push_back(std::to_string(c));
    specs.push_back(std::move(s));
  }
  {
    TensorSpec s = spec("split", "class_label", DType::kInt64);
    s.class_names = split_class_names();
    specs.push_back(std::move(s));
  }
  const DType id_type = int32_ids ? DType::kInt32 : DType::kInt64;
  specs.push_back(spec("neighbors", "neighbors", id_type));
  if (options.csc) specs.push_back(spec("in_neighbors", "neighbors", id_type));
  if (report.edge_features) specs.push_back(spec("edge_attr", "edge_feature", DType::kFloat32));
  if (!years.empty()) specs.push_back(spec("node_year", "generic", DType::kInt64));
  for (const TensorSpec& s : specs) {
    GTN_RETURN_IF_ERROR(dst.create_tensor(s));
    report.tensors.push_back(s.name);
  }

  // --- rows ---
  const uint64_t fdim = report.features, edim = report.edge_features;
  const size_t id_size = int32_ids ? 4 : 8;
  auto id_row = [&](const CsrGraph& g, const std::vector<int32_t>& g32, uint64_t v) -> Result<Array> {
    int64_t b = g.indptr[v], deg = g.indptr[v + 1] - b;
    const void* p = int32_ids ? static_cast<const void*>(g32.data() + b) : static_cast<const void*>(g.indices.data() + b);
    return Array::View(id_type, {deg}, p, static_cast<size_t>(deg) * id_size, nullptr);
  };
  std::vector<float> ebuf;
  for (uint64_t begin = 0; begin < n; begin += kRowsPerBatch) {
    uint64_t end = std::min(n, begin + kRowsPerBatch);
    SampleBatch batch;
    if (fdim) {
      auto& col = batch["x"];
      for (uint64_t v = begin; v < end; ++v) {
        GTN_ASSIGN_OR_RETURN(Array a, Array::View(DType::kFloat32, {static_cast<int64_t>(fdim)}, feat.data() + v * fdim,
                                                  fdim * sizeof(float), nullptr));
        col.push_back(std::move(a));
      }
    }
    if (!labels.empty()) {
      auto& col = batch["y"];
      for (uint64_t v = begin; v < end; ++v) col.push_back(Array::Scalar<int64_t>(DType::kInt64, labels[v]));
    }
    {
      auto& col = batch["split"];
      for (uint64_t v = begin; v < end; ++v) col.push_back(Array::Scalar<int64_t>(DType::kInt64, split[v]));
    }
    {
      auto& col = batch["neighbors"];
      for (uint64_t v = begin; v < end; ++v) {
        GTN_ASSIGN_OR_RETURN(Array a, id_row(out, out32, v));
        col.push_back(std::move(a));
      }
    }
    if (options.csc) {
      auto& col = batch["in_neighbors"];
      for (uint64_t v = begin; v < end; ++v) {
        GTN_ASSIGN_OR_RETURN(Array a, id_row(in, in32, v));
        col.push_back(std::move(a));
      }
    }
    if (edim) {
      // Edge features in `neighbors` order: gathered by input edge id.
      int64_t eb = out.indptr[begin], ee = out.indptr[end];
      ebuf.resize(static_cast<size_t>(ee - eb) * edim);
      for (int64_t p = eb; p < ee; ++p) {
        std::copy_n(edge_feat.data() + out.edge_id[p] * edim, edim, ebuf.data() + (p - eb) * edim);
      }
      auto& col = batch["edge_attr"];
      for (uint64_t v = begin; v < end; ++v) {
        int64_t b = out.indptr[v], deg = out.indptr[v + 1] - b;
        GTN_ASSIGN_OR_RETURN(Array a, Array::View(DType::kFloat32, {deg, static_cast<int64_t>(edim)},
                                                  ebuf.data() + (b - eb) * edim, deg * edim * sizeof(float), nullptr));
        col.push_back(std::move(a));
      }
    }
    if (!years.empty()) {
      auto& col = batch["node_year"];
      for (uint64_t v = begin; v < end; ++v) col.push_back(Array::Scalar<int64_t>(DType::kInt64, years[v]));
    }
    GTN_RETURN_IF_ERROR(dst.extend(batch));
    progress("write", end, n);
  }
  std::string message = options.message.empty() ? "ingest OGB " + src : options.message;
  GTN_ASSIGN_OR_RETURN(report.commit, dst.commit(message));
  return report;
}

}  // namespace gtn::graph
