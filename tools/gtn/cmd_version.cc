// Version control verbs, git-like, dataset path first (docs/versions.md):
//   gtn commit PATH -m MSG [--author A]       gtn branch PATH [NAME [TARGET]] [-d NAME]
//   gtn checkout PATH TARGET [-b] [--force]   gtn tag PATH [NAME [TARGET]] [-d NAME]
//   gtn reset PATH [TARGET]                   gtn merge PATH SOURCE [--policy P] [-m MSG]
//   gtn cherry-pick PATH COMMIT               gtn gc PATH
// (gtn log is cmd_log.cc; gtn status and gtn diff are cmd_diff.cc.)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "gtn/dataset.h"

namespace gtn::cli {
namespace {

Result<std::unique_ptr<Dataset>> open(const std::string& path, bool read_only, const std::string& author = "") {
  OpenOptions options;
  options.read_only = read_only;
  options.create_if_missing = false;
  options.author = author;
  return Dataset::Open(path, options);
}

// --- commit ---
struct CommitArgs {
  std::string path, message, author;
};

Status run_commit(const CommitArgs& a) {
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, false, a.author));
  GTN_ASSIGN_OR_RETURN(std::string id, ds->commit(a.message, a.author));
  GTN_RETURN_IF_ERROR(ds->close());
  std::cout << id << "\n";
  return Status::OK();
}

// --- branch ---
struct BranchArgs {
  std::string path, name, target, remove;
};

Status run_branch(const BranchArgs& a) {
  if (!a.remove.empty() && !a.name.empty()) {
    return Status::InvalidArgument("give either NAME (create a branch) or -d NAME (delete one), not both");
  }
  if (a.name.empty() && a.remove.empty()) {
    GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, true));
    GTN_ASSIGN_OR_RETURN(std::vector<std::string> names, ds->branches());
    std::string current = ds->current_branch();
    for (const std::string& n : names) std::cout << (n == current ? "* " : "  ") << n << "\n";
    if (current.empty()) std::cout << "* (HEAD detached at " << ds->head_commit() << ")\n";
    return Status::OK();
  }
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, false));
  if (!a.remove.empty()) {
    GTN_RETURN_IF_ERROR(ds->delete_branch(a.remove));
    GTN_RETURN_IF_ERROR(ds->close());
    std::cout << "deleted branch " << a.remove << "\n";
    return Status::OK();
  }
  GTN_RETURN_IF_ERROR(ds->branch(a.name, a.target));
  GTN_ASSIGN_OR_RETURN(std::vector<CommitInfo> head, ds->log(a.name));
  GTN_RETURN_IF_ERROR(ds->close());
  std::cout << "created branch " << a.name << (head.empty() ? std::string() : " at " + head[0].id) << "\n";
  return Status::OK();
}

// --- checkout ---
struct CheckoutArgs {
  std::string path, target;
  bool create = false, force = false;
};

Status run_checkout(const CheckoutArgs& a) {
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, false));
  if (!a.create) {
    // The dataset remembers a checked-out branch, not a tag or commit: a detached checkout
    // would end with this command.
    GTN_ASSIGN_OR_RETURN(std::vector<std::string> branches, ds->branches());
    if (std::find(branches.begin(), branches.end(), a.target) == branches.end()) {
      GTN_RETURN_IF_ERROR(ds->log(a.target).status());  // NotFound names an unknown target
      return Status::InvalidArgument("'" + a.target + "' is a tag or commit, not a branch: the dataset stays on a "
                                     "branch between commands; read it with --version " + a.target +
                                     " (gtn show, gtn info), gtn log/diff PATH " + a.target +
                                     ", or branch from it: gtn branch PATH NAME " + a.target);
    }
  }
  CheckoutOptions options;
  options.create = a.create;
  options.force = a.force;
  GTN_RETURN_IF_ERROR(ds->checkout(a.target, options));
  std::string branch = ds->current_branch();
  GTN_RETURN_IF_ERROR(ds->close());
  std::cout << (a.create ? "switched to a new branch " : "switched to branch ") << branch << "\n";
  return Status::OK();
}

// --- tag ---
struct TagArgs {
  std::string path, name, target, remove;
};

