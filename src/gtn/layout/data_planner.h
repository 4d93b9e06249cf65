// The data-driven planner: per tensor, statistics of sampled rows (sizes, shapes, codec
// ratios and decode times) and the layout of least predicted cost (cost_model.h).
#pragma once

#include <cstdint>

#include "gtn/layout.h"

namespace gtn::layout {

// Statistics of sampled rows of tensor `t` of `dataset` (at most `budget` raw bytes).
Result<TensorStats> sample_tensor(const Dataset& dataset, size_t t, uint64_t budget, uint64_t seed);
TensorStats stats_of(const SampleSet& samples, uint64_t rows);

// The layout of least predicted cost for a tensor with `stats` under `model`, with the
// current layout's cost for comparison.
TensorPlan choose_layout(const TensorSpec& current, const TensorStats& stats, const CostModel& model);

// The data strategy over a dataset.
Result<LayoutPlan> plan_data(const Dataset& dataset, const PlanOptions& options);

std::string human_bytes(double bytes);

}  // namespace gtn::layout
