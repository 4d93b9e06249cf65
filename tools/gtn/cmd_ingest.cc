// gtn ingest SRC DST: files (image folder, JSONL, CSV, .npy) -> a dataset.
#include <iostream>
#include <memory>
#include <sstream>

#include "command.h"
#include "gtn/dataset.h"
#include "gtn/ingest.h"
#include "progress_bar.h"

namespace gtn::cli {
namespace {

struct IngestArgs {
  std::string src, dst;
  std::string format = "auto";
  std::string sample_compression;
  std::string mode = "keep";
  std::string header = "auto";
  std::string delimiter;
  std::string encoding = "utf-8";
  std::string columns, label, class_names, stack, stack_name = "features";
  bool skip_errors = false;
  size_t batch_size = 256;
  std::optional<std::string> commit;
  std::string layout = "data";
};

constexpr size_t kShownWarnings = 10;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

Status run(const IngestArgs& args) {
  ingest::IngestOptions options;
  GTN_ASSIGN_OR_RETURN(options.format, ingest::parse_source_format(args.format));
  if (!args.sample_compression.empty()) {
    GTN_ASSIGN_OR_RETURN(Compression c, parse_compression(args.sample_compression));
    options.image_compression = c;
  }
  GTN_ASSIGN_OR_RETURN(options.image_mode, ingest::parse_image_mode(args.mode));
  GTN_ASSIGN_OR_RETURN(options.table.header, ingest::parse_csv_header(args.header));
  if (!args.delimiter.empty()) {
    std::string d = args.delimiter == "\\t" || args.delimiter == "tab" ? "\t" : args.delimiter;
    if (d.size() != 1) return Status::InvalidArgument("--delimiter must be one character (or \\t), got '" + d + "'");
    options.table.delimiter = d[0];
  }
  options.table.encoding = args.encoding;
  options.table.columns = split_list(args.columns);
  options.table.label_column = args.label;
  options.table.class_names = split_list(args.class_names);
  options.table.stack_columns = split_list(args.stack);
  options.table.stack_name = args.stack_name;
  options.on_error = args.skip_errors ? ingest::OnError::kSkip : ingest::OnError::kRaise;
  options.batch_size = args.batch_size;
  options.commit = args.commit;
  options.layout = args.layout;
  size_t warnings = 0;
  options.warn = [&warnings](const std::string& message) {
    // Skipped unreadable items are listed in full after the ingest; this shows stray files.
    if (message.rfind("skipped ", 0) == 0 && warnings++ < kShownWarnings) std::cerr << "gtn: warning: " << message << "\n";
  };
  ProgressBar bar("ingest");
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  Result<ingest::IngestReport> result = ingest::ingest(args.src, args.dst, options, OpenOptions{});
  bar.finish();
  GTN_RETURN_IF_ERROR(result.status());
  const ingest::IngestReport& report = *result;
  if (warnings > kShownWarnings) {
    std::cerr << "gtn: warning: ... and " << (warnings - kShownWarnings) << " more\n";
  }
  std::cout << "ingested " << report.samples << " samples (" << ingest::source_format_name(report.format)
            << ") from " << args.src << " into " << args.dst << "; tensors:";
  for (const std::string& t : report.tensors) std::cout << " " << t;
  std::cout << "\n";
  if (!report.commit.empty()) std::cout << "committed " << report.commit << "\n";
  if (report.kept_encoded) {
    std::cout << "kept " << report.kept_encoded << " image file(s) as they are (no re-encoding)\n";
  }
  if (report.skipped_files) std::cout << "skipped " << report.skipped_files << " file(s) that are not part of the source\n";
  if (!report.skipped.empty()) {
    std::cout << "skipped " << report.skipped.size() << " unreadable item(s) of " << report.items << ":\n";
    for (const ingest::SkippedItem& s : report.skipped) std::cout << "  " << s.item << ": " << s.reason << "\n";
  }
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<IngestArgs>();
  CLI::App* cmd = app.add_subcommand(
      "ingest", "Ingest a folder of class folders of images, a .jsonl, a .csv/.tsv or .npy files into a dataset");
  cmd->add_option("src", args->src, "Source: folder (SRC/<class>/<image>), .jsonl, .csv, .tsv, .npy or folder of .npy")
      ->required();
  cmd->add_option("dst", args->dst, "Dataset folder (created when missing; removed again if the ingest fails)")
      ->required();
  cmd->add_option("-f,--format", args->format, "auto, folder, jsonl, csv or npy")->capture_default_str();
  cmd->add_flag("--skip-errors", args->skip_errors,
                "Skip items that cannot be read (and list them) instead of failing the whole ingest");
  cmd->add_option("--sample-compression", args->sample_compression,
                  "Compression of image tensors: none, jpeg, png, lz4, zstd (default: the source files' own)");
  cmd->add_option("--mode", args->mode, "Image channels: keep (as decoded), L, LA, RGB or RGBA")->capture_default_str();
  cmd->add_option("--header", args->header, "CSV header line: auto, yes, no or count (scikit-learn's)")
      ->capture_default_str();
  cmd->add_option("--delimiter", args->delimiter, "CSV field delimiter (default ',', tab for .tsv; \\t for tab)");
  cmd->add_option("--encoding", args->encoding, "CSV/JSONL encoding: utf-8 or latin-1")->capture_default_str();
  cmd->add_option("--columns", args->columns, "Comma-separated columns to keep, in this order (default: all)");
  cmd->add_option("--label", args->label, "Column that becomes a class_label tensor");
  cmd->add_option("--class-names", args->class_names, "Comma-separated class names of the label column");
  cmd->add_option("--stack", args->stack, "Comma-separated numeric columns to stack into one tensor ('*': all)");
  cmd->add_option("--stack-name", args->stack_name, "Name of the stacked tensor")->capture_default_str();
  cmd->add_option("--batch-size", args->batch_size, "Samples per write")->capture_default_str();
  cmd->add_option("-m,--commit", args->commit, "End with a commit with this message");
  cmd->add_option("--layout", args->layout, "New tensors' layout: data (planned from the first batch) or fixed")
      ->check(CLI::IsMember({"data", "fixed"}))
      ->capture_default_str();
  cmd->callback([args] { exit_on_error(run(*args)); });
}

RegisterCommand reg(20, add);

}  // namespace
}  // namespace gtn::cli
