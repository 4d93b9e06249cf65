// The GTN model file (docs/ml/model-format.md): graph JSON + aligned constant tensors +
// xxHash checksum.
#pragma once

#include <string>

#include "gtn/ml/backend.h"

namespace gtn::ml {

inline constexpr char kModelMagic[8] = {'G', 'T', 'N', 'M', 'O', 'D', 'E', 'L'};
inline constexpr uint32_t kModelFormatVersion = 1;

// The model file's bytes for graph + options.
std::string serialize_model_file(const Graph& graph, const Options& options);
// Writes graph + options to `path` (atomically: a temporary file renamed into place).
Status write_model_file(const std::string& path, const Graph& graph, const Options& options);

struct ModelFileContents {
  std::string graph_json;
  std::map<std::string, Array> constants;
  Options options;
};
// Reads and verifies a model file held in `bytes`.
Result<ModelFileContents> parse_model_file(std::string bytes);
// Reads a whole file; NotFound / IOError.
Result<std::string> read_file(const std::string& path);
// True when `bytes` start with the model magic.
bool is_model_file(std::string_view bytes);

}  // namespace gtn::ml
