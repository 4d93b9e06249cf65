// gtn: the command-line tool. Each verb is a small file (cmd_*.cc) over the library.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "command.h"
#include "progress_bar.h"

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
  ProgressBar::end_active_line();
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
  // No verb or an unknown one: CLI11 would only say that a subcommand is required.
  if (argc == 1 || argv[1][0] != '-') {
    std::string verbs;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      known = known || (argc > 1 && sub->check_name(argv[1]));
      verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::string what = argc == 1 ? std::string("a verb is required") : "unknown verb '" + std::string(argv[1]) + "'";
      std::fprintf(stderr, "gtn: error: %s; the verbs are %s (see 'gtn --help')\n", what.c_str(), verbs.c_str());
      return 1;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0: CLI11 prints them.
    if (e.get_exit_code() == 0) return app.exit(e);
    // Every bad command line is one error line and exit 1, like every other error.
    std::string usage = "gtn --help";
    for (const CLI::App* sub : app.get_subcommands()) usage = "gtn " + sub->get_name() + " --help";
    std::fprintf(stderr, "gtn: error: %s (see '%s')\n", e.what(), usage.c_str());
    return 1;
  }
  return 0;
}
