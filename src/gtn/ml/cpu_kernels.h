// CPU kernels: each op family's optimized kernels (cpu_*.cc) register a factory here.
// An op without a CPU kernel runs its reference kernel through an adapter, so every op
// works on the CPU backend; every registered kernel is tested against the reference.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gtn/ml/backend.h"
#include "gtn/ml/op_registry.h"

namespace gtn::ml {

// Runs one node on one tile: `in` are the node's inputs, `out` receives its outputs.
using CpuKernel = std::function<Status(const std::vector<const Array*>& in, std::vector<Array>& out)>;
// Builds the kernel for one node at compile time; may add lines to `notes` (shown by
// `gtn ml info`, e.g. the tree strategy chosen). Unsupported = use the reference kernel.
using CpuKernelFactory = Result<CpuKernel> (*)(const NodeContext& ctx, const Options& options,
                                               std::vector<std::string>& notes);

class CpuKernelRegistry {
 public:
  static CpuKernelRegistry& Global();
  void Add(const std::string& op, CpuKernelFactory f) { kernels_[op] = f; }
  CpuKernelFactory Find(const std::string& op) const {
    auto it = kernels_.find(op);
    return it == kernels_.end() ? nullptr : it->second;
  }

 private:
  CpuKernelRegistry();
  std::map<std::string, CpuKernelFactory> kernels_;
};

void register_cpu_elementwise_kernels(CpuKernelRegistry& r);
void register_cpu_linalg_kernels(CpuKernelRegistry& r);
void register_cpu_reduce_kernels(CpuKernelRegistry& r);
void register_cpu_shape_kernels(CpuKernelRegistry& r);
void register_cpu_tree_kernels(CpuKernelRegistry& r);
void register_cpu_svm_kernels(CpuKernelRegistry& r);
void register_cpu_svm_kernel_kernels(CpuKernelRegistry& r);
void register_cpu_knn_kernels(CpuKernelRegistry& r);
void register_cpu_tree_categorical_kernels(CpuKernelRegistry& r);

}  // namespace gtn::ml
