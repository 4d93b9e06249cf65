// The CLI's verb registry: each verb lives in its own cmd_<verb>.cc and registers a
// function that adds its CLI11 subcommand. main.cc builds the app from the registry.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "gtn/status.h"

namespace gtn::cli {

// Adds a subcommand to `app`; the callback it installs reports errors by returning a Status
// through run_and_exit().
using RegisterFn = std::function<void(CLI::App& app)>;

struct CommandRegistry {
  static std::vector<std::pair<int, RegisterFn>>& entries();
};

// Registers a verb at static-initialisation time; `order` sorts `gtn --help`.
struct RegisterCommand {
  RegisterCommand(int order, RegisterFn fn);
};

// Prints "gtn: error: <message>" to stderr and exits 1 when `status` is not OK.
void exit_on_error(const Status& status);

}  // namespace gtn::cli