Status run_tag(const TagArgs& a) {
  if (!a.remove.empty() && !a.name.empty()) {
    return Status::InvalidArgument("give either NAME (create a tag) or -d NAME (delete one), not both");
  }
  if (a.name.empty() && a.remove.empty()) {
    GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, true));
    GTN_ASSIGN_OR_RETURN(auto tags, ds->tags());
    for (const auto& [name, id] : tags) std::cout << name << " " << id << "\n";
    return Status::OK();
  }
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, false));
  if (!a.remove.empty()) {
    GTN_RETURN_IF_ERROR(ds->delete_tag(a.remove));
    GTN_RETURN_IF_ERROR(ds->close());
    std::cout << "deleted tag " << a.remove << "\n";
    return Status::OK();
  }
  GTN_RETURN_IF_ERROR(ds->tag(a.name, a.target));
  GTN_ASSIGN_OR_RETURN(auto tags, ds->tags());
  GTN_RETURN_IF_ERROR(ds->close());
  for (const auto& [name, id] : tags) {
    if (name == a.name) std::cout << "tagged " << id << " as " << name << "\n";
  }
  return Status::OK();
}

// --- reset ---
struct ResetArgs {
  std::string path, target;
};

Status run_reset(const ResetArgs& a) {
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, false));
  GTN_RETURN_IF_ERROR(ds->reset(a.target));
  std::string head = ds->head_commit();
  GTN_RETURN_IF_ERROR(ds->close());
  std::cout << "HEAD is now at " << (head.empty() ? std::string("(no commits)") : head) << "\n";
  return Status::OK();
}

// --- merge ---
struct MergeArgs {
  std::string path, source, policy = "fail", message;
};

std::string index_text(int64_t i) { return i < 0 ? std::string("deleted") : std::to_string(i); }

Status run_merge(const MergeArgs& a) {
  MergePolicy policy = MergePolicy::kFail;
  if (a.policy == "ours") {
    policy = MergePolicy::kOurs;
  } else if (a.policy == "theirs") {
    policy = MergePolicy::kTheirs;
  } else if (a.policy != "fail") {
    return Status::InvalidArgument("--policy must be one of fail, ours, theirs; got '" + a.policy + "'");
  }
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, false));
  GTN_ASSIGN_OR_RETURN(MergeResult r, ds->merge(a.source, policy, a.message));
  if (r.commit.empty() && !r.conflicts.empty()) {
    for (const MergeConflict& c : r.conflicts) {
      std::cerr << "conflict: tensor " << c.tensor << " sample " << c.sample_id << ": " << c.kind << " (ours "
                << index_text(c.ours_index) << ", theirs " << index_text(c.theirs_index) << ")\n";
    }
    GTN_RETURN_IF_ERROR(ds->close());
    std::cerr << "gtn: error: merge of '" << a.source << "': " << r.conflicts.size()
              << " conflict(s), nothing changed (--policy ours or theirs settles them)\n";
    std::exit(1);
  }
  GTN_RETURN_IF_ERROR(ds->close());
  if (r.up_to_date) {
    std::cout << "already up to date\n";
  } else if (r.fast_forward) {
    std::cout << "fast-forward to " << r.commit << "\n";
  } else {
    std::cout << "merged " << a.source << " as " << r.commit << ": " << r.rows_added << " rows added, "
              << r.rows_deleted << " rows deleted, " << r.samples_updated << " samples updated";
    if (!r.conflicts.empty()) std::cout << ", " << r.conflicts.size() << " conflicts settled (" << a.policy << ")";
    std::cout << "\n";
  }
  return Status::OK();
}

// --- cherry-pick ---
struct PickArgs {
  std::string path, commit;
};

Status run_cherry_pick(const PickArgs& a) {
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(a.path, false));
  GTN_ASSIGN_OR_RETURN(std::string id, ds->cherry_pick(a.commit));
  GTN_RETURN_IF_ERROR(ds->close());
  std::cout << id << "\n";
  return Status::OK();
}

// --- gc ---
Status run_gc(const std::string& path, const std::string& expire_before) {
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, open(path, false));
  GTN_ASSIGN_OR_RETURN(GcStats s, expire_before.empty() ? ds->gc() : ds->expire_history(expire_before));
  GTN_RETURN_IF_ERROR(ds->close());
  std::cout << "deleted " << s.files_deleted << " files (" << s.bytes_freed << " bytes) and " << s.versions_deleted
            << " unreachable versions; kept " << s.files_kept_for_readers << " files for open readers\n";
  return Status::OK();
}

