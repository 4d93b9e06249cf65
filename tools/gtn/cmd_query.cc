// gtn query PATH "QUERY" [--version V] [--rows N] [--save-view NAME] [--model-dir D]:
// runs a query (docs/query.md) and prints the matching rows with their SELECT columns.
// gtn views PATH [--delete NAME]: lists (or deletes) saved views.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "command.h"
#include "gtn/dataset.h"
#include "gtn/query.h"

namespace gtn::cli {
namespace {

// A short rendering of one value: scalars in full, arrays by shape and first elements,
// text up to 60 characters.
std::string render(const Array& a) {
  if (dtype_is_bytes_like(a.dtype())) {
    std::string s(a.as_string_view());
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    for (char& c : s) {
      if (c == '\n' || c == '\t') c = ' ';
    }
    return s;
  }
  std::ostringstream os;
  int64_t n = a.numel();
  auto elem = [&](int64_t i) -> double {
    switch (a.dtype()) {
      case DType::kBool: return a.data_as<uint8_t>()[i];
      case DType::kInt8: return a.data_as<int8_t>()[i];
      case DType::kInt16: return a.data_as<int16_t>()[i];
      case DType::kInt32: return a.data_as<int32_t>()[i];
      case DType::kInt64: return static_cast<double>(a.data_as<int64_t>()[i]);
      case DType::kUInt8: return a.data_as<uint8_t>()[i];
      case DType::kUInt16: return a.data_as<uint16_t>()[i];
      case DType::kUInt32: return a.data_as<uint32_t>()[i];
      case DType::kUInt64: return static_cast<double>(a.data_as<uint64_t>()[i]);
      case DType::kFloat32: return a.data_as<float>()[i];
      case DType::kFloat64: return a.data_as<double>()[i];
      default: return NAN;
    }
  };
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return std::string(buf);
  };
  if (a.ndim() == 0) return num(elem(0));
  os << shape_to_string(a.shape()) << " [";
  for (int64_t i = 0; i < std::min<int64_t>(n, 4); ++i) os << (i ? ", " : "") << num(elem(i));
  os << (n > 4 ? ", ...]" : "]");
  return os.str();
}

Status run(const std::string& path, const std::string& text, const std::string& version, uint64_t max_rows,
           const std::string& save, const std::string& model_dir) {
  OpenOptions options;
  options.read_only = save.empty();
  options.create_if_missing = false;
  options.version = version;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(path, options));
  QueryOptions qo;
  qo.model_dir = model_dir;
  GTN_ASSIGN_OR_RETURN(QueryResult r, run_query(*ds, text, qo));
  std::vector<std::pair<std::string, int>> tensor_cols;  // name -> tensor index
  for (const auto& c : r.columns) {
    if (!c.tensor.empty()) {
      GTN_ASSIGN_OR_RETURN(size_t t, ds->tensor_index(c.tensor));
      tensor_cols.push_back({c.name, static_cast<int>(t)});
    }
  }
  if (!r.group_keys.empty()) {
    // One line per group: its key, its size and the aggregates.
    std::cout << "group\trows";
    for (const auto& c : r.columns) std::cout << "\t" << c.name;
    std::cout << "\n";
    for (size_t g = 0; g < r.group_keys.size() && g < max_rows; ++g) {
      std::cout << r.group_keys[g] << "\t" << r.group_offsets[g + 1] - r.group_offsets[g];
      for (const auto& c : r.columns) {
        std::cout << "\t" << render(*Array::View(DType::kFloat64, {}, c.values.data_as<double>() + g, 8, nullptr));
      }
      std::cout << "\n";
    }
  } else {
    std::cout << "row";
    for (const auto& c : r.columns) std::cout << "\t" << c.name;
    std::cout << "\n";
    for (size_t i = 0; i < r.rows.size() && i < max_rows; ++i) {
      std::cout << r.rows[i];
      for (const auto& c : r.columns) {
        if (!c.tensor.empty()) {
          GTN_ASSIGN_OR_RETURN(size_t t, ds->tensor_index(c.tensor));
          GTN_ASSIGN_OR_RETURN(Array v, ds->read(t, r.rows[i]));
          std::cout << "\t" << render(v);
        } else {
          const Array& v = c.values;
          size_t per = v.numel() / std::max<int64_t>(1, v.shape()[0]);
          Shape row(v.shape().begin() + 1, v.shape().end());
          GTN_ASSIGN_OR_RETURN(Array one, Array::View(v.dtype(), row,
                                                      static_cast<const uint8_t*>(v.data()) + i * per * dtype_size(v.dtype()),
                                                      per * dtype_size(v.dtype()), nullptr));
          std::cout << "\t" << render(one);
        }
      }
      std::cout << "\n";
    }
  }
  if (r.rows.size() > max_rows && r.group_keys.empty()) std::cout << "... (" << r.rows.size() - max_rows << " more)\n";
  std::cerr << r.rows.size() << " rows; scanned " << r.stats.rows_scanned << " rows in " << r.stats.chunks_scanned
            << " chunk spans, skipped " << r.stats.chunks_skipped << ", read " << r.stats.bytes_read << " bytes\n";
  if (!save.empty()) {
    if (r.uncommitted || r.commit.empty()) {
      return Status::InvalidArgument("the dataset has uncommitted changes; commit them before saving a view");
    }
    ViewRecord v;
    v.name = save;
    v.commit = r.commit;
    v.query = text;
    v.rows = r.rows;
    GTN_RETURN_IF_ERROR(ds->save_view(v));
    std::cerr << "saved view '" << save << "' (" << v.rows.size() << " rows of commit " << r.commit << ")\n";
  }
  return Status::OK();
}

