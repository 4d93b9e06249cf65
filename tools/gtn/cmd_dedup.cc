// gtn dedup DATASET: exact, near-duplicate text (MinHash-LSH), image and semantic
// deduplication (docs/curate.md). A .jsonl/.csv source is ingested into --into first.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/curate.h"
#include "gtn/dataset.h"
#include "gtn/ingest.h"
#include "progress_bar.h"

namespace gtn::cli {
namespace {

struct DedupArgs {
  std::string dataset;
  std::string into;
  std::string tensor = "text";
  std::string exact_tensors;
  std::string method = "exact+minhash";
  double threshold = 0.8;
  int ngram = 5;
  std::string unit = "word";
  int num_perm = 128;
  int bands = 0, rows = 0;
  std::string keep = "first";
  std::string score;
  std::string image_hash = "phash";
  int hamming = 10;
  int clusters = 0;
  uint64_t seed = 42;
  int threads = 0;
  std::string index;
  bool no_write = false;
  bool allow_empty = false;
  bool raw_exact = false;
  std::string commit = "dedup";
  std::string view = "dedup-keep";
  std::string report_json;
  std::string keep_rows;
  uint64_t memory_mb = 512;
};

bool is_file_source(const std::string& path) {
  std::filesystem::path p(path);
  std::string ext = p.extension().string();
  return std::filesystem::is_regular_file(p) && (ext == ".jsonl" || ext == ".ndjson" || ext == ".csv" || ext == ".tsv");
}

Status run(const DedupArgs& args) {
  curate::DedupOptions o;
  GTN_ASSIGN_OR_RETURN(o.stages, curate::parse_stages(args.method));
  o.tensor = args.tensor;
  if (!args.exact_tensors.empty()) {
    std::string s = args.exact_tensors;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(',', start);
      if (end == std::string::npos) end = s.size();
      o.exact_tensors.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  o.normalize_exact = !args.raw_exact;
  o.threshold = args.threshold;
  o.ngrams.n = args.ngram;
  GTN_ASSIGN_OR_RETURN(o.ngrams.unit, curate::parse_ngram_unit(args.unit));
  o.num_perm = args.num_perm;
  o.lsh = {args.bands, args.rows};
  GTN_ASSIGN_OR_RETURN(o.keep, curate::parse_keep_policy(args.keep));
  o.score_tensor = args.score;
  GTN_ASSIGN_OR_RETURN(o.image_hash, curate::parse_image_hash_kind(args.image_hash));
  o.hamming_radius = args.hamming;
  o.semantic_clusters = args.clusters;
  o.seed = args.seed;
  o.n_threads = args.threads;
  o.index_path = args.index;
  o.write_tensors = !args.no_write;
  o.allow_empty = args.allow_empty;
  o.commit_message = args.no_write ? "" : args.commit;
  o.view_name = args.no_write ? "" : args.view;
  o.memory_budget_bytes = args.memory_mb << 20;

  std::string path = args.dataset;
  if (is_file_source(path)) {
    std::string into = args.into;
    if (into.empty()) into = std::filesystem::path(path).replace_extension(".gtn").string();
    if (std::filesystem::exists(into)) {
      return Status::AlreadyExists(into + " exists; give --into a new dataset folder for the ingested " + path);
    }
    ingest::IngestOptions io;
    io.commit = "ingest " + std::filesystem::path(path).filename().string();
    ProgressBar bar("ingest");
    io.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
    Result<ingest::IngestReport> ir = ingest::ingest(path, into, io, OpenOptions{});
    bar.finish();
    GTN_RETURN_IF_ERROR(ir.status());
    std::cout << "ingested " << ir->samples << " rows of " << path << " into " << into << "\n";
    path = into;
  } else if (!args.into.empty()) {
    return Status::InvalidArgument("--into applies to a .jsonl/.csv source; " + path + " is not one");
  }
  OpenOptions open;
  open.read_only = args.no_write;
  open.create_if_missing = false;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(path, open));
  ProgressBar bar("dedup");
  o.progress = [&bar](const std::string&, uint64_t done, uint64_t total) { bar.update(done, total); };
  Result<curate::DedupReport> r = curate::dedup(*ds, o);
  bar.finish();
  GTN_RETURN_IF_ERROR(r.status());
  std::cout << curate::report_text(*r);
  if (!args.report_json.empty()) {
    std::ofstream f(args.report_json);
    f << curate::report_json(*r) << "\n";
    if (!f) return Status::IOError("cannot write " + args.report_json);
  }
  if (!args.keep_rows.empty()) {
    std::ofstream f(args.keep_rows);
    for (uint64_t row : r->keep_rows) f << row << "\n";
    if (!f) return Status::IOError("cannot write " + args.keep_rows);
  }
  return ds->close();
}

void add(CLI::App& app) {
  auto a = std::make_shared<DedupArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dedup", "Find exact and near duplicates; write cluster_id and duplicate_of tensors and commit");
  cmd->add_option("dataset", a->dataset, "Dataset folder, or a .jsonl/.csv file (ingested into --into first)")
      ->required();
  cmd->add_option("--into", a->into, "Dataset folder for a .jsonl/.csv source (default: the file's name + .gtn)");
  cmd->add_option("-t,--tensor", a->tensor, "Text (exact, minhash), image or embedding tensor")->capture_default_str();
  cmd->add_option("--method", a->method, "Stages joined by '+': exact, minhash, image, semantic")->capture_default_str();
  cmd->add_option("--exact-tensors", a->exact_tensors, "Comma-separated tensors hashed together by the exact stage");
  cmd->add_flag("--raw-exact", a->raw_exact, "Exact stage on the bytes as stored (no text normalization)");
  cmd->add_option("--threshold", a->threshold, "Jaccard (minhash) or cosine (semantic) threshold in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--ngram", a->ngram, "N-gram size")->capture_default_str();
  cmd->add_option("--unit", a->unit, "N-gram unit: word or char")->capture_default_str();
  cmd->add_option("--num-perm", a->num_perm, "MinHash values per row")->capture_default_str();
  cmd->add_option("--bands", a->bands, "LSH bands (default: chosen from the threshold)");
  cmd->add_option("--rows", a->rows, "LSH rows per band (with --bands)");
  cmd->add_option("--keep", a->keep, "Row a cluster keeps: first, longest or score")->capture_default_str();
  cmd->add_option("--score", a->score, "Numeric tensor for --keep score (highest wins)");
  cmd->add_option("--image-hash", a->image_hash, "phash or dhash")->capture_default_str();
  cmd->add_option("--hamming", a->hamming, "Image stage: most differing bits of a pair")->capture_default_str();
  cmd->add_option("--clusters", a->clusters, "Semantic stage: k-means clusters (default about sqrt(rows))");
  cmd->add_option("--seed", a->seed, "Seed of the hashes and k-means")->capture_default_str();
  cmd->add_option("-j,--threads", a->threads, "Threads (default: every core)");
  cmd->add_option("--index", a->index, "Persisted index for incremental runs (read if present, then written)");
  cmd->add_flag("--no-write", a->no_write, "Only report: open read-only, write no tensor, commit nothing");
  cmd->add_flag("--allow-empty", a->allow_empty, "Keep empty texts as their own clusters instead of failing");
  cmd->add_option("-m,--commit", a->commit, "Commit message")->capture_default_str();
  cmd->add_option("--view", a->view, "Save the kept rows as a view of the commit under this name ('' for none)")
      ->capture_default_str();
  cmd->add_option("--memory-mb", a->memory_mb, "Bound on n-gram sets held while verifying")->capture_default_str();
  cmd->add_option("--report-json", a->report_json, "Write the report as JSON to this file");
  cmd->add_option("--keep-rows", a->keep_rows, "Write the kept rows, one per line, to this file");
  cmd->callback([a] { exit_on_error(run(*a)); });
}

RegisterCommand reg(70, add);

}  // namespace
}  // namespace gtn::cli
