// gtn log PATH [TARGET] [--oneline] [--graph]: the commits reachable from TARGET (default:
// the checked-out state), newest first. --graph draws the commit graph in the margin like
// `git log --graph --oneline` (one line per commit).
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "gtn/dataset.h"

namespace gtn::cli {
namespace {

struct LogArgs {
  std::string path;
  std::string target;
  bool oneline = false;
  bool graph = false;
};

std::string utc_time(int64_t time_ms) {
  std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// commit id -> " (HEAD -> main, dev, tag: v1)" for the commits that branches and tags name.
Result<std::map<std::string, std::string>> decorations(const Dataset& ds) {
  std::map<std::string, std::vector<std::string>> names;
  std::string current = ds.current_branch();
  if (current.empty() && !ds.head_commit().empty()) names[ds.head_commit()].push_back("HEAD");
  GTN_ASSIGN_OR_RETURN(std::vector<std::string> branches, ds.branches());
  for (const std::string& b : branches) {
    GTN_ASSIGN_OR_RETURN(std::vector<CommitInfo> head, ds.log(b));
    if (head.empty()) continue;  // a branch without commits yet
    std::string& first = names[head[0].id].emplace_back(b == current ? "HEAD -> " + b : b);
    if (b == current) std::swap(first, names[head[0].id].front());
  }
  GTN_ASSIGN_OR_RETURN(auto tags, ds.tags());
  for (const auto& [tag, id] : tags) names[id].push_back("tag: " + tag);
  std::map<std::string, std::string> out;
  for (const auto& [id, list] : names) {
    std::string s;
    for (const std::string& n : list) s += (s.empty() ? "" : ", ") + n;
    out[id] = " (" + s + ")";
  }
  return out;
}

std::string trim_right(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Draws the commits (newest first, each before its parents) as git does: one lane per
// line of history, `*` for a commit, `|` for a lane passing by, `\` where a merge opens a
// lane for its second parent, `/` where two lanes meet again at their common commit.
// Returns the lines; a commit's line ends with "\t" + its index in `commits`.
std::vector<std::pair<std::string, int>> graph_lines(const std::vector<CommitInfo>& commits) {
  std::vector<std::pair<std::string, int>> out;
  std::vector<std::string> lanes;  // the commit each lane waits for
  auto blank = [&](size_t width) { return std::string(2 * width, ' '); };
  for (size_t k = 0; k < commits.size(); ++k) {
    const CommitInfo& c = commits[k];
    std::vector<size_t> at;
    for (size_t i = 0; i < lanes.size(); ++i) {
      if (lanes[i] == c.id) at.push_back(i);
    }
    if (at.empty()) {
      lanes.push_back(c.id);
      at.push_back(lanes.size() - 1);
    }
    size_t col = at[0];
    // Lanes that wait for the same commit join the leftmost one, nearest first.
    for (size_t n = 1; n < at.size(); ++n) {
      size_t j = at[n] - (n - 1);  // earlier joins moved it left
      std::string line = blank(lanes.size());
      for (size_t i = 0; i < j; ++i) line[2 * i] = '|';
      for (size_t i = col; i + 1 < j; ++i) line[2 * i + 1] = '_';
      line[2 * j - 1] = '/';
      for (size_t i = j + 1; i < lanes.size(); ++i) line[2 * i - 1] = '/';
      out.emplace_back(trim_right(line), -1);
      lanes.erase(lanes.begin() + static_cast<std::ptrdiff_t>(j));
    }
    std::string row = blank(lanes.size());
    for (size_t i = 0; i < lanes.size(); ++i) row[2 * i] = i == col ? '*' : '|';
    out.emplace_back(trim_right(row), static_cast<int>(k));
    if (c.parents.empty()) {
      // A root: its lane ends; lanes to its right move left.
      bool right = col + 1 < lanes.size();
      if (right && k + 1 < commits.size()) {
        std::string line = blank(lanes.size());
        for (size_t i = 0; i < col; ++i) line[2 * i] = '|';
        for (size_t i = col + 1; i < lanes.size(); ++i) line[2 * i - 1] = '/';
        out.emplace_back(trim_right(line), -1);
      }
      lanes.erase(lanes.begin() + static_cast<std::ptrdiff_t>(col));
      continue;
    }
    lanes[col] = c.parents[0];
    if (c.parents.size() > 1) {
      size_t old_width = lanes.size();
      std::string line = blank(old_width + c.parents.size() - 1);
      for (size_t i = 0; i <= col; ++i) line[2 * i] = '|';
      line[2 * col + 1] = '\\';
      for (size_t i = col + 1; i < old_width; ++i) line[2 * i + 1] = '\\';  // lanes moving right
      out.emplace_back(trim_right(line), -1);
      for (size_t p = 1; p < c.parents.size(); ++p) {
        lanes.insert(lanes.begin() + static_cast<std::ptrdiff_t>(col + p), c.parents[p]);
      }
    }
  }
  return out;
}

Status run(const LogArgs& args) {
  OpenOptions options;
  options.read_only = true;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(args.path, options));
  GTN_ASSIGN_OR_RETURN(std::vector<CommitInfo> commits, ds->log(args.target));
  GTN_ASSIGN_OR_RETURN(auto decor, decorations(*ds));
  auto oneline = [&](const CommitInfo& c) {
    auto d = decor.find(c.id);
    return c.id + (d == decor.end() ? "" : d->second) + " " + c.message;
  };
  if (commits.empty()) {
    std::cout << "no commits yet\n";
    return Status::OK();
  }
  if (args.graph) {
    for (const auto& [graph, k] : graph_lines(commits)) {
      std::cout << (k < 0 ? graph : graph + " " + oneline(commits[static_cast<size_t>(k)])) << "\n";
    }
    return Status::OK();
  }
  for (const CommitInfo& c : commits) {
    if (args.oneline) {
      std::cout << oneline(c) << "\n";
      continue;
    }
    auto d = decor.find(c.id);
    std::cout << "commit " << c.id << (d == decor.end() ? "" : d->second) << "\n";
    if (c.parents.size() > 1) {
      std::cout << "Merge:";
      for (const std::string& p : c.parents) std::cout << " " << p;
      std::cout << "\n";
    }
    std::cout << "Author: " << c.author << "\n"
              << "Date:   " << utc_time(c.time_ms) << "\n"
              << "Rows:   " << c.length << "\n\n"
              << "    " << c.message << "\n\n";
  }
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<LogArgs>();
  CLI::App* cmd = app.add_subcommand("log", "List the commits reachable from a branch, tag or commit");
  cmd->add_option("path", args->path, "Dataset folder")->required();
  cmd->add_option("target", args->target, "Branch, tag or commit (default: the checked-out state)");
  cmd->add_flag("--oneline", args->oneline, "One line per commit: id, branches and tags, message");
  cmd->add_flag("--graph", args->graph, "Draw the commit graph (one line per commit, like --oneline)");
  cmd->callback([args] { exit_on_error(run(*args)); });
}

RegisterCommand reg(62, add);

}  // namespace
}  // namespace gtn::cli
