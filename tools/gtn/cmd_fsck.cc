// gtn fsck PATH: verify every file of a dataset; exit 1 and name each broken object.
#include <cstdlib>
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/dataset.h"

namespace gtn::cli {
namespace {

Status run(const std::string& path) {
  GTN_ASSIGN_OR_RETURN(std::vector<FsckIssue> issues, fsck(path));
  if (issues.empty()) {
    std::cout << path << ": ok\n";
    return Status::OK();
  }
  for (const FsckIssue& issue : issues) std::cout << issue.object << ": " << issue.problem << "\n";
  std::cerr << "gtn: error: " << path << ": " << issues.size() << " problem(s) found\n";
  std::exit(1);
}

void add(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("fsck", "Verify a dataset's files (checksums, structure, index); exit 1 if broken");
  cmd->add_option("path", *path, "Dataset folder")->required();
  cmd->callback([path] { exit_on_error(run(*path)); });
}

RegisterCommand reg(50, add);

}  // namespace
}  // namespace gtn::cli
