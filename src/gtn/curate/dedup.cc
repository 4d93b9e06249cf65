// dedup(): runs the stages, picks the row each cluster keeps, writes the outputs.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "gtn/curate.h"
#include "gtn/curate/dedup_index.h"
#include "gtn/curate/parallel.h"
#include "gtn/curate/stages.h"
#include "gtn/curate/text_stage.h"
#include "gtn/curate/union_find.h"

namespace gtn::curate {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr size_t kMaxBucket = 2000;

std::string tensor_list(const Dataset& ds) {
  std::string out;
  for (const std::string& t : ds.tensor_names()) out += (out.empty() ? "" : ", ") + t;
  return out.empty() ? "none" : out;
}

Result<size_t> find_tensor(const Dataset& ds, const std::string& name, const std::string& role) {
  Result<size_t> i = ds.tensor_index(name);
  if (!i.ok()) {
    return Status::InvalidArgument(role + " tensor '" + name + "' does not exist (the dataset has: " + tensor_list(ds) +
                                   ")");
  }
  return i;
}

Status check_text_tensor(const Dataset& ds, const std::string& name) {
  GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds.tensor_spec(name));
  if (spec.dtype != DType::kText) {
    return Status::InvalidArgument("tensor '" + name + "' has htype " + spec.htype + " and dtype " +
                                   std::string(dtype_name(spec.dtype ? *spec.dtype : DType::kFloat32)) +
                                   "; the exact and minhash stages need a text tensor (htype text)");
  }
  return Status::OK();
}

Status check_options(const DedupOptions& o) {
  if (o.stages.empty()) return Status::InvalidArgument("no dedup stage given (exact, minhash, image, semantic)");
  if (!(o.threshold > 0.0 && o.threshold <= 1.0) || std::isnan(o.threshold)) {
    return Status::InvalidArgument("threshold must be in (0, 1], got " + std::to_string(o.threshold));
  }
  if (o.ngrams.n < 1 || o.ngrams.n > 64) {
    return Status::InvalidArgument("n-gram size must be in [1, 64], got " + std::to_string(o.ngrams.n));
  }
  if (o.num_perm < 1 || o.num_perm > 4096) {
    return Status::InvalidArgument("num_perm must be in [1, 4096], got " + std::to_string(o.num_perm));
  }
  if ((o.lsh.bands != 0 || o.lsh.rows != 0) &&
      (o.lsh.bands < 1 || o.lsh.rows < 1 || o.lsh.bands * o.lsh.rows > o.num_perm)) {
    return Status::InvalidArgument("LSH bands x rows must be >= 1 each with bands * rows <= num_perm (" +
                                   std::to_string(o.num_perm) + "), got " + std::to_string(o.lsh.bands) + " x " +
                                   std::to_string(o.lsh.rows));
  }
  if (o.hamming_radius < 0 || o.hamming_radius > 64) {
    return Status::InvalidArgument("hamming radius must be in [0, 64], got " + std::to_string(o.hamming_radius));
  }
  if (o.keep == KeepPolicy::kHighestScore && o.score_tensor.empty()) {
    return Status::InvalidArgument("keep policy 'score' needs a score tensor");
  }
  if (!o.index_path.empty()) {
    for (Stage s : o.stages) {
      if (s != Stage::kExact && s != Stage::kMinHash) {
        return Status::InvalidArgument("an incremental index covers the exact and minhash stages only, not " +
                                       std::string(stage_name(s)));
      }
    }
    if (!o.exact_tensors.empty()) {
      return Status::InvalidArgument("an incremental index covers the exact stage on the text tensor only");
    }
  }
  return Status::OK();
}

bool has_stage(const DedupOptions& o, Stage s) {
  for (Stage x : o.stages) {
    if (x == s) return true;
  }
  return false;
}

