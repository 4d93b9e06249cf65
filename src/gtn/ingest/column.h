// Column type inference for tabular sources: which tensor a column becomes.
//
// "No value" is a JSON null, a key missing from a JSONL row or an empty CSV cell. Types
// are inferred from the values only:
//
//   every value an integer                  -> int64 scalar  (uint64 when some exceed the
//                                               int64 range and all fit uint64); no value ->
//                                               an empty sample (shape (0,))
//   every value a number, one not integer   -> float64 scalar; no value -> NaN
//   every value true/false                  -> bool scalar; no value -> an empty sample
//   every value a path ending .jpg/.jpeg/.png -> image tensor; no value -> the row fails
//   every value a string                    -> text; no value -> "" (an empty sample)
//   every value a list of numbers           -> 1-d int64 (all integers) or float32; no value -> []
//   anything else                           -> json (cells kept as JSON text; no value -> null)
//
// An integer that fits neither int64 nor (in a uint64 column) uint64 fails its row: it does
// not turn the column into float64. CSV cells arrive as strings and are numbers when they
// parse as one (spaces around them allowed); JSONL keeps JSON's own types (a JSON string
// "12" stays text).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtn/dataset.h"
#include "gtn/result.h"

namespace gtn::ingest {

enum class ColumnKind { kInt64, kUInt64, kFloat64, kBool, kText, kImagePath, kNumericList, kJson };

std::string_view column_kind_name(ColumnKind kind);

struct ColumnPlan {
  ColumnKind kind = ColumnKind::kText;
  DType list_dtype = DType::kFloat32;  // kNumericList only
  bool cells_are_text = false;         // CSV: numbers are parsed from strings
};

// True when `path` ends in .jpg, .jpeg or .png (any case).
bool is_image_path(const std::string& path);

// Chooses the kind of a column from all its cells.
ColumnPlan infer_column(const std::vector<nlohmann::ordered_json>& cells, bool cells_are_text);

// The TensorSpec for a column of this plan (image columns: htype image; the caller sets
// dtype and sample_compression).
TensorSpec column_tensor_spec(const std::string& name, const ColumnPlan& plan);

// Converts one non-image cell to the sample Array of its column (InvalidArgument saying
// what was expected when the cell does not fit the plan).
Result<Array> cell_to_array(const ColumnPlan& plan, const nlohmann::ordered_json& cell);

// A cell as a number (CSV strings parsed): nullopt for null; error when not a number.
Result<std::optional<double>> cell_to_double(const nlohmann::ordered_json& cell, bool cells_are_text);

// The text of a string, number or bool cell (for class labels).
std::string cell_text(const nlohmann::ordered_json& cell);

}  // namespace gtn::ingest
