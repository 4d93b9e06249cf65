// The CPU kernel of TreeEnsemble: decodes the node once, builds the chosen strategy.
#include "gtn/ml/cpu_kernels.h"
#include "gtn/ml/tree_strategies.h"

namespace gtn::ml {
namespace {

template <typename T>
Result<CpuKernel> build(const TreeEnsembleSpec& spec, const std::string& strategy, TreeIsa isa, TreeIsa walk_isa,
                        DType dt) {
  GTN_ASSIGN_OR_RETURN(auto kernel, make_tree_kernel<T>(spec, strategy, isa, walk_isa));
  std::shared_ptr<const TreeEnsembleKernel<T>> k(std::move(kernel));
  int64_t n_out = spec.n_outputs;
  return CpuKernel([k, n_out, dt](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& X = *in[0];
    int64_t n = X.shape()[0];
    out[0] = Array::Zeros(dt, {n, n_out});
    k->Run(X.data_as<T>(), n, static_cast<T*>(out[0].mutable_data()));
    return Status::OK();
  });
}

Result<CpuKernel> make_tree_ensemble(const NodeContext& ctx, const Options& options, std::vector<std::string>& notes) {
  GTN_ASSIGN_OR_RETURN(TreeEnsembleSpec spec, parse_tree_ensemble(ctx));
  DType dt = ctx.outputs[0].dtype;
  if (ctx.inputs[0].dtype != dt) return Status::Unsupported("X is not of the graph dtype");
  std::string strategy = spec.strategy;
  auto it = options.find("tree_strategy");
  if (it != options.end()) strategy = it->second;
  // tree_isa: the SIMD kernels of the walks (auto = the CPU's best; tests pin each one).
  // Unpinned, the float32 perfect walks take auto_walk_isa() (AVX2 on Intel: tree_simd.h).
  TreeIsa isa = detect_tree_isa(), walk_isa = auto_walk_isa();
  if (auto isa_it = options.find("tree_isa"); isa_it != options.end() && isa_it->second != "auto") {
    std::string error;
    if (!parse_tree_isa(isa_it->second, &isa, &error)) return Status::InvalidArgument(error);
    walk_isa = isa;
  }
  if (dt != DType::kFloat32) walk_isa = isa;
  std::string chosen = strategy == "auto" ? choose_tree_strategy(spec, isa) : strategy;
  TreeIsa shown = chosen == "perfect_interleaved" ? walk_isa : isa;
  bool simd = (shown == TreeIsa::kAvx512 && (chosen == "perfect_interleaved" || chosen == "quickscorer")) ||
              (shown == TreeIsa::kAvx2 && dt == DType::kFloat32 && chosen == "perfect_interleaved");
  notes.push_back(ctx.label + ": tree strategy " + chosen + (strategy == "auto" ? " (auto)" : "") + ", " +
                  std::to_string(spec.n_trees()) + " trees, max depth " + std::to_string(spec.max_depth()) + ", " +
                  std::to_string(spec.n_nodes()) + " nodes" +
                  (simd ? std::string(", ") + tree_isa_name(shown) + (chosen == "quickscorer" ? " bitvectors" : " gathers")
                         : std::string()));
  if (dt == DType::kFloat32) return build<float>(spec, chosen, isa, walk_isa, dt);
  return build<double>(spec, chosen, isa, walk_isa, dt);
}

}  // namespace

void register_cpu_tree_kernels(CpuKernelRegistry& r) { r.Add("TreeEnsemble", make_tree_ensemble); }

}  // namespace gtn::ml