std::string index_params(const DedupOptions& o, const LshParams& lsh) {
  nlohmann::json j;
  j["format"] = 1;
  j["tensor"] = o.tensor;
  nlohmann::json stages = nlohmann::json::array();
  for (Stage s : o.stages) stages.push_back(std::string(stage_name(s)));
  j["stages"] = stages;
  j["normalize_exact"] = o.normalize_exact;
  j["ngram_unit"] = o.ngrams.unit == NgramUnit::kWord ? "word" : "char";
  j["ngram_n"] = o.ngrams.n;
  const TextNormalization& n = o.ngrams.normalization;
  j["normalization"] = {n.lowercase, n.punctuation, n.whitespace, n.nfkc};
  j["threshold"] = o.threshold;
  j["num_perm"] = o.num_perm;
  j["bands"] = lsh.bands;
  j["rows"] = lsh.rows;
  j["seed"] = o.seed;
  j["allow_empty"] = o.allow_empty;
  return j.dump();
}

// Reads a numeric scalar tensor as doubles (keep policy "score").
Result<std::vector<double>> read_scores(const Dataset& ds, const std::string& name, uint64_t n) {
  GTN_ASSIGN_OR_RETURN(size_t ti, find_tensor(ds, name, "score"));
  GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds.tensor_spec(name));
  DType d = spec.dtype ? *spec.dtype : DType::kFloat32;
  if (dtype_is_bytes_like(d)) {
    return Status::InvalidArgument("score tensor '" + name + "' has dtype " + std::string(dtype_name(d)) +
                                   "; a numeric scalar per row is expected");
  }
  std::vector<double> out(n);
  for (uint64_t r = 0; r < n; ++r) {
    GTN_ASSIGN_OR_RETURN(Array a, ds.read(ti, r));
    if (a.numel() != 1) {
      return Status::InvalidArgument("score tensor '" + name + "', row " + std::to_string(r) + " has shape " +
                                     shape_to_string(a.shape()) + "; one number per row is expected");
    }
    double v = 0;
    switch (a.dtype()) {
      case DType::kBool: v = *a.data_as<bool>(); break;
      case DType::kInt8: v = *a.data_as<int8_t>(); break;
      case DType::kInt16: v = *a.data_as<int16_t>(); break;
      case DType::kInt32: v = *a.data_as<int32_t>(); break;
      case DType::kInt64: v = static_cast<double>(*a.data_as<int64_t>()); break;
      case DType::kUInt8: v = *a.data_as<uint8_t>(); break;
      case DType::kUInt16: v = *a.data_as<uint16_t>(); break;
      case DType::kUInt32: v = *a.data_as<uint32_t>(); break;
      case DType::kUInt64: v = static_cast<double>(*a.data_as<uint64_t>()); break;
      case DType::kFloat32: v = *a.data_as<float>(); break;
      case DType::kFloat64: v = *a.data_as<double>(); break;
      default:
        return Status::InvalidArgument("score tensor '" + name + "' has dtype " + std::string(dtype_name(a.dtype())) +
                                       "; int, uint, float32/64 or bool is expected");
    }
    if (std::isnan(v)) {
      return Status::InvalidArgument("score tensor '" + name + "', row " + std::to_string(r) + " is NaN");
    }
    out[r] = v;
  }
  return out;
}

Status make_text_plan(const Dataset& ds, const DedupOptions& o, int threads, TextPlan& plan) {
  const bool exact = has_stage(o, Stage::kExact);
  const bool minhash = has_stage(o, Stage::kMinHash);
  plan.tensor = o.tensor;
  plan.exact = exact && o.exact_tensors.empty();
  plan.exact_normalized = o.normalize_exact;
  plan.minhash = minhash;
  plan.ngrams = o.ngrams;
  plan.num_perm = o.num_perm;
  plan.seed = o.seed;
  plan.allow_empty = o.allow_empty;
  plan.threads = threads;
  if (minhash) {
    if (o.lsh.bands > 0) {
      plan.lsh = o.lsh;
    } else {
      GTN_ASSIGN_OR_RETURN(plan.lsh, choose_lsh_params(o.threshold, o.num_perm, o.lsh_target_recall));
    }
  }
  if (minhash || plan.exact) {
    GTN_ASSIGN_OR_RETURN(plan.tensor_index, find_tensor(ds, o.tensor, "text"));
    GTN_RETURN_IF_ERROR(check_text_tensor(ds, o.tensor));
  }
  return Status::OK();
}

