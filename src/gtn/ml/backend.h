// Backends turn a validated graph into something that runs. A backend is registered by
// name; converters and the Model API never name a backend's types.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtn/ml/graph.h"

namespace gtn::ml {

using Options = std::map<std::string, std::string>;

// Checks rows [first_row, first_row + rows.shape()[0]) of a batch before they run (the
// model's input rules: finite values); an error stops the batch.
using InputCheck = std::function<Status(const Array& rows, int64_t first_row)>;

class Executable {
 public:
  virtual ~Executable() = default;
  // Runs `method` on X ([n, n_features]) of the graph dtype, or of either float dtype when
  // CastsInput() (the executable casts it piece by piece). `check`, when set, sees every
  // row before it runs: per tile where the executable tiles (so that the check's read
  // brings the tile into cache for the run), else the whole batch first.
  virtual Result<std::vector<Array>> Run(const std::string& method, const Array& X, int n_threads,
                                         const InputCheck& check) const = 0;
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
