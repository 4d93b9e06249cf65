#include "gtn/ingest/column.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "gtn/ingest/file_util.h"

namespace gtn::ingest {
namespace {

using Cell = nlohmann::ordered_json;

bool parse_int(const std::string& s, int64_t* out) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e && b != e;
}

bool parse_double(const std::string& s, double* out) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e && b != e;
}

bool cell_is_int(const Cell& c, bool text) {
  if (c.is_number_integer()) return true;
  int64_t v;
  return text && c.is_string() && parse_int(c.get_ref<const std::string&>(), &v);
}

bool cell_is_number(const Cell& c, bool text) {
  if (c.is_number()) return true;
  double v;
  return text && c.is_string() && parse_double(c.get_ref<const std::string&>(), &v);
}

bool cell_is_numeric_list(const Cell& c, bool* all_int) {
  if (!c.is_array()) return false;
  for (const Cell& e : c) {
    if (!e.is_number()) return false;
    if (!e.is_number_integer()) *all_int = false;
  }
  return true;
}

std::string row_prefix(size_t row) { return "row " + std::to_string(row + 1) + ": "; }

}  // namespace

std::string_view column_kind_name(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kInt64: return "int64";
    case ColumnKind::kFloat64: return "float64";
    case ColumnKind::kBool: return "bool";
    case ColumnKind::kText: return "text";
    case ColumnKind::kImagePath: return "image";
    case ColumnKind::kNumericList: return "list";
    case ColumnKind::kJson: return "json";
  }
  return "?";
}

bool is_image_path(const std::string& path) {
  std::string ext = lower_extension(path);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

ColumnPlan infer_column(const std::vector<Cell>& cells, bool cells_are_text) {
  ColumnPlan plan;
  plan.cells_are_text = cells_are_text;
  bool all_int = true, all_num = true, all_bool = true, all_str = true, all_img = true, all_list = true;
  bool list_all_int = true;
  bool any_null = false, any_value = false;
  for (const Cell& c : cells) {
    if (c.is_null()) {
      any_null = true;
      continue;
    }
    any_value = true;
    if (all_int && !cell_is_int(c, cells_are_text)) all_int = false;
    if (all_num && !cell_is_number(c, cells_are_text)) all_num = false;
    if (all_bool && !c.is_boolean()) all_bool = false;
    if (all_str && !c.is_string()) all_str = false;
    if (all_img && !(c.is_string() && is_image_path(c.get_ref<const std::string&>()))) all_img = false;
    if (all_list && !cell_is_numeric_list(c, &list_all_int)) all_list = false;
  }
  if (!any_value) {
    plan.kind = ColumnKind::kText;
  } else if (all_int && !any_null) {
    plan.kind = ColumnKind::kInt64;
  } else if (all_num) {
    plan.kind = ColumnKind::kFloat64;
  } else if (all_bool && !any_null) {
    plan.kind = ColumnKind::kBool;
  } else if (all_img && !any_null) {
    plan.kind = ColumnKind::kImagePath;
  } else if (all_str) {
    plan.kind = ColumnKind::kText;
  } else if (all_list) {
    plan.kind = ColumnKind::kNumericList;
    plan.list_dtype = list_all_int ? DType::kInt64 : DType::kFloat32;
  } else {
    plan.kind = ColumnKind::kJson;
  }
  return plan;
}

TensorSpec column_tensor_spec(const std::string& name, const ColumnPlan& plan) {
  TensorSpec spec;
  spec.name = name;
  switch (plan.kind) {
    case ColumnKind::kInt64: spec.dtype = DType::kInt64; break;
    case ColumnKind::kFloat64: spec.dtype = DType::kFloat64; break;
    case ColumnKind::kBool: spec.dtype = DType::kBool; break;
    case ColumnKind::kText: spec.htype = "text"; spec.dtype = DType::kText; break;
    case ColumnKind::kImagePath: spec.htype = "image"; spec.dtype = DType::kUInt8; break;
    case ColumnKind::kNumericList: spec.dtype = plan.list_dtype; break;
    case ColumnKind::kJson: spec.htype = "json"; spec.dtype = DType::kText; break;
  }
  return spec;
}

Result<Array> cell_to_array(const ColumnPlan& plan, const Cell& cell, size_t row) {
  switch (plan.kind) {
    case ColumnKind::kInt64: {
      int64_t v = 0;
      if (cell.is_number_integer()) {
        v = cell.get<int64_t>();
      } else if (!(cell.is_string() && parse_int(cell.get_ref<const std::string&>(), &v))) {
        return Status::InvalidArgument(row_prefix(row) + "expected an integer, got " + cell.dump());
      }
      return Array::Scalar<int64_t>(DType::kInt64, v);
    }
    case ColumnKind::kFloat64: {
      double v = std::numeric_limits<double>::quiet_NaN();
      if (cell.is_number()) {
        v = cell.get<double>();
      } else if (!cell.is_null() && !(cell.is_string() && parse_double(cell.get_ref<const std::string&>(), &v))) {
        return Status::InvalidArgument(row_prefix(row) + "expected a number, got " + cell.dump());
      }
      return Array::Scalar<double>(DType::kFloat64, v);
    }
    case ColumnKind::kBool:
      if (!cell.is_boolean()) return Status::InvalidArgument(row_prefix(row) + "expected true or false, got " + cell.dump());
      return Array::Scalar<bool>(DType::kBool, cell.get<bool>());
    case ColumnKind::kText:
      if (cell.is_null()) return Array::Text("");
      if (!cell.is_string()) return Status::InvalidArgument(row_prefix(row) + "expected a string, got " + cell.dump());
      return Array::Text(cell.get_ref<const std::string&>());
    case ColumnKind::kNumericList: {
      size_t n = cell.is_array() ? cell.size() : 0;
      if (!cell.is_null() && !cell.is_array()) {
        return Status::InvalidArgument(row_prefix(row) + "expected a list of numbers, got " + cell.dump());
      }
      Array a = Array::Zeros(plan.list_dtype, {static_cast<int64_t>(n)});
      for (size_t k = 0; k < n; ++k) {
        const Cell& e = cell[k];
        if (!e.is_number()) return Status::InvalidArgument(row_prefix(row) + "expected a list of numbers, got " + cell.dump());
        if (plan.list_dtype == DType::kInt64) {
          if (!e.is_number_integer()) return Status::InvalidArgument(row_prefix(row) + "expected a list of integers, got " + cell.dump());
          static_cast<int64_t*>(a.mutable_data())[k] = e.get<int64_t>();
        } else {
          static_cast<float*>(a.mutable_data())[k] = e.get<float>();
        }
      }
      return a;
    }
    case ColumnKind::kJson:
      return Array::Text(cell.dump());
    case ColumnKind::kImagePath:
      return Status::Internal("image cells are loaded by the ingest driver, not cell_to_array");
  }
  return Status::Internal("unknown column kind");
}

}  // namespace gtn::ingest
