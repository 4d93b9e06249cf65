// gtn ingest SRC DST: files (image folder, JSONL, CSV, .npy) -> a dataset.
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/dataset.h"
#include "gtn/ingest/ingest.h"
#include "progress_bar.h"

namespace gtn::cli {
namespace {

struct IngestArgs {
  std::string src, dst;
  std::string format = "auto";
  std::string sample_compression;
  size_t batch_size = 256;
};

constexpr size_t kShownWarnings = 10;

Status run(const IngestArgs& args) {
  ingest::IngestOptions options;
  GTN_ASSIGN_OR_RETURN(options.format, ingest::parse_source_format(args.format));
  if (!args.sample_compression.empty()) {
    GTN_ASSIGN_OR_RETURN(Compression c, parse_compression(args.sample_compression));
    options.image_compression = c;
  }
  options.batch_size = args.batch_size;
  size_t warnings = 0;
  options.warn = [&warnings](const std::string& message) {
    if (warnings++ < kShownWarnings) std::cerr << "gtn: warning: " << message << "\n";
  };
  ProgressBar bar("ingest");
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(args.dst));
  GTN_ASSIGN_OR_RETURN(ingest::IngestReport report, ingest::ingest(args.src, *ds, options));
  bar.finish();
  if (warnings > kShownWarnings) {
    std::cerr << "gtn: warning: ... and " << (warnings - kShownWarnings) << " more\n";
  }
  std::cout << "ingested " << report.samples << " samples (" << ingest::source_format_name(report.format)
            << ") from " << args.src << " into " << args.dst << "; tensors:";
  for (const std::string& t : report.tensors) std::cout << " " << t;
  std::cout << "\n";
  if (report.skipped_files) std::cout << "skipped " << report.skipped_files << " file(s) that are not images\n";
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<IngestArgs>();
  CLI::App* cmd = app.add_subcommand(
      "ingest", "Ingest a folder of class folders of images, a .jsonl, a .csv or .npy files into a dataset");
  cmd->add_option("src", args->src, "Source: folder (SRC/<class>/<image>), .jsonl, .csv, .npy or folder of .npy")
      ->required();
  cmd->add_option("dst", args->dst, "Dataset folder (created when missing)")->required();
  cmd->add_option("-f,--format", args->format, "auto, folder, jsonl, csv or npy")->capture_default_str();
  cmd->add_option("--sample-compression", args->sample_compression,
                  "Compression of image tensors: none, jpeg, png, lz4, zstd (default: the source files' own)");
  cmd->add_option("--batch-size", args->batch_size, "Samples per write")->capture_default_str();
  cmd->callback([args] { exit_on_error(run(*args)); });
}

RegisterCommand reg(20, add);

}  // namespace
}  // namespace gtn::cli
