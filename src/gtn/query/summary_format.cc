// summary_to_json() and summary_to_text(): a DatasetSummary as JSON (the fields are
// listed in docs/summary.md) and as readable text.
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gtn/summary.h"

namespace gtn {
namespace {

using Json = nlohmann::ordered_json;

Json histogram_json(const Histogram& h) { return Json{{"edges", h.edges}, {"counts", h.counts}}; }

// A statistic of an empty set is null.
template <typename T>
Json or_null(bool any, T value) {
  return any ? Json(value) : Json(nullptr);
}

Json values_json(const ValueStats& v) {
  const bool any = v.count > 0;
  return Json{{"count", v.count},
              {"nan_count", v.nan_count},
              {"inf_count", v.inf_count},
              {"min", or_null(any, v.min)},
              {"max", or_null(any, v.max)},
              {"mean", or_null(any, v.mean)},
              {"std", or_null(any, v.std)},
              {"histogram", histogram_json(v.histogram)}};
}

Json lengths_json(const LengthStats& l) {
  const bool any = l.count > 0;
  Json percentiles = Json::object();
  for (const auto& [q, v] : l.percentiles) percentiles["p" + std::to_string(q)] = v;
  return Json{{"count", l.count},
              {"min", or_null(any, l.min)},
              {"max", or_null(any, l.max)},
              {"mean", or_null(any, l.mean)},
              {"percentiles", percentiles},
              {"histogram", histogram_json(l.histogram)}};
}

Json storage_json(const StorageStats& s) {
  return Json{{"num_chunks", s.num_chunks},
              {"num_slices", s.num_slices},
              {"stored_bytes", s.stored_bytes},
              {"raw_bytes", s.raw_bytes},
              {"buffered_samples", s.buffered_samples},
              {"min_chunk_bytes", s.min_chunk_bytes},
              {"max_chunk_bytes", s.max_chunk_bytes},
              {"chunk_bytes", histogram_json(s.file_bytes)},
              {"samples_per_slice", histogram_json(s.samples_per_slice)}};
}

Json tensor_json(const TensorSummary& t) {
  Json j;
  j["htype"] = t.htype;
  j["dtype"] = std::string(dtype_name(t.dtype));
  j["sample_compression"] = std::string(compression_name(t.sample_compression));
  j["chunk_compression"] = std::string(compression_name(t.chunk_compression));
  j["count"] = t.count;
  j["empty_count"] = t.empty_count;
  j["min_shape"] = t.min_shape;
  j["max_shape"] = t.max_shape;
  Json shapes = Json::array();
  for (const auto& [shape, n] : t.shape_counts) shapes.push_back(Json{{"shape", shape}, {"count", n}});
  j["shapes"] = shapes;
  j["distinct_shapes"] = t.distinct_shapes;
  j["shapes_capped"] = t.shapes_capped;
  j["sample_sizes"] = histogram_json(t.sample_sizes);
  j["bytes"] = t.bytes;
  j["storage"] = storage_json(t.storage);
  j["compression_ratio"] = t.compression_ratio;
  if (t.values) j["values"] = values_json(*t.values);
  if (t.htype == "class_label") {
    Json classes = Json::object();
    for (const auto& c : t.class_counts) {
      std::string key = c.name;
      if (classes.contains(key)) key += " (index " + std::to_string(c.index) + ")";
      classes[key] = c.count;
    }
    j["class_counts"] = classes;
    j["labels"] = t.labels;
  }
  if (t.text_lengths) j["text_lengths"] = lengths_json(*t.text_lengths);
  return j;
}

// "1.5 KiB"
std::string human_bytes(uint64_t n) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

// A number with up to 6 significant digits ("3.14159", "1e+06", "12").
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void write_tensor(std::ostream& os, const TensorSummary& t) {
  os << "\n" << t.name << ": htype " << t.htype << ", dtype " << dtype_name(t.dtype);
  if (t.sample_compression != Compression::kNone) os << ", sample compression " << compression_name(t.sample_compression);
  if (t.chunk_compression != Compression::kNone) os << ", chunk compression " << compression_name(t.chunk_compression);
  os << "\n  samples: " << t.count << " (" << t.empty_count << " empty)";
  if (!t.min_shape.empty() || !t.max_shape.empty() || t.count > t.empty_count) {
    os << ", shape " << shape_to_string(t.min_shape);
    if (t.min_shape != t.max_shape) os << " to " << shape_to_string(t.max_shape);
  }
  os << ", " << human_bytes(t.bytes) << "\n";
  if (t.distinct_shapes > 1) {
    os << "  shapes: " << t.distinct_shapes << (t.shapes_capped ? "+" : "") << " distinct;";
    for (const auto& [shape, n] : t.shape_counts) os << " " << shape_to_string(shape) << " x" << n;
    os << "\n";
  }
  const StorageStats& s = t.storage;
  os << "  storage: " << s.num_chunks << " chunk" << (s.num_chunks == 1 ? "" : "s");
  if (s.num_slices != s.num_chunks) os << " in " << s.num_slices << " slices";
  os << ", " << human_bytes(s.stored_bytes) << " stored, " << human_bytes(s.raw_bytes) << " raw";
  if (t.compression_ratio > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " (%.2fx)", t.compression_ratio);
    os << buf;
  }
  if (s.num_chunks > 1) {
    os << ", chunk files " << human_bytes(s.min_chunk_bytes) << " to " << human_bytes(s.max_chunk_bytes);
  }
  if (s.buffered_samples > 0) os << ", " << s.buffered_samples << " samples buffered";
  os << "\n";
  if (t.values) {
    const ValueStats& v = *t.values;
    os << "  values: ";
    if (v.count > 0) {
      os << "min " << num(v.min) << ", max " << num(v.max) << ", mean " << num(v.mean) << ", std " << num(v.std) << ", ";
    }
    os << v.count << " finite";
    if (v.nan_count > 0) os << ", " << v.nan_count << " NaN";
    if (v.inf_count > 0) os << ", " << v.inf_count << " inf";
    os << "\n";
  }
  if (t.htype == "class_label") {
    os << "  classes (" << t.labels << " labels):";
    size_t shown = 0;
    for (const auto& c : t.class_counts) {
      if (shown == 20) {
        os << " ... (" << t.class_counts.size() - shown << " more)";
        break;
      }
      os << (shown ? ", " : " ") << c.name << " " << c.count;
      ++shown;
    }
    os << "\n";
  }
  if (t.text_lengths && t.text_lengths->count > 0) {
    const LengthStats& l = *t.text_lengths;
    os << "  text length (characters): min " << l.min << ", mean " << num(l.mean);
    for (const auto& [q, v] : l.percentiles) {
      if (q == 50 || q == 95 || q == 99) os << ", p" << q << " " << num(v);
    }
    os << ", max " << l.max << "\n";
  }
}

}  // namespace

std::string summary_to_json(const DatasetSummary& summary, int indent) {
  Json j;
  j["version"] = summary.version;
  j["commit"] = summary.commit;
  j["uncommitted"] = summary.uncommitted;
  j["dataset_rows"] = summary.dataset_rows;
  j["view"] = summary.is_view;
  j["rows"] = summary.rows;
  Json tensors = Json::object();
  for (const auto& t : summary.tensors) tensors[t.name] = tensor_json(t);
  j["tensors"] = tensors;
  return j.dump(indent);
}

std::string summary_to_text(const DatasetSummary& summary) {
  std::ostringstream os;
  os << "Summary of ";
  if (summary.is_view) os << "a view: " << summary.rows << " rows of ";
  os << summary.dataset_rows << " rows at " << (summary.version.empty() ? "an empty history" : summary.version);
  if (!summary.commit.empty() && summary.commit != summary.version) os << " (commit " << summary.commit.substr(0, 12) << ")";
  if (summary.uncommitted) os << " with uncommitted changes";
  os << ", " << summary.tensors.size() << " tensor" << (summary.tensors.size() == 1 ? "" : "s") << "\n";
  for (const auto& t : summary.tensors) write_tensor(os, t);
  return os.str();
}

}  // namespace gtn
