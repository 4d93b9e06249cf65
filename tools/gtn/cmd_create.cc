// gtn create PATH [--tensor name:htype[:dtype] ...]: a new, empty dataset.
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/dataset.h"

namespace gtn::cli {
namespace {

struct CreateArgs {
  std::string path;
  std::vector<std::string> tensors;
  std::string sample_compression = "none";
  std::string chunk_compression = "none";
};

Result<TensorSpec> parse_tensor_arg(const std::string& arg) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = arg.find(':', start);
    parts.push_back(arg.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return Status::InvalidArgument("--tensor '" + arg + "' is not name:htype[:dtype] (e.g. images:image or emb:embedding:float32)");
  }
  TensorSpec spec;
  spec.name = parts[0];
  spec.htype = parts[1];
  if (parts.size() == 3) {
    GTN_ASSIGN_OR_RETURN(DType dtype, parse_dtype(parts[2]));
    spec.dtype = dtype;
  }
  return spec;
}

Status run(const CreateArgs& args) {
  std::error_code ec;
  if (std::filesystem::exists(args.path, ec) && !std::filesystem::is_empty(args.path, ec)) {
    return Status::AlreadyExists(args.path + " already exists and is not empty; choose a new path");
  }
  std::vector<TensorSpec> specs;
  GTN_ASSIGN_OR_RETURN(Compression sample_c, parse_compression(args.sample_compression));
  GTN_ASSIGN_OR_RETURN(Compression chunk_c, parse_compression(args.chunk_compression));
  for (const std::string& t : args.tensors) {
    GTN_ASSIGN_OR_RETURN(TensorSpec spec, parse_tensor_arg(t));
    if (spec.htype == "image") spec.sample_compression = sample_c;
    spec.chunk_compression = chunk_c;
    specs.push_back(std::move(spec));
  }
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(args.path));
  for (const TensorSpec& spec : specs) GTN_RETURN_IF_ERROR(ds->create_tensor(spec));
  GTN_RETURN_IF_ERROR(ds->flush());
  std::cout << "created " << args.path << "\n" << ds->summary();
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<CreateArgs>();
  CLI::App* cmd = app.add_subcommand("create", "Create an empty dataset, optionally with tensors");
  cmd->add_option("path", args->path, "Folder of the new dataset")->required();
  cmd->add_option("-t,--tensor", args->tensors,
                  "A tensor as name:htype[:dtype]; htype: generic, image, text, json, embedding, class_label, bbox, neighbors, edge_feature");
  cmd->add_option("--sample-compression", args->sample_compression,
                  "Sample compression of image tensors: none, jpeg, png, lz4, zstd")->capture_default_str();
  cmd->add_option("--chunk-compression", args->chunk_compression, "Chunk compression: none, lz4, zstd")
      ->capture_default_str();
  cmd->callback([args] { exit_on_error(run(*args)); });
}

RegisterCommand reg(10, add);

}  // namespace
}  // namespace gtn::cli
