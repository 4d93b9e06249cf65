// gtn dump PATH [--verbose]: the dataset's files at chunk level (root, refs, manifest,
// each tensor's chunks; --verbose adds per-sample offsets and shapes).
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/dump.h"

namespace gtn::cli {
namespace {

struct DumpArgs {
  std::string path;
  bool verbose = false;
};

Status run(const DumpArgs& args) {
  GTN_ASSIGN_OR_RETURN(std::string text, dump(args.path, args.verbose));
  std::cout << text;
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<DumpArgs>();
  CLI::App* cmd = app.add_subcommand("dump", "Print a dataset's files at chunk level (for debugging the format)");
  cmd->add_option("path", args->path, "Dataset folder")->required();
  cmd->add_flag("-v,--verbose", args->verbose, "Also print every sample's offset and shape");
  cmd->callback([args] { exit_on_error(run(*args)); });
}

RegisterCommand reg(60, add);

}  // namespace
}  // namespace gtn::cli
