// The workload-driven planner: the data planner's measurements weighted by what an access
// trace says (random vs sequential, batch sizes, readers), chunk sizes for the observed
// batches, co-location of tensors read together, and a row order for locality (graph
// neighbourhoods, classes read together). docs/layout.md, "Workload strategy".
#include "gtn/layout/workload_planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "gtn/layout/cost_model.h"
#include "gtn/layout/data_planner.h"

namespace gtn::layout {
namespace {

uint64_t round_chunk(double bytes) {
  return static_cast<uint64_t>(std::clamp(bytes, 64.0 * 1024, 64.0 * kMiB));
}

}  // namespace

Result<LayoutPlan> plan_workload(const Dataset& dataset, const PlanOptions& options) {
  if (!options.trace) {
    return Status::InvalidArgument("the workload strategy needs an access trace (record one with ds.trace(), "
                                   "gtn trace or $GTN_TRACE)");
  }
  TraceSummary sum = options.trace->summarize(&dataset);
  if (sum.calls == 0) {
    return Status::InvalidArgument("the access trace is empty: it recorded no reads of this dataset");
  }
  std::set<std::string> known;
  for (const auto& n : dataset.tensor_names()) known.insert(n);
  std::vector<std::string> traced;
  for (const auto& [name, rows] : sum.tensor_rows) {
    if (known.count(name)) traced.push_back(name);
  }
  if (traced.empty()) {
    return Status::InvalidArgument("the access trace names none of this dataset's tensors (it read: " +
                                   [&] {
                                     std::string s;
                                     for (const auto& [n, r] : sum.tensor_rows) s += (s.empty() ? "" : ", ") + n;
                                     return s;
                                   }() + ")");
  }

  // The workload's weights: random single-row reads against sequential scans.
  CostModel model = options.model;
  const double seq = sum.sequential_fraction;
  const bool sequential = seq >= 0.5 || sum.contiguous_fraction >= 0.5;
  model.random_weight = std::clamp((1 - seq) / std::max(seq, 0.01), 0.05, 20.0);
  const double readers = static_cast<double>(std::max<uint64_t>(sum.max_concurrent_readers, 1));
  model.scan_threads = static_cast<unsigned>(std::max(readers, static_cast<double>(scan_threads(options.model))));

  PlanOptions data_opt = options;
  data_opt.tensors = options.tensors.empty() ? traced : options.tensors;
  data_opt.model = model;
  GTN_ASSIGN_OR_RETURN(LayoutPlan plan, plan_data(dataset, data_opt));
  plan.strategy = "workload";
  plan.model = model;
  plan.workload = sum.to_string();

  // Co-location: the most frequent set of tensors read together shares rows per chunk.
  std::vector<std::string> group;
  if (!sum.read_together.empty() && sum.read_together[0].first.size() > 1) {
    for (const auto& n : sum.read_together[0].first) {
      if (known.count(n)) group.push_back(n);
    }
  }
  if (group.size() > 1) plan.groups.push_back(group);

  // Chunk sizes for the batches and readers seen.
  const double batch = std::max(1.0, static_cast<double>(sum.batch_p50));
  auto rows_per_chunk_for = [&](double row_bytes) {
    if (sequential) {
      // A multiple of the batch near 16 MiB, so that each reader's batch lies in one chunk
      // and readers work on different chunks.
      double per = std::max(1.0, std::round(16.0 * kMiB / std::max(batch * row_bytes, 1.0)));
      double rows = static_cast<double>(dataset.size());
      double cap = std::max(1.0, std::floor(rows / (batch * readers)));  // at least one chunk per reader
      return batch * std::min(per, cap);
    }
    // Random gathers: chunks of ~2 MiB, so a gather touches little beyond its rows.
    return std::max(1.0, std::round(2.0 * kMiB / std::max(row_bytes, 1.0)));
  };
  double group_row_bytes = 0;
  for (const auto& p : plan.tensors) {
    if (std::find(group.begin(), group.end(), p.name) != group.end()) group_row_bytes = std::max(group_row_bytes, p.stats.mean_bytes);
  }
  double group_rows = group.size() > 1 ? rows_per_chunk_for(group_row_bytes) : 0;
  char buf[512];
  for (auto& p : plan.tensors) {
    if (p.stats.mean_bytes > 16.0 * kMiB) continue;  // huge samples keep the data plan's tiling
    bool grouped = std::find(group.begin(), group.end(), p.name) != group.end() && group.size() > 1;
    double rows = grouped ? group_rows : rows_per_chunk_for(p.stats.mean_bytes);
    double stored_row = p.stats.mean_bytes;
    if (p.chunk_compression == Compression::kNone && p.sample_compression != Compression::kNone) {
      auto m = measure_for(p.stats, Candidate{p.sample_compression, Compression::kNone, p.compression_level, 0});
      if (m) stored_row *= m->ratio;
    }
    p.chunk_target_bytes = round_chunk(rows * stored_row);
    p.planned_cost = predict(p.stats, Candidate{p.sample_compression, p.chunk_compression, p.compression_level,
                                                p.chunk_target_bytes}, model);
    std::snprintf(buf, sizeof(buf), " Workload: %s reads, batches of %.0f rows, %.0f reader(s): %s chunks of ~%.0f rows%s.",
                  sequential ? "sequential" : "random", batch, readers,
                  human_bytes(static_cast<double>(p.chunk_target_bytes)).c_str(), rows,
                  grouped ? " (row boundaries shared with the tensors read with it)" : "");
    p.why += buf;
  }
  plan.current_cost = Cost{};
  plan.planned_cost = Cost{};
  for (const auto& p : plan.tensors) {
    plan.current_cost += p.current_cost;
    plan.planned_cost += p.planned_cost;
  }

  // Row order for locality.
  if (options.reorder && dataset.size() > 1) {
    std::string graph_tensor;
    for (const auto& n : dataset.tensor_names()) {
      auto spec = dataset.tensor_spec(n);
      if (spec.ok() && spec->htype == "neighbors") {
        graph_tensor = n;
        break;
      }
    }
    auto gl = sum.graph_locality.find(graph_tensor);
    bool graph_local = !graph_tensor.empty() && !sequential &&
                       (gl == sum.graph_locality.end() || gl->second.first > 1.5 * gl->second.second + 0.01);
    if (graph_local) {
      GTN_ASSIGN_OR_RETURN(Csr g, read_csr(dataset, graph_tensor));
      std::vector<uint64_t> identity(g.rows());
      for (uint64_t i = 0; i < identity.size(); ++i) identity[i] = i;
      // Reverse Cuthill-McKee and a community (label propagation) order: the one that puts
      // neighbours closest, when it beats the current order by 20 % or more.
      std::vector<uint64_t> rcm = reverse_cuthill_mckee(g);
      std::vector<uint64_t> communities = community_order(g, options.seed);
      double before = mean_edge_distance(g, identity);
      double d_rcm = mean_edge_distance(g, rcm), d_com = mean_edge_distance(g, communities);
      bool use_rcm = d_rcm <= d_com;
      double after = use_rcm ? d_rcm : d_com;
      if (after < 0.8 * before) {
        plan.order = use_rcm ? std::move(rcm) : std::move(communities);
        std::snprintf(buf, sizeof(buf), "%s over '%s': the workload reads graph neighbourhoods "
                      "(%.0f %% of a batch's rows have a neighbour in it, %.0f %% for random rows); the mean distance "
                      "between neighbours' rows drops from %.0f to %.0f rows (reverse Cuthill-McKee: %.0f, communities: %.0f)",
                      use_rcm ? "reverse Cuthill-McKee" : "communities (label propagation)", graph_tensor.c_str(),
                      gl != sum.graph_locality.end() ? gl->second.first * 100 : 0.0,
                      gl != sum.graph_locality.end() ? gl->second.second * 100 : 0.0, before, after, d_rcm, d_com);
        plan.order_why = buf;
      }
    } else {
      for (const auto& [name, share] : sum.class_locality) {
        if (share.first < share.second + 0.2 || sequential) continue;
        GTN_ASSIGN_OR_RETURN(size_t t, dataset.tensor_index(name));
        std::vector<int64_t> labels(dataset.size());
        for (uint64_t i = 0; i < labels.size(); ++i) {
          GTN_ASSIGN_OR_RETURN(Array a, dataset.read(t, i));
          labels[i] = a.numel() ? (a.dtype() == DType::kInt32 ? a.data_as<int32_t>()[0] : a.data_as<int64_t>()[0]) : -1;
        }
        plan.order = order_by_class(labels);
        std::snprintf(buf, sizeof(buf), "by class of '%s': batches hold one class more than chance (%.0f %% of a batch "
                      "shares its top class, %.0f %% for random rows)", name.c_str(), share.first * 100, share.second * 100);
        plan.order_why = buf;
        break;
      }
    }
    if (!plan.order.empty()) plan.order_tensor = options.order_tensor;
  }
  return plan;
}

}  // namespace gtn::layout
