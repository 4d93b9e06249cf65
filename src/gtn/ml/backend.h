// Backends turn a validated graph into something that runs. A backend is registered by
// name; converters and the Model API never name a backend's types.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtn/ml/graph.h"

namespace gtn::ml {

using Options = std::map<std::string, std::string>;

class Executable {
 public:
  virtual ~Executable() = default;
  // Runs `method` on X, already checked and cast to the graph dtype ([n, n_features]), or
  // of either float dtype when CastsInput() (the executable casts it piece by piece).
  virtual Result<std::vector<Array>> Run(const std::string& method, const Array& X, int n_threads) const = 0;
  virtual bool CastsInput() const { return false; }
  // Lines describing how the graph was compiled (passes applied, tree strategies).
  virtual std::vector<std::string> Describe() const { return {}; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // `types` is validate_graph(graph)'s result.
  virtual Result<std::unique_ptr<Executable>> Compile(const Graph& graph, const std::map<std::string, ValueInfo>& types,
                                                      const Options& options) const = 0;
};

// The backend called `name` ("reference", "cpu"), or nullptr.
const Backend* find_backend(const std::string& name);
std::vector<std::string> backend_names();

const Backend& reference_backend();
const Backend& cpu_backend();

// The nodes `outputs` depend on, in graph order.
std::vector<size_t> needed_nodes(const Graph& graph, const std::vector<std::string>& outputs);

}  // namespace gtn::ml