struct Outcome {
  DedupReport report;
  RowHashes hashes;          // for the index
  std::vector<uint64_t> text_roots;  // roots after the text stages (for the index)
};

Result<Outcome> run(const Dataset& ds, const DedupOptions& o) {
  auto t0 = Clock::now();
  GTN_RETURN_IF_ERROR(check_options(o));
  Outcome out;
  DedupReport& rep = out.report;
  const uint64_t n = ds.size();
  if (n >= (1ull << 32)) return Status::Unsupported("dedup handles fewer than 2^32 rows");
  rep.rows = n;
  const int threads = resolve_threads(o.n_threads);
  const bool exact = has_stage(o, Stage::kExact);
  const bool minhash = has_stage(o, Stage::kMinHash);
  const bool text_stages = minhash || (exact && o.exact_tensors.empty());

  TextPlan plan;
  GTN_RETURN_IF_ERROR(make_text_plan(ds, o, threads, plan));
  if (minhash) {
    rep.lsh = plan.lsh;
    rep.s_curve = s_curve_text(plan.lsh, o.threshold);
  }
  std::vector<double> scores;
  if (o.keep == KeepPolicy::kHighestScore) {
    GTN_ASSIGN_OR_RETURN(scores, read_scores(ds, o.score_tensor, n));
  }

  RowHashes& h = out.hashes;
  h.bands = minhash ? plan.lsh.bands : 0;
  UnionFind uf(n);
  UnionFind uf_exact(n);
  uint64_t first_new = 0;
  // --- incremental: what the index already covers ---
  const std::string params = index_params(o, plan.lsh);
  if (!o.index_path.empty() && std::filesystem::exists(o.index_path)) {
    GTN_ASSIGN_OR_RETURN(DedupIndex index, read_dedup_index(o.index_path, params, h.bands));
    if (index.matches && index.hashes.rows() <= n) {
      first_new = index.hashes.rows();
      h = std::move(index.hashes);
      for (uint64_t r = 0; r < first_new; ++r) uf.set_parent(r, index.roots[r]);
    }
  }
  h.resize(n);
  // A stale index (rows rewritten since it was made) would silently give wrong clusters:
  // re-hash a spread of its rows and compare.
  if (first_new > 0) {
    RowHashes check;
    check.bands = h.bands;
    check.resize(n);
    TextPlan check_plan = plan;
    check_plan.threads = 1;
    const uint64_t samples = std::min<uint64_t>(first_new, 16);
    for (uint64_t s = 0; s < samples; ++s) {
      uint64_t r = samples == 1 ? 0 : s * (first_new - 1) / (samples - 1);
      GTN_RETURN_IF_ERROR(hash_text_rows(ds, check_plan, r, r + 1, check, nullptr));
      bool same = check.length[r] == h.length[r] && check.empty[r] == h.empty[r] &&
                  (!plan.exact || check.exact[r] == h.exact[r]) &&
                  std::equal(check.keys.begin() + static_cast<std::ptrdiff_t>(r * h.bands),
                             check.keys.begin() + static_cast<std::ptrdiff_t>((r + 1) * h.bands),
                             h.keys.begin() + static_cast<std::ptrdiff_t>(r * h.bands));
      if (!same) {
        return Status::InvalidArgument("the dedup index " + o.index_path + " does not match row " +
                                       std::to_string(r) + " of the dataset (rows changed since it was written); " +
                                       "delete it to rebuild");
      }
    }
  }
  rep.rows_indexed_before = first_new;

  // --- hashing ---
  if (text_stages) {
    auto t = Clock::now();
    std::function<void(uint64_t, uint64_t)> progress;
    if (o.progress) progress = [&](uint64_t d, uint64_t total) { o.progress("hash", d, total); };
    if (o.executor.hash_rows && n > first_new) {
      GTN_ASSIGN_OR_RETURN(std::vector<TextRowHashes> parts, o.executor.hash_rows(first_new, n));
      uint64_t next = first_new;
      for (const TextRowHashes& p : parts) {
        uint64_t rows = p.length.size();
        if (p.begin != next || p.bands != h.bands || p.exact.size() != 2 * rows || p.empty.size() != rows ||
            p.keys.size() != rows * static_cast<uint64_t>(h.bands) || next + rows > n) {
          return Status::Internal("the executor's hashes do not cover the rows in order (part at row " +
                                  std::to_string(p.begin) + ", expected " + std::to_string(next) + ")");
        }
        for (uint64_t i = 0; i < rows; ++i) {
          h.exact[next + i] = {p.exact[2 * i], p.exact[2 * i + 1]};
          h.length[next + i] = p.length[i];
          h.empty[next + i] = p.empty[i];
        }
        std::copy(p.keys.begin(), p.keys.end(), h.keys.begin() + static_cast<std::ptrdiff_t>(next * h.bands));
        next += rows;
      }
      if (next != n) return Status::Internal("the executor's hashes stop at row " + std::to_string(next));
      if (!plan.allow_empty) {
        for (uint64_t r = first_new; r < n; ++r) {
          if (h.empty[r]) return Status::Internal("the executor accepted an empty text at row " + std::to_string(r));
        }
      }
    } else {
      GTN_RETURN_IF_ERROR(hash_text_rows(ds, plan, first_new, n, h, progress));
    }
    rep.rows_hashed = n - first_new;
    for (uint64_t r = 0; r < n; ++r) rep.empty_rows += h.empty[r];
    (void)t;
  }
  if (exact && !o.exact_tensors.empty()) {
    std::vector<size_t> tis;
    for (const std::string& name : o.exact_tensors) {
      GTN_ASSIGN_OR_RETURN(size_t ti, find_tensor(ds, name, "exact"));
      tis.push_back(ti);
    }
    if (!text_stages) h.resize(n);
    GTN_RETURN_IF_ERROR(hash_rows_raw(ds, tis, 0, n, h));
    rep.rows_hashed = n;
  }
  const double hash_seconds = since(t0);

  // Rows that stages so far made duplicates (not their cluster's root).
  uint64_t removed_before = 0;
  auto settle = [&](StageCount& sc) {
    uint64_t removed = 0;
    for (uint64_t r = 0; r < n; ++r) removed += uf.find(r) != r;
    sc.rows_removed = removed - removed_before;
    removed_before = removed;
  };
  // --- exact ---
  if (exact) {
    auto t = Clock::now();
    StageCount sc;
    sc.stage = "exact";
    unite_exact(h, n, uf_exact);
    for (uint64_t r = 0; r < n; ++r) {
      uint64_t root = uf_exact.find(r);
      if (root != r) {
        ++sc.matched_pairs;
        uf.unite(root, r);
        if (static_cast<int>(rep.examples.size()) < o.max_examples) rep.examples.push_back({"exact", r, root, 1.0});
      }
    }
    sc.candidate_pairs = sc.matched_pairs;
    settle(sc);
    sc.seconds = since(t) + hash_seconds;
    rep.stages.push_back(sc);
  }
  // --- minhash ---
  if (minhash) {
    auto t = Clock::now();
    StageCount sc;
    sc.stage = "minhash";
    std::vector<uint64_t> reps(n);
    for (uint64_t r = 0; r < n; ++r) reps[r] = exact ? uf_exact.find(r) : r;
    uint64_t oversized = 0;
    std::vector<uint64_t> pairs = lsh_candidates(h, reps, n, first_new, kMaxBucket, &oversized);
    sc.candidate_pairs = pairs.size();
    rep.peak_signature_bytes = n * h.bands * 8 + pairs.size() * 16;
    std::vector<double> jacc;
    uint64_t peak = 0;
    std::function<void(uint64_t, uint64_t)> progress;
    if (o.progress) progress = [&](uint64_t d, uint64_t total) { o.progress("verify", d, total); };
    if (o.executor.verify) {
      GTN_ASSIGN_OR_RETURN(jacc, o.executor.verify(pairs));
      if (jacc.size() != pairs.size()) return Status::Internal("the executor verified a different number of pairs");
    } else {
      GTN_RETURN_IF_ERROR(verify_pairs(ds, plan, h, pairs, o.memory_budget_bytes, jacc, &peak, progress));
    }
    rep.peak_signature_bytes += peak;
    int shown = 0;
    for (size_t i = 0; i < pairs.size(); ++i) {
      uint64_t a = pairs[i] >> 32, b = pairs[i] & 0xFFFFFFFFull;
      if (jacc[i] >= o.threshold) {
        ++sc.matched_pairs;
        uf.unite(a, b);
        if (shown < o.max_examples && jacc[i] < 1.0) {
          rep.examples.push_back({"minhash", b, a, jacc[i]});
          ++shown;
        }
      } else {
        ++sc.rejected_pairs;
      }
    }
    sc.seconds = since(t) + (exact ? 0 : hash_seconds);
    settle(sc);
    rep.stages.push_back(sc);
  }
  if (text_stages) {
    out.text_roots.resize(n);
    for (uint64_t r = 0; r < n; ++r) out.text_roots[r] = uf.find(r);
  }
  // --- image / semantic ---
  for (Stage s : o.stages) {
    if (s != Stage::kImage && s != Stage::kSemantic) continue;
    auto t = Clock::now();
    StageCount sc;
    sc.stage = std::string(stage_name(s));
    GTN_ASSIGN_OR_RETURN(size_t ti, find_tensor(ds, o.tensor, sc.stage));
    uint64_t compared = 0;
    Result<std::vector<Edge>> edges = s == Stage::kImage ? image_pairs(ds, ti, o, threads, &compared)
                                                         : semantic_pairs(ds, ti, o, threads, &compared);
    GTN_RETURN_IF_ERROR(edges.status());
    sc.candidate_pairs = compared;
    int shown = 0;
    for (const Edge& e : *edges) {
      ++sc.matched_pairs;
      uf.unite(e.a, e.b);
      if (shown++ < o.max_examples) rep.examples.push_back({sc.stage, e.b, e.a, e.similarity});
    }
    sc.seconds = since(t);
    settle(sc);
    rep.stages.push_back(sc);
  }

  // --- clusters and the row each keeps ---
  std::vector<uint64_t> keep_of(n, UINT64_MAX);
  std::vector<uint64_t> size(n, 0);
  for (uint64_t r = 0; r < n; ++r) {
    uint64_t root = uf.find(r);
    ++size[root];
    uint64_t& k = keep_of[root];
    if (k == UINT64_MAX) {
      k = r;
    } else if (o.keep == KeepPolicy::kLongest) {
      if (h.length.size() == n && h.length[r] > h.length[k]) k = r;
    } else if (o.keep == KeepPolicy::kHighestScore) {
      if (scores[r] > scores[k]) k = r;
    }
  }
  rep.cluster_id.resize(n);
  rep.duplicate_of.resize(n);
  for (uint64_t r = 0; r < n; ++r) {
    uint64_t root = uf.find(r);
    rep.cluster_id[r] = static_cast<int64_t>(root);
    uint64_t k = keep_of[root];
    rep.duplicate_of[r] = k == r ? -1 : static_cast<int64_t>(k);
    if (k == r) rep.keep_rows.push_back(r);
    if (root == r && size[r] >= 2) {
      ++rep.clusters;
      ++rep.cluster_sizes[size[r]];
      rep.largest_cluster = std::max(rep.largest_cluster, size[r]);
    }
  }
  rep.rows_kept = rep.keep_rows.size();
  rep.rows_removed = n - rep.rows_kept;
  rep.seconds = since(t0);
  return out;
}

