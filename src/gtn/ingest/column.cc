#include "gtn/ingest/column.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "gtn/ingest/file_util.h"
#include "gtn/ingest/table.h"

namespace gtn::ingest {
namespace {

using Cell = nlohmann::ordered_json;

// An integer literal: [+-]?[0-9]+ (spaces around allowed).
bool is_int_literal(std::string_view s) {
  s = trim(s);
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

template <typename T>
bool parse_as(std::string_view s, T* out) {
  s = trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

// The text of an integer cell, when the cell holds an integer literal kept as text
// (CSV strings, JSONL out-of-range literals); nullptr otherwise.
bool literal_of(const Cell& c, bool text, std::string* out) {
  if (c.is_binary()) {
    const auto& b = c.get_binary();
    out->assign(b.begin(), b.end());
    return true;
  }
  if (text && c.is_string() && is_int_literal(c.get_ref<const std::string&>())) {
    *out = c.get<std::string>();
    return true;
  }
  return false;
}

bool cell_is_int(const Cell& c, bool text) {
  std::string lit;
  return c.is_number_integer() || literal_of(c, text, &lit);
}

bool cell_is_number(const Cell& c, bool text) {
  if (c.is_number() || c.is_binary()) return true;
  double v;
  return text && c.is_string() && parse_as(c.get_ref<const std::string&>(), &v);
}

// Where an integer cell's value fits.
struct IntRange {
  bool fits_int64 = false, fits_uint64 = false;
};
IntRange int_range(const Cell& c, bool text) {
  IntRange r;
  if (c.is_number_unsigned()) {
    r.fits_uint64 = true;
    r.fits_int64 = c.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return r;
  }
  if (c.is_number_integer()) {
    r.fits_int64 = true;
    r.fits_uint64 = c.get<int64_t>() >= 0;
    return r;
  }
  std::string lit;
  if (literal_of(c, text, &lit)) {
    int64_t i;
    uint64_t u;
    r.fits_int64 = parse_as(lit, &i);
    r.fits_uint64 = parse_as(lit, &u);
  }
  return r;
}

bool cell_is_numeric_list(const Cell& c, bool* all_int) {
  if (!c.is_array()) return false;
  for (const Cell& e : c) {
    if (!e.is_number()) return false;
    if (!e.is_number_integer()) *all_int = false;
  }
  return true;
}

std::string show(const Cell& cell) {
  std::string s = dump_cell(cell);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

}  // namespace

std::string_view column_kind_name(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kInt64: return "int64";
    case ColumnKind::kUInt64: return "uint64";
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
  bool any_value = false, any_int64_misfit = false, all_uint64 = true;
  for (const Cell& c : cells) {
    if (c.is_null()) continue;
    any_value = true;
    if (all_int && !cell_is_int(c, cells_are_text)) all_int = false;
    if (all_int) {
      IntRange r = int_range(c, cells_are_text);
      if (!r.fits_int64) any_int64_misfit = true;
      if (!r.fits_uint64) all_uint64 = false;
    }
    if (all_num && !cell_is_number(c, cells_are_text)) all_num = false;
    if (all_bool && !c.is_boolean()) all_bool = false;
    if (all_str && !c.is_string()) all_str = false;
    if (all_img && !(c.is_string() && is_image_path(c.get_ref<const std::string&>()))) all_img = false;
    if (all_list && !cell_is_numeric_list(c, &list_all_int)) all_list = false;
  }
  if (!any_value) {
    plan.kind = ColumnKind::kText;
  } else if (all_int) {
    plan.kind = any_int64_misfit && all_uint64 ? ColumnKind::kUInt64 : ColumnKind::kInt64;
  } else if (all_num) {
    plan.kind = ColumnKind::kFloat64;
  } else if (all_bool) {
    plan.kind = ColumnKind::kBool;
  } else if (all_img) {
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
    case ColumnKind::kUInt64: spec.dtype = DType::kUInt64; break;
    case ColumnKind::kFloat64: spec.dtype = DType::kFloat64; break;
    case ColumnKind::kBool: spec.dtype = DType::kBool; break;
    case ColumnKind::kText: spec.htype = "text"; spec.dtype = DType::kText; break;
    case ColumnKind::kImagePath: spec.htype = "image"; spec.dtype = DType::kUInt8; break;
    case ColumnKind::kNumericList: spec.dtype = plan.list_dtype; break;
    case ColumnKind::kJson: spec.htype = "json"; spec.dtype = DType::kText; break;
  }
  return spec;
}

Result<std::optional<double>> cell_to_double(const Cell& cell, bool text) {
  if (cell.is_null()) return std::optional<double>();
  if (cell.is_number()) return std::optional<double>(cell.get<double>());
  std::string lit;
  if (literal_of(cell, text, &lit)) return std::optional<double>(std::strtod(std::string(trim(lit)).c_str(), nullptr));
  double v;
  if (text && cell.is_string() && parse_as(cell.get_ref<const std::string&>(), &v)) return std::optional<double>(v);
  return Status::InvalidArgument("expected a number, got " + show(cell));
}

std::string cell_text(const Cell& cell) {
  if (cell.is_string()) return std::string(trim(cell.get_ref<const std::string&>()));
  return dump_cell(cell);
}

Result<Array> cell_to_array(const ColumnPlan& plan, const Cell& cell) {
  bool text = plan.cells_are_text;
  switch (plan.kind) {
    case ColumnKind::kInt64:
    case ColumnKind::kUInt64: {
      bool u = plan.kind == ColumnKind::kUInt64;
      DType dtype = u ? DType::kUInt64 : DType::kInt64;
      if (cell.is_null()) return Array::Zeros(dtype, {0});
      if (!cell_is_int(cell, text)) return Status::InvalidArgument("expected an integer, got " + show(cell));
      IntRange r = int_range(cell, text);
      if (u ? !r.fits_uint64 : !r.fits_int64) {
        return Status::InvalidArgument("the integer " + show(cell) + " is outside the " +
                                       std::string(u ? "uint64 range [0, 2^64 - 1]" : "int64 range [-2^63, 2^63 - 1]") +
                                       " of its column");
      }
      std::string lit;
      if (u) {
        uint64_t v = 0;
        if (cell.is_number_integer()) v = cell.get<uint64_t>(); else if (literal_of(cell, text, &lit)) parse_as(lit, &v);
        return Array::Scalar<uint64_t>(dtype, v);
      }
      int64_t v = 0;
      if (cell.is_number_integer()) v = cell.get<int64_t>(); else if (literal_of(cell, text, &lit)) parse_as(lit, &v);
      return Array::Scalar<int64_t>(dtype, v);
    }
    case ColumnKind::kFloat64: {
      GTN_ASSIGN_OR_RETURN(std::optional<double> v, cell_to_double(cell, text));
      return Array::Scalar<double>(DType::kFloat64, v ? *v : std::numeric_limits<double>::quiet_NaN());
    }
    case ColumnKind::kBool:
      if (cell.is_null()) return Array::Zeros(DType::kBool, {0});
      if (!cell.is_boolean()) return Status::InvalidArgument("expected true or false, got " + show(cell));
      return Array::Scalar<bool>(DType::kBool, cell.get<bool>());
    case ColumnKind::kText:
      if (cell.is_null()) return Array::Text("");
      if (!cell.is_string()) return Status::InvalidArgument("expected a string, got " + show(cell));
      return Array::Text(cell.get_ref<const std::string&>());
    case ColumnKind::kNumericList: {
      size_t n = cell.is_array() ? cell.size() : 0;
      if (!cell.is_null() && !cell.is_array()) return Status::InvalidArgument("expected a list of numbers, got " + show(cell));
      Array a = Array::Zeros(plan.list_dtype, {static_cast<int64_t>(n)});
      for (size_t k = 0; k < n; ++k) {
        const Cell& e = cell[k];
        if (!e.is_number()) return Status::InvalidArgument("expected a list of numbers, got " + show(cell));
        if (plan.list_dtype == DType::kInt64) {
          if (!e.is_number_integer()) return Status::InvalidArgument("expected a list of integers, got " + show(cell));
          static_cast<int64_t*>(a.mutable_data())[k] = e.get<int64_t>();
        } else {
          static_cast<float*>(a.mutable_data())[k] = e.get<float>();
        }
      }
      return a;
    }
    case ColumnKind::kJson:
      return Array::Text(dump_cell(cell));
    case ColumnKind::kImagePath:
      return Status::Internal("image cells are loaded by the ingest driver, not cell_to_array");
  }
  return Status::Internal("unknown column kind");
}

}  // namespace gtn::ingest
