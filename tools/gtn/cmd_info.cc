// gtn info PATH [--version TARGET]: the dataset's tensors, dtypes, shapes and sizes, from the
// manifest and chunk headers (gtn summary reads the samples for statistics).
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/dataset.h"

namespace gtn::cli {
namespace {

Status run(const std::string& path, const std::string& version) {
  OpenOptions options;
  options.read_only = true;
  options.version = version;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(path, options));
  std::cout << ds->summary();
  return Status::OK();
}

void add(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("info", "Print a dataset's tensors, dtypes, shapes and sizes");
  cmd->add_option("path", *path, "Dataset folder")->required();
  cmd->add_option("--version", *version, "Branch, tag or commit to read (default: the checked-out state)");
  cmd->callback([path, version] { exit_on_error(run(*path, *version)); });
}

RegisterCommand reg(30, add);

}  // namespace
}  // namespace gtn::cli