Status write_int64_tensor(Dataset& ds, const std::string& name, const std::vector<int64_t>& values) {
  std::vector<std::string> names = ds.tensor_names();
  bool exists = std::find(names.begin(), names.end(), name) != names.end();
  std::vector<uint64_t> changed;
  if (exists) {
    GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds.tensor_spec(name));
    if (!spec.dtype || *spec.dtype != DType::kInt64) {
      return Status::InvalidArgument("tensor '" + name + "' exists with dtype " +
                                     std::string(dtype_name(spec.dtype ? *spec.dtype : DType::kFloat32)) +
                                     "; dedup writes int64 there (choose another output name)");
    }
    GTN_ASSIGN_OR_RETURN(size_t ti, ds.tensor_index(name));
    for (uint64_t r = 0; r < values.size(); ++r) {
      GTN_ASSIGN_OR_RETURN(Array a, ds.read(ti, r));
      if (a.numel() != 1 || a.dtype() != DType::kInt64 || *a.data_as<int64_t>() != values[r]) changed.push_back(r);
    }
  } else {
    TensorSpec spec;
    spec.name = name;
    spec.htype = "generic";
    spec.dtype = DType::kInt64;
    GTN_RETURN_IF_ERROR(ds.create_tensor(spec));
    changed.resize(values.size());
    std::iota(changed.begin(), changed.end(), uint64_t{0});
  }
  if (changed.empty()) return Status::OK();
  std::vector<Array> arrays;
  arrays.reserve(changed.size());
  for (uint64_t r : changed) arrays.push_back(Array::Scalar<int64_t>(DType::kInt64, values[r]));
  return ds.update(name, changed, arrays);
}

}  // namespace

