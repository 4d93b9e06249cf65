// Graph-to-graph optimization passes run by the CPU backend before kernels are built.
#pragma once

#include <string>
#include <vector>

#include "gtn/ml/backend.h"

namespace gtn::ml {

// Runs the passes (unless options["optimize"] == "0") and returns the optimized copy;
// `notes` gets one line per pass that changed something.
Result<Graph> optimize_graph(const Graph& graph, const Options& options, std::vector<std::string>& notes);

}  // namespace gtn::ml
