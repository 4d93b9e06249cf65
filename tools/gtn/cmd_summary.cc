// gtn summary PATH [--version V | --view NAME] [--json] [--plot FILE.png]: per-tensor
// statistics (shapes, values, class counts, text lengths, bytes and chunks) of a dataset
// state or of a saved view's rows, as text or JSON, and a plot of the distributions
// (docs/summary.md).
#include <iostream>
#include <memory>
#include <vector>

#include "command.h"
#include "gtn/dataset.h"
#include "gtn/summary.h"

namespace gtn::cli {
namespace {

struct Args {
  std::string path;
  std::string version;
  std::string view;
  bool json = false;
  std::string plot;
  int threads = 0;
};

Status run(const Args& args) {
  OpenOptions options;
  options.read_only = true;
  options.version = args.version;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(args.path, options));
  std::vector<uint64_t> rows;
  if (!args.view.empty()) {
    if (!args.version.empty()) {
      return Status::InvalidArgument("give --version or --view, not both (a view reads the commit it was saved on)");
    }
    GTN_ASSIGN_OR_RETURN(ViewRecord view, ds->load_view(args.view));
    options.version = view.commit;
    GTN_ASSIGN_OR_RETURN(ds, Dataset::Open(args.path, options));
    rows = std::move(view.rows);
  }
  SummaryOptions summary_options;
  summary_options.n_threads = args.threads;
  GTN_ASSIGN_OR_RETURN(DatasetSummary summary,
                       summarize(*ds, args.view.empty() ? nullptr : &rows, summary_options));
  if (!args.plot.empty()) GTN_RETURN_IF_ERROR(plot_summary(summary, args.plot));
  if (args.json) {
    std::cout << summary_to_json(summary) << "\n";
  } else {
    std::cout << summary_to_text(summary);
    if (!args.plot.empty()) std::cout << "\nplot written to " << args.plot << "\n";
  }
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("summary", "Statistics of every tensor: shapes, values, classes, text lengths, chunks");
  cmd->add_option("path", args->path, "Dataset folder")->required();
  cmd->add_option("--version", args->version, "Branch, tag or commit to read (default: the checked-out state)");
  cmd->add_option("--view", args->view, "Summarize the rows of this saved view (at the commit it was saved on)");
  cmd->add_flag("--json", args->json, "Print the summary as JSON");
  cmd->add_option("--plot", args->plot, "Also draw the distributions into this PNG file");
  cmd->add_option("--threads", args->threads, "Reader threads (default: every core)")->check(CLI::NonNegativeNumber);
  cmd->callback([args] { exit_on_error(run(*args)); });
}

RegisterCommand reg(31, add);

}  // namespace
}  // namespace gtn::cli
