// gtn rechunk DATASET [--tensors a,b] [--chunk-bytes 16MiB] [--compression zstd:3]
//   [--sample-compression lz4] [--strategy data|workload] [--trace FILE] [--max-memory 256MiB]
//   [-m MSG]: rewrites tensors' chunks as a new commit (docs/layout.md, docs/cli.md).
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "byte_size.h"
#include "command.h"
#include "gtn/access_trace.h"
#include "gtn/dataset.h"
#include "gtn/layout.h"
#include "progress_bar.h"

namespace gtn::cli {
namespace {

struct Args {
  std::string path;
  std::string tensors;
  std::string chunk_bytes;
  std::string compression;
  std::string sample_compression;
  std::string strategy;
  std::string trace;
  std::string max_memory = "256MiB";
  std::string message;
  bool dry_run = false;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// "zstd:9" -> (kZstd, 9); "lz4" -> (kLz4, nullopt).
Status parse_codec(const std::string& text, Compression* codec, std::optional<int>* level) {
  std::string name = text, lvl;
  size_t colon = text.find(':');
  if (colon != std::string::npos) {
    name = text.substr(0, colon);
    lvl = text.substr(colon + 1);
  }
  GTN_ASSIGN_OR_RETURN(*codec, parse_compression(name));
  if (!lvl.empty()) {
    try {
      size_t used = 0;
      int v = std::stoi(lvl, &used);
      if (used != lvl.size()) throw std::invalid_argument(lvl);
      *level = v;
    } catch (...) {
      return Status::InvalidArgument("bad compression level in '" + text + "'; expected e.g. zstd:9");
    }
  }
  return Status::OK();
}

Status run(const Args& a) {
  OpenOptions options;
  options.create_if_missing = false;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(a.path, options));
  std::vector<std::string> tensors = split(a.tensors);
  for (const auto& t : tensors) GTN_RETURN_IF_ERROR(ds->tensor_index(t).status());
  RechunkOptions o;
  if (!a.strategy.empty()) {
    layout::PlanOptions po;
    po.strategy = a.strategy;
    po.tensors = tensors;
    if (!a.trace.empty()) {
      GTN_ASSIGN_OR_RETURN(po.trace, AccessTrace::load_merged(a.trace));
    }
    GTN_ASSIGN_OR_RETURN(layout::LayoutPlan plan, layout::plan(*ds, po));
    std::cout << plan.explain();
    o = plan.to_rechunk_options();
  } else if (!a.trace.empty()) {
    return Status::InvalidArgument("--trace is used by --strategy workload; pass --strategy workload too");
  }
  TensorLayout explicit_layout;
  if (!a.chunk_bytes.empty()) {
    GTN_ASSIGN_OR_RETURN(uint64_t n, parse_byte_size(a.chunk_bytes, "--chunk-bytes"));
    explicit_layout.chunk_target_bytes = n;
  }
  if (!a.compression.empty()) {
    Compression c;
    std::optional<int> level;
    GTN_RETURN_IF_ERROR(parse_codec(a.compression, &c, &level));
    explicit_layout.chunk_compression = c;
    if (level) explicit_layout.compression_level = level;
  }
  if (!a.sample_compression.empty()) {
    Compression c;
    std::optional<int> level;
    GTN_RETURN_IF_ERROR(parse_codec(a.sample_compression, &c, &level));
    explicit_layout.sample_compression = c;
    if (level) explicit_layout.compression_level = level;
  }
  bool any_explicit = explicit_layout.chunk_target_bytes || explicit_layout.chunk_compression ||
                      explicit_layout.sample_compression;
  std::vector<std::string> targets = tensors.empty() && (any_explicit || a.strategy.empty()) ? ds->tensor_names() : tensors;
  for (const auto& t : targets) {
    TensorLayout& l = o.layouts[t];
    if (explicit_layout.chunk_target_bytes) l.chunk_target_bytes = explicit_layout.chunk_target_bytes;
    if (explicit_layout.chunk_compression) l.chunk_compression = explicit_layout.chunk_compression;
    if (explicit_layout.sample_compression) l.sample_compression = explicit_layout.sample_compression;
    if (explicit_layout.compression_level) l.compression_level = explicit_layout.compression_level;
  }
  GTN_ASSIGN_OR_RETURN(o.max_memory, parse_byte_size(a.max_memory, "--max-memory"));
  if (!a.message.empty()) o.message = a.message;
  if (o.layouts.empty() && !o.order) {
    std::cout << "nothing to rechunk: the plan keeps every tensor's layout\n";
    return Status::OK();
  }
  if (a.dry_run) return Status::OK();
  ProgressBar bar("rechunk");
  o.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  GTN_ASSIGN_OR_RETURN(RechunkStats s, ds->rechunk(o));
  bar.finish();
  std::string names;
  for (const auto& t : s.tensors) names += (names.empty() ? "" : ", ") + t;
  std::cout << fmt::format("rechunked {} ({} rows): {} -> {} chunk files, read {} bytes, wrote {} bytes, peak memory {} "
                           "bytes; commit {}\n",
                           names, s.rows, s.chunks_before, s.chunks_after, s.bytes_read, s.bytes_written,
                           s.peak_memory, s.commit);
  return ds->close();
}

void add(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("rechunk", "Rewrite tensors' chunks (size, compression, row order) as a new commit");
  cmd->add_option("dataset", a->path, "Dataset folder")->required();
  cmd->add_option("--tensors", a->tensors, "Comma-separated tensors (default: every tensor, or the plan's)");
  cmd->add_option("--chunk-bytes", a->chunk_bytes, "Target chunk size, e.g. 16MiB");
  cmd->add_option("--compression", a->compression, "Chunk compression CODEC[:LEVEL]: none, lz4, zstd, zstd:9");
  cmd->add_option("--sample-compression", a->sample_compression, "Sample compression CODEC[:LEVEL]");
  cmd->add_option("--strategy", a->strategy, "Take the layout from the planner: data or workload")
      ->check(CLI::IsMember({"data", "workload"}));
  cmd->add_option("--trace", a->trace, "Access trace for --strategy workload (a file, directory or prefix)");
  cmd->add_option("--max-memory", a->max_memory, "Memory bound of the rewrite (default 256MiB)");
  cmd->add_option("-m,--message", a->message, "Commit message");
  cmd->add_flag("--dry-run", a->dry_run, "Print the plan and do not rewrite");
  cmd->callback([a] { exit_on_error(run(*a)); });
}

RegisterCommand reg(64, add);

}  // namespace
}  // namespace gtn::cli
