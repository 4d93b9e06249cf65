// gtn trace DATASET -o FILE -- COMMAND ARGS...: runs COMMAND with $GTN_TRACE set, so every
// process it starts records its reads of GTN datasets, then merges the per-process traces
// into FILE and prints the workload summary (docs/layout.md, "Access traces").
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/access_trace.h"
#include "gtn/dataset.h"

namespace gtn::cli {
namespace {

struct Args {
  std::string path;
  std::string out;
  std::vector<std::string> command;
};

Status run(const Args& a) {
  if (a.command.empty()) return Status::InvalidArgument("no command to trace; usage: gtn trace DATASET -o FILE -- COMMAND ARGS...");
  std::string tmpl = (std::filesystem::temp_directory_path() / "gtn-trace-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return Status::IOError("cannot create a temporary folder for the traces");
  std::string dir = tmpl;
  std::string prefix = dir + "/trace.gtntrace";
  std::cout.flush();
  pid_t child = ::fork();
  if (child < 0) return Status::IOError("cannot fork to run the command");
  if (child == 0) {
    ::setenv("GTN_TRACE", prefix.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& s : a.command) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "gtn: error: cannot run '%s': %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  auto trace = AccessTrace::load_merged(dir);
  std::error_code ec;
  if (!trace.ok()) {
    std::filesystem::remove_all(dir, ec);
    if (trace.status().code() == StatusCode::kNotFound) {
      return Status::InvalidArgument("the command recorded no reads (did it open a GTN dataset?)");
    }
    return trace.status();
  }
  Status saved = (*trace)->save(a.out);
  std::filesystem::remove_all(dir, ec);
  GTN_RETURN_IF_ERROR(saved);
  OpenOptions ro;
  ro.read_only = true;
  auto ds = Dataset::Open(a.path, ro);
  TraceSummary s = (*trace)->summarize(ds.ok() ? ds->get() : nullptr);
  std::cout << "trace written to " << a.out << "\n" << s.to_string();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal("the traced command failed (" +
                            (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                               : "signal " + std::to_string(WTERMSIG(status))) +
                            "); the trace of what it read is kept");
  }
  return Status::OK();
}

void add(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("trace", "Record how a command reads a dataset (an access trace)");
  cmd->add_option("dataset", a->path, "Dataset folder (for the summary's class and graph locality)")->required();
  cmd->add_option("-o,--output", a->out, "Trace file to write")->required();
  cmd->add_option("command", a->command, "The command to run, after --")->expected(-1);
  cmd->callback([a] { exit_on_error(run(*a)); });
}

RegisterCommand reg(66, add);

}  // namespace
}  // namespace gtn::cli