Result<KeepPolicy> parse_keep_policy(std::string_view name) {
  if (name == "first") return KeepPolicy::kFirst;
  if (name == "longest") return KeepPolicy::kLongest;
  if (name == "score" || name == "highest_score" || name == "highest-score") return KeepPolicy::kHighestScore;
  return Status::InvalidArgument("unknown keep policy '" + std::string(name) + "' (expected first, longest or score)");
}

Result<Stage> parse_stage(std::string_view name) {
  if (name == "exact") return Stage::kExact;
  if (name == "minhash" || name == "near") return Stage::kMinHash;
  if (name == "image" || name == "phash" || name == "dhash") return Stage::kImage;
  if (name == "semantic" || name == "semdedup") return Stage::kSemantic;
  return Status::InvalidArgument("unknown dedup method '" + std::string(name) +
                                 "' (expected exact, minhash, image or semantic, joined with '+')");
}

std::string_view stage_name(Stage s) {
  switch (s) {
    case Stage::kExact: return "exact";
    case Stage::kMinHash: return "minhash";
    case Stage::kImage: return "image";
    case Stage::kSemantic: return "semantic";
  }
  return "?";
}

Result<std::vector<Stage>> parse_stages(std::string_view method) {
  std::vector<Stage> out;
  size_t start = 0;
  while (start <= method.size()) {
    size_t end = method.find('+', start);
    if (end == std::string_view::npos) end = method.size();
    std::string_view part = method.substr(start, end - start);
    GTN_ASSIGN_OR_RETURN(Stage s, parse_stage(part));
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    start = end + 1;
  }
  std::sort(out.begin(), out.end());  // exact runs first: later stages work on its groups
  return out;
}