void add(CLI::App& app) {
  auto commit = std::make_shared<CommitArgs>();
  CLI::App* c = app.add_subcommand("commit", "Commit the checked-out branch's state; prints the commit id");
  c->add_option("path", commit->path, "Dataset folder")->required();
  c->add_option("-m,--message", commit->message, "Commit message")->required();
  c->add_option("--author", commit->author, "Author (default: $GTN_AUTHOR, else $USER)");
  c->callback([commit] { exit_on_error(run_commit(*commit)); });

  auto branch = std::make_shared<BranchArgs>();
  CLI::App* b = app.add_subcommand("branch", "List branches (* marks the current one), create or delete one");
  b->add_option("path", branch->path, "Dataset folder")->required();
  b->add_option("name", branch->name, "Create this branch");
  b->add_option("target", branch->target, "At this branch, tag or commit (default: the current commit)");
  b->add_option("-d,--delete", branch->remove, "Delete this branch");
  b->callback([branch] { exit_on_error(run_branch(*branch)); });

  auto checkout = std::make_shared<CheckoutArgs>();
  CLI::App* co = app.add_subcommand("checkout", "Switch to a branch (the dataset stays on it for later commands)");
  co->add_option("path", checkout->path, "Dataset folder")->required();
  co->add_option("target", checkout->target, "Branch (a tag or commit: read it with --version)")->required();
  co->add_flag("-b", checkout->create, "Create the branch TARGET at the current commit first");
  co->add_flag("-f,--force", checkout->force, "Switch even with uncommitted changes (they stay on their branch)");
  co->callback([checkout] { exit_on_error(run_checkout(*checkout)); });

  auto tag = std::make_shared<TagArgs>();
  CLI::App* t = app.add_subcommand("tag", "List tags, tag a commit, or delete a tag");
  t->add_option("path", tag->path, "Dataset folder")->required();
  t->add_option("name", tag->name, "Create this tag");
  t->add_option("target", tag->target, "On this branch, tag or commit (default: the current commit)");
  t->add_option("-d,--delete", tag->remove, "Delete this tag");
  t->callback([tag] { exit_on_error(run_tag(*tag)); });

  auto reset = std::make_shared<ResetArgs>();
  CLI::App* r = app.add_subcommand("reset", "Drop uncommitted changes; with TARGET, move the branch there too");
  r->add_option("path", reset->path, "Dataset folder")->required();
  r->add_option("target", reset->target, "Branch, tag or commit to move the current branch to");
  r->callback([reset] { exit_on_error(run_reset(*reset)); });

  auto merge = std::make_shared<MergeArgs>();
  CLI::App* m = app.add_subcommand("merge", "Merge a branch or commit into the checked-out branch");
  m->add_option("path", merge->path, "Dataset folder")->required();
  m->add_option("source", merge->source, "Branch or commit to merge")->required();
  m->add_option("--policy", merge->policy, "Samples both sides changed: fail (default), ours, theirs")
      ->check(CLI::IsMember({"fail", "ours", "theirs"}));
  m->add_option("-m,--message", merge->message, "Message of the merge commit");
  m->callback([merge] { exit_on_error(run_merge(*merge)); });

  auto pick = std::make_shared<PickArgs>();
  CLI::App* p = app.add_subcommand("cherry-pick", "Apply one commit's changes to the checked-out branch and commit");
  p->add_option("path", pick->path, "Dataset folder")->required();
  p->add_option("commit", pick->commit, "The commit to apply")->required();
  p->callback([pick] { exit_on_error(run_cherry_pick(*pick)); });

  auto gc_path = std::make_shared<std::string>();
  auto gc_expire = std::make_shared<std::string>();
  CLI::App* g = app.add_subcommand("gc", "Delete files no branch, tag, commit or open reader needs");
  g->add_option("path", *gc_path, "Dataset folder")->required();
  g->add_option("--expire-before", *gc_expire,
                "First cut the history before this commit (branch, tag or id): it becomes a root, and what "
                "only its ancestors needed is deleted (cannot be undone)");
  g->callback([gc_path, gc_expire] { exit_on_error(run_gc(*gc_path, *gc_expire)); });
}

RegisterCommand reg(61, add);

}  // namespace
}  // namespace gtn::cli
