// Column type inference for tabular sources: which tensor a column becomes.
//
//   every cell an integer                   -> int64 scalar   (htype generic)
//   every cell a number, or null            -> float64 scalar (nulls read as NaN)
//   every cell true/false                   -> bool scalar
//   every cell a path ending .jpg/.jpeg/.png -> image tensor   (htype image, uint8)
//   every cell a string, or null            -> text           (nulls read as "")
//   every cell a list of numbers, or null   -> 1-d float32 (int64 if all integers); null -> empty
//   anything else                           -> json           (htype json; cells kept as JSON text)
//
// CSV cells arrive as strings and are parsed as numbers when every non-empty cell parses;
// JSONL keeps JSON's own types (a JSON string "12" stays text).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtn/dataset.h"
#include "gtn/result.h"

namespace gtn::ingest {

enum class ColumnKind { kInt64, kFloat64, kBool, kText, kImagePath, kNumericList, kJson };

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
// sample_compression).
TensorSpec column_tensor_spec(const std::string& name, const ColumnPlan& plan);

// Converts one non-image cell to the sample Array of its column (InvalidArgument naming
// `row` when the cell does not fit the plan).
Result<Array> cell_to_array(const ColumnPlan& plan, const nlohmann::ordered_json& cell, size_t row);

}  // namespace gtn::ingest
