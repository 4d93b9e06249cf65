// gtn layout plan DATASET [--strategy data|workload] [--trace FILE] [--tensors a,b] [--json]:
// the layout the planner chooses and its predicted cost (docs/layout.md).
#include <iostream>
#include <memory>
#include <sstream>

#include "command.h"
#include "gtn/access_trace.h"
#include "gtn/dataset.h"
#include "gtn/layout.h"

namespace gtn::cli {
namespace {

struct Args {
  std::string path;
  std::string strategy = "data";
  std::string trace;
  std::string tensors;
  bool json = false;
};

Status run(const Args& a) {
  OpenOptions options;
  options.read_only = true;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(a.path, options));
  layout::PlanOptions po;
  po.strategy = a.strategy;
  std::stringstream in(a.tensors);
  std::string t;
  while (std::getline(in, t, ',')) {
    if (!t.empty()) po.tensors.push_back(t);
  }
  if (!a.trace.empty()) {
    GTN_ASSIGN_OR_RETURN(po.trace, AccessTrace::load_merged(a.trace));
  }
  GTN_ASSIGN_OR_RETURN(layout::LayoutPlan plan, layout::plan(*ds, po));
  std::cout << (a.json ? plan.to_json() + "\n" : plan.explain());
  return Status::OK();
}

void add(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("layout", "Plan how a dataset's tensors sit in chunks");
  cmd->require_subcommand(1);
  CLI::App* p = cmd->add_subcommand("plan", "Print the layout plan and its predicted cost against the current layout");
  p->add_option("dataset", a->path, "Dataset folder")->required();
  p->add_option("--strategy", a->strategy, "data (from the data) or workload (from --trace)")
      ->check(CLI::IsMember({"data", "workload"}));
  p->add_option("--trace", a->trace, "Access trace (a file, directory or prefix) for --strategy workload");
  p->add_option("--tensors", a->tensors, "Comma-separated tensors (default: every tensor)");
  p->add_flag("--json", a->json, "Print the plan as JSON");
  p->callback([a] { exit_on_error(run(*a)); });
}

RegisterCommand reg(65, add);

}  // namespace
}  // namespace gtn::cli
