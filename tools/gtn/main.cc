// gtn: the command-line tool. Each verb is a small file (cmd_*.cc) over the library.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "command.h"

namespace gtn::cli {

std::vector<std::pair<int, RegisterFn>>& CommandRegistry::entries() {
  static std::vector<std::pair<int, RegisterFn>> e;
  return e;
}

RegisterCommand::RegisterCommand(int order, RegisterFn fn) {
  CommandRegistry::entries().emplace_back(order, std::move(fn));
}

void exit_on_error(const Status& status) {
  if (status.ok()) return;
  std::fprintf(stderr, "gtn: error: %s\n", status.ToString().c_str());
  std::exit(1);
}

}  // namespace gtn::cli

int main(int argc, char** argv) {
  CLI::App app{"gtn: tensor-native datasets (GTN-F), compiled ML models (GTN-ML) and curation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gtn 0.1.0");
  auto& entries = gtn::cli::CommandRegistry::entries();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, fn] : entries) fn(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
