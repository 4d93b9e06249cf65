// gtn status PATH: the checked-out branch and its uncommitted changes, per tensor.
// gtn diff PATH A [B] [--indices]: what changed from A to B (default: the checked-out
// state), per tensor: schema changes and counts of added, updated and deleted samples.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "gtn/dataset.h"

namespace gtn::cli {
namespace {

constexpr size_t kMaxIndicesShown = 1000;

bool tensors_unchanged(const DatasetDiff& d) {
  for (const TensorDiff& t : d.tensors) {
    if (!t.empty()) return false;
  }
  return d.rows_added.empty() && d.rows_deleted.empty();
}

void print_indices(const char* what, const std::vector<uint64_t>& v) {
  if (v.empty()) return;
  std::cout << "    " << what << ":";
  for (size_t i = 0; i < v.size() && i < kMaxIndicesShown; ++i) std::cout << " " << v[i];
  if (v.size() > kMaxIndicesShown) std::cout << " ... (" << v.size() << " in all)";
  std::cout << "\n";
}

// One block per changed tensor:
//   tensor labels: 2 added, 1 updated, 0 deleted
//     schema: renamed (from 'old'), dtype (dtype float32 -> float16)
//     added: 8 9           (with --indices)
void print_diff(const DatasetDiff& d, bool indices) {
  if (!d.rows_added.empty() || !d.rows_deleted.empty()) {
    std::cout << "rows: " << d.rows_added.size() << " added, " << d.rows_deleted.size() << " deleted\n";
  }
  for (const TensorDiff& t : d.tensors) {
    if (t.empty()) continue;
    std::cout << "tensor " << t.name << ": " << t.added.size() << " added, " << t.updated.size() << " updated, "
              << t.deleted.size() << " deleted\n";
    if (!t.schema_changes.empty()) {
      std::string s;
      for (const std::string& change : t.schema_changes) {
        s += (s.empty() ? "" : ", ") + change;
        if (change == "renamed" && !t.old_name.empty()) s += " (from '" + t.old_name + "')";
      }
      if (!t.detail.empty()) s += " (" + t.detail + ")";
      std::cout << "    schema: " << s << "\n";
    }
    if (indices) {
      print_indices("added", t.added);
      print_indices("updated", t.updated);
      print_indices("deleted", t.deleted);
    }
  }
}

std::string state_name(const std::string& id) { return id.empty() ? "(uncommitted)" : id; }

struct StatusArgs {
  std::string path;
  bool indices = false;
};

Status run_status(const StatusArgs& args) {
  OpenOptions options;
  options.read_only = true;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(args.path, options));
  std::string branch = ds->current_branch();
  std::string head = ds->head_commit();
  if (branch.empty()) {
    std::cout << "HEAD detached at " << head << " (read-only)\n";
  } else {
    std::cout << "On branch " << branch << "\n";
    std::cout << (head.empty() ? std::string("no commits yet") : "last commit " + head) << "\n";
  }
  GTN_ASSIGN_OR_RETURN(DatasetDiff diff, ds->status());
  if (tensors_unchanged(diff)) {
    std::cout << "nothing to commit\n";
    return Status::OK();
  }
  std::cout << "changes not committed:\n";
  print_diff(diff, args.indices);
  return Status::OK();
}

struct DiffArgs {
  std::string path;
  std::string a;
  std::string b;
  bool indices = false;
};

Status run_diff(const DiffArgs& args) {
  OpenOptions options;
  options.read_only = true;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(args.path, options));
  GTN_ASSIGN_OR_RETURN(DatasetDiff diff, ds->diff(args.a, args.b));
  std::cout << "diff " << state_name(diff.a) << " " << state_name(diff.b) << "\n";
  if (tensors_unchanged(diff)) {
    std::cout << "no changes\n";
    return Status::OK();
  }
  print_diff(diff, args.indices);
  return Status::OK();
}

void add(CLI::App& app) {
  auto sargs = std::make_shared<StatusArgs>();
  CLI::App* status = app.add_subcommand("status", "Show the checked-out branch and its uncommitted changes");
  status->add_option("path", sargs->path, "Dataset folder")->required();
  status->add_flag("--indices", sargs->indices, "Also list the indices of added, updated and deleted samples");
  status->callback([sargs] { exit_on_error(run_status(*sargs)); });

  auto dargs = std::make_shared<DiffArgs>();
  CLI::App* diff = app.add_subcommand("diff", "Show what changed between two commits, branches or tags");
  diff->add_option("path", dargs->path, "Dataset folder")->required();
  diff->add_option("a", dargs->a, "The old state: branch, tag or commit")->required();
  diff->add_option("b", dargs->b, "The new state (default: the checked-out state, uncommitted changes included)");
  diff->add_flag("--indices", dargs->indices, "Also list the indices (added, updated in B; deleted in A)");
  diff->callback([dargs] { exit_on_error(run_diff(*dargs)); });
}

RegisterCommand reg(63, add);

}  // namespace
}  // namespace gtn::cli
