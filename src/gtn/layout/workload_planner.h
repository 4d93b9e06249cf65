// The workload-driven planner (workload_planner.cc).
#pragma once

#include "gtn/layout.h"

namespace gtn::layout {

Result<LayoutPlan> plan_workload(const Dataset& dataset, const PlanOptions& options);

}  // namespace gtn::layout