Status list_views(const std::string& path, const std::string& drop) {
  OpenOptions options;
  options.read_only = drop.empty();
  options.create_if_missing = false;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(path, options));
  if (!drop.empty()) {
    GTN_RETURN_IF_ERROR(ds->delete_view(drop));
    std::cout << "deleted view '" << drop << "'\n";
    return Status::OK();
  }
  GTN_ASSIGN_OR_RETURN(auto views, ds->views());
  for (const auto& v : views) {
    std::cout << v.name << "\t" << v.size << " rows\tcommit " << v.commit << "\t" << v.query << "\n";
  }
  return Status::OK();
}

void add(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto text = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  auto save = std::make_shared<std::string>();
  auto model_dir = std::make_shared<std::string>();
  auto max_rows = std::make_shared<uint64_t>(20);
  CLI::App* cmd = app.add_subcommand("query", "Run a tensor query (docs/query.md) and print the rows");
  cmd->add_option("path", *path, "Dataset folder")->required();
  cmd->add_option("query", *text, "The query, e.g. \"SELECT * WHERE labels == 'cat' LIMIT 10\"")->required();
  cmd->add_option("--version", *version, "Branch, tag or commit to query (default: the checked-out state)");
  cmd->add_option("--rows", *max_rows, "Rows (or groups) to print (default 20)");
  cmd->add_option("--save-view", *save, "Save the result as a named view of its commit");
  cmd->add_option("--model-dir", *model_dir, "Folder that model('file.gtnm', ...) paths are relative to");
  cmd->callback([=] { exit_on_error(run(*path, *text, *version, *max_rows, *save, *model_dir)); });

  auto vpath = std::make_shared<std::string>();
  auto drop = std::make_shared<std::string>();
  CLI::App* views = app.add_subcommand("views", "List the saved views of a dataset (or delete one)");
  views->add_option("path", *vpath, "Dataset folder")->required();
  views->add_option("--delete", *drop, "Delete this view");
  views->callback([=] { exit_on_error(list_views(*vpath, *drop)); });
}

RegisterCommand reg(36, add);

}  // namespace
}  // namespace gtn::cli