Result<TextRowHashes> hash_text_rows(const Dataset& dataset, const DedupOptions& options, uint64_t begin,
                                     uint64_t end) {
  GTN_RETURN_IF_ERROR(check_options(options));
  if (!has_stage(options, Stage::kExact) && !has_stage(options, Stage::kMinHash)) {
    return Status::InvalidArgument("hash_text_rows needs the exact or minhash stage");
  }
  if (begin > end || end > dataset.size()) {
    return Status::OutOfRange("rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") of a dataset of " +
                              std::to_string(dataset.size()) + " rows");
  }
  TextPlan plan;
  GTN_RETURN_IF_ERROR(make_text_plan(dataset, options, resolve_threads(options.n_threads), plan));
  RowHashes h;
  h.bands = plan.minhash ? plan.lsh.bands : 0;
  h.resize(end);
  GTN_RETURN_IF_ERROR(hash_text_rows(dataset, plan, begin, end, h, nullptr));
  TextRowHashes out;
  out.begin = begin;
  out.bands = h.bands;
  for (uint64_t r = begin; r < end; ++r) {
    out.exact.push_back(h.exact[r][0]);
    out.exact.push_back(h.exact[r][1]);
    out.length.push_back(h.length[r]);
    out.empty.push_back(h.empty[r]);
  }
  out.keys.assign(h.keys.begin() + static_cast<std::ptrdiff_t>(begin * h.bands), h.keys.end());
  return out;
}

