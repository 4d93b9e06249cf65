// plan(): the strategies' entry point; LayoutPlan's text, JSON and rechunk forms.
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gtn/layout.h"
#include "gtn/layout/data_planner.h"
#include "gtn/layout/workload_planner.h"

namespace gtn::layout {
namespace {

std::string codec_text(Compression sample, Compression chunk, int level) {
  auto one = [&](Compression c) {
    std::string s(compression_name(c));
    if (c == Compression::kZstd) s += ":" + std::to_string(level ? level : 3);
    return s;
  };
  if (chunk != Compression::kNone) return "chunk " + one(chunk);
  if (sample != Compression::kNone) return "sample " + one(sample);
  return "none";
}

std::string seconds(double s) {
  char buf[32];
  if (s >= 1) std::snprintf(buf, sizeof(buf), "%.2f s", s);
  else if (s >= 1e-3) std::snprintf(buf, sizeof(buf), "%.1f ms", s * 1e3);
  else std::snprintf(buf, sizeof(buf), "%.0f us", s * 1e6);
  return buf;
}

nlohmann::json cost_json(const Cost& c, const CostModel& m) {
  return {{"stored_bytes", c.stored_bytes}, {"raw_bytes", c.raw_bytes}, {"io_s", c.io_s},
          {"decode_s", c.decode_s}, {"overhead_s", c.overhead_s}, {"scan_s", c.scan_s()},
          {"scan_s_per_gb", c.scan_s_per_gb()}, {"random_s", c.random_s}, {"total_s", c.total(m)}};
}

}  // namespace

bool TensorPlan::changes() const {
  return chunk_target_bytes != current.chunk_target_bytes || sample_compression != current.sample_compression ||
         chunk_compression != current.chunk_compression ||
         (compression_level != 0 && compression_level != 3 &&
          (sample_compression == Compression::kZstd || chunk_compression == Compression::kZstd));
}

Result<LayoutPlan> plan(const Dataset& dataset, const PlanOptions& options) {
  for (const auto& name : options.tensors) GTN_RETURN_IF_ERROR(dataset.tensor_index(name).status());
  if (options.strategy == "data" || options.strategy.empty()) return plan_data(dataset, options);
  if (options.strategy == "workload") return plan_workload(dataset, options);
  return Status::InvalidArgument("unknown layout strategy '" + options.strategy + "'; expected data or workload");
}

std::string LayoutPlan::explain() const {
  std::ostringstream o;
  char buf[512];
  o << "layout plan (strategy " << strategy << ")\n";
  std::snprintf(buf, sizeof(buf), "%-14s %-22s %-22s %10s %10s %10s %10s\n", "tensor", "now", "planned",
                "stored", "scan now", "scan plan", "random");
  o << buf;
  for (const auto& p : tensors) {
    std::string now = codec_text(p.current.sample_compression, p.current.chunk_compression, 0) + ", " +
                      human_bytes(static_cast<double>(p.current.chunk_target_bytes));
    std::string planned = codec_text(p.sample_compression, p.chunk_compression, p.compression_level) + ", " +
                          human_bytes(static_cast<double>(p.chunk_target_bytes));
    std::snprintf(buf, sizeof(buf), "%-14s %-22s %-22s %10s %10s %10s %10s\n", p.name.c_str(), now.c_str(),
                  planned.c_str(), human_bytes(p.planned_cost.stored_bytes).c_str(),
                  seconds(p.current_cost.scan_s()).c_str(), seconds(p.planned_cost.scan_s()).c_str(),
                  seconds(p.planned_cost.random_s).c_str());
    o << buf;
    o << "    " << p.why << "\n";
  }
  for (const auto& g : groups) {
    o << "co-located (same rows per chunk):";
    for (const auto& n : g) o << " " << n;
    o << "\n";
  }
  if (!order.empty()) o << "row order: " << order_why << "; old positions kept in '" << order_tensor << "'\n";
  std::snprintf(buf, sizeof(buf),
                "predicted full scan: %s now, %s planned (%.2f s/GB -> %.2f s/GB); random epoch: %s now, %s planned; "
                "stored %s now, %s planned\n",
                seconds(current_cost.scan_s()).c_str(), seconds(planned_cost.scan_s()).c_str(),
                current_cost.scan_s_per_gb(), planned_cost.scan_s_per_gb(), seconds(current_cost.random_s).c_str(),
                seconds(planned_cost.random_s).c_str(), human_bytes(current_cost.stored_bytes).c_str(),
                human_bytes(planned_cost.stored_bytes).c_str());
  o << buf;
  std::snprintf(buf, sizeof(buf), "cost model: read %.2f GB/s, %.0f us per chunk, %.2f us per sample, random weight %.2f\n",
                model.read_bytes_per_s / 1e9, model.chunk_seconds * 1e6, model.sample_seconds * 1e6, model.random_weight);
  o << buf;
  if (!workload.empty()) o << "workload:\n" << workload;
  return o.str();
}

std::string LayoutPlan::to_json() const {
  nlohmann::json j;
  j["strategy"] = strategy;
  j["model"] = {{"read_bytes_per_s", model.read_bytes_per_s}, {"chunk_seconds", model.chunk_seconds},
                {"sample_seconds", model.sample_seconds}, {"page_bytes", model.page_bytes},
                {"random_weight", model.random_weight}};
  j["tensors"] = nlohmann::json::array();
  for (const auto& p : tensors) {
    nlohmann::json codecs = nlohmann::json::array();
    for (const auto& m : p.stats.codecs) {
      codecs.push_back({{"codec", std::string(compression_name(m.codec))}, {"level", m.level}, {"chunk", m.chunk},
                        {"ratio", m.ratio}, {"decode_s_per_byte", m.decode_s_per_byte},
                        {"encode_s_per_byte", m.encode_s_per_byte}});
    }
    j["tensors"].push_back({
        {"name", p.name}, {"htype", p.htype}, {"changes", p.changes()},
        {"current", {{"chunk_bytes", p.current.chunk_target_bytes},
                     {"sample_compression", std::string(compression_name(p.current.sample_compression))},
                     {"chunk_compression", std::string(compression_name(p.current.chunk_compression))}}},
        {"planned", {{"chunk_bytes", p.chunk_target_bytes},
                     {"sample_compression", std::string(compression_name(p.sample_compression))},
                     {"chunk_compression", std::string(compression_name(p.chunk_compression))},
                     {"compression_level", p.compression_level}}},
        {"why", p.why},
        {"stats", {{"rows", p.stats.rows}, {"sampled_rows", p.stats.sampled_rows}, {"mean_bytes", p.stats.mean_bytes},
                   {"p50_bytes", p.stats.p50_bytes}, {"p99_bytes", p.stats.p99_bytes}, {"max_bytes", p.stats.max_bytes},
                   {"fixed_shape", p.stats.fixed_shape}, {"codecs", codecs}}},
        {"current_cost", cost_json(p.current_cost, model)},
        {"planned_cost", cost_json(p.planned_cost, model)}});
  }
  j["groups"] = groups;
  j["reorder"] = !order.empty();
  j["order_tensor"] = order_tensor;
  j["order_why"] = order_why;
  j["current_cost"] = cost_json(current_cost, model);
  j["planned_cost"] = cost_json(planned_cost, model);
  j["workload"] = workload;
  return j.dump(2);
}

RechunkOptions LayoutPlan::to_rechunk_options() const {
  RechunkOptions r;
  for (const auto& p : tensors) {
    if (!p.changes() && order.empty()) continue;
    TensorLayout l;
    l.chunk_target_bytes = p.chunk_target_bytes;
    l.sample_compression = p.sample_compression;
    l.chunk_compression = p.chunk_compression;
    if (p.compression_level) l.compression_level = p.compression_level;
    r.layouts[p.name] = l;
  }
  if (!order.empty()) {
    r.order = order;
    r.order_tensor = order_tensor;
  }
  r.message = "rechunk: " + strategy + " layout plan";
  return r;
}

}  // namespace gtn::layout