Result<std::vector<double>> verify_text_pairs(const Dataset& dataset, const DedupOptions& options,
                                              const std::vector<uint64_t>& pairs) {
  GTN_RETURN_IF_ERROR(check_options(options));
  TextPlan plan;
  GTN_RETURN_IF_ERROR(make_text_plan(dataset, options, resolve_threads(options.n_threads), plan));
  const uint64_t n = dataset.size();
  RowHashes h;
  h.bands = 0;
  h.resize(n);
  // The budget windows need each row's length; only rows named by pairs are read.
  for (uint64_t p : pairs) {
    for (uint64_t r : {uint64_t{p >> 32}, uint64_t{p & 0xFFFFFFFFull}}) {
      if (r >= n) return Status::OutOfRange("pair names row " + std::to_string(r) + " of " + std::to_string(n));
      if (h.length[r] == 0) {
        GTN_ASSIGN_OR_RETURN(Shape shape, dataset.sample_shape(plan.tensor_index, r));
        h.length[r] = shape.empty() ? 0 : static_cast<uint64_t>(shape[0]) + 1;
      }
    }
  }
  std::vector<double> out;
  uint64_t peak = 0;
  GTN_RETURN_IF_ERROR(verify_pairs(dataset, plan, h, pairs, options.memory_budget_bytes, out, &peak, nullptr));
  return out;
}

Result<DedupReport> find_duplicates(const Dataset& dataset, const DedupOptions& options) {
  GTN_ASSIGN_OR_RETURN(Outcome out, run(dataset, options));
  if (!options.index_path.empty()) {
    DedupIndex index{index_params(options, out.report.lsh), std::move(out.hashes), std::move(out.text_roots)};
    GTN_RETURN_IF_ERROR(write_dedup_index(options.index_path, index));
  }
  return std::move(out.report);
}

Result<DedupReport> dedup(Dataset& dataset, const DedupOptions& options) {
  if (options.write_tensors || !options.commit_message.empty()) {
    if (dataset.read_only()) {
      return Status::InvalidArgument("the dataset is open read-only; dedup writes the " + options.cluster_tensor +
                                     " and " + options.duplicate_tensor +
                                     " tensors and commits (open it writable, or use find_duplicates)");
    }
    if (options.cluster_tensor == options.tensor || options.duplicate_tensor == options.tensor ||
        options.cluster_tensor == options.duplicate_tensor) {
      return Status::InvalidArgument("the output tensors must have their own names (got '" + options.cluster_tensor +
                                     "' and '" + options.duplicate_tensor + "' for input '" + options.tensor + "')");
    }
    GTN_RETURN_IF_ERROR(dataset.flush());
  }
  GTN_ASSIGN_OR_RETURN(Outcome out, run(dataset, options));
  DedupReport& rep = out.report;
  if (options.write_tensors) {
    GTN_RETURN_IF_ERROR(write_int64_tensor(dataset, options.cluster_tensor, rep.cluster_id));
    GTN_RETURN_IF_ERROR(write_int64_tensor(dataset, options.duplicate_tensor, rep.duplicate_of));
    GTN_RETURN_IF_ERROR(dataset.flush());
  }
  if (!options.commit_message.empty() && dataset.has_uncommitted_changes()) {
    GTN_ASSIGN_OR_RETURN(rep.commit, dataset.commit(options.commit_message));
  }
  // The kept rows as a saved view of the committed state (positions in that commit).
  if (!options.view_name.empty() && !dataset.has_uncommitted_changes() && !dataset.head_commit().empty()) {
    ViewRecord view;
    view.name = options.view_name;
    view.commit = dataset.head_commit();
    view.rows = rep.keep_rows;
    view.message = "dedup: " + std::to_string(rep.rows_kept) + " of " + std::to_string(rep.rows) + " rows kept";
    GTN_RETURN_IF_ERROR(dataset.save_view(view));
    rep.view = view.name;
  }
  if (!options.index_path.empty()) {
    DedupIndex index{index_params(options, rep.lsh), std::move(out.hashes), std::move(out.text_roots)};
    GTN_RETURN_IF_ERROR(write_dedup_index(options.index_path, index));
  }
  return std::move(rep);
}

}  // namespace gtn::curate
