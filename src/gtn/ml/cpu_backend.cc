// The CPU executor. Compile: optimization passes, then one kernel per node (the op's CPU
// kernel, or its reference kernel through an adapter). Run: when every node of a method is
// row-local, X is cut into row tiles that run through the whole graph on the thread pool
// (intermediates of one tile stay in cache); otherwise the graph runs once on all rows.
// A tile casts its own rows to the graph dtype and copies its outputs into the batch's
// outputs while they are still in cache, so each byte of X and of the outputs crosses
// memory once.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include "gtn/ml/blas.h"

#include "gtn/ml/cpu_kernels.h"
#include "gtn/ml/passes.h"
#include "gtn/ml/thread_pool.h"

namespace gtn::ml {

CpuKernelRegistry& CpuKernelRegistry::Global() {
  static CpuKernelRegistry r;
  return r;
}

CpuKernelRegistry::CpuKernelRegistry() {
  register_cpu_elementwise_kernels(*this);
  register_cpu_linalg_kernels(*this);
  register_cpu_reduce_kernels(*this);
  register_cpu_shape_kernels(*this);
  register_cpu_tree_kernels(*this);
  register_cpu_svm_kernels(*this);
  register_cpu_svm_kernel_kernels(*this);
  register_cpu_knn_kernels(*this);
  register_cpu_tree_categorical_kernels(*this);
}

namespace {

Array cast_constant(const Array& a, DType graph_dtype) {
  DType dt = runtime_dtype(a.dtype(), graph_dtype);
  if (dt == a.dtype()) return a;
  RTensor t = to_rtensor(a);
  t.dtype = dt;
  for (double& v : t.v) v = round_to_dtype(v, dt);
  return from_rtensor(t);
}

CpuKernel reference_adapter(RefKernel k) {
  return [k = std::move(k)](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    std::vector<RTensor> rin;
    rin.reserve(in.size());
    for (const Array* a : in) rin.push_back(to_rtensor(*a));
    std::vector<const RTensor*> ptrs;
    for (const auto& t : rin) ptrs.push_back(&t);
    std::vector<RTensor> rout(out.size());
    GTN_RETURN_IF_ERROR(k(ptrs, rout));
    for (size_t i = 0; i < out.size(); ++i) out[i] = from_rtensor(rout[i]);
    return Status::OK();
  };
}

// A row range of a 2-d+ array, without copying.
Array row_slice(const Array& x, int64_t begin, int64_t end) {
  Shape s = x.shape();
  int64_t row_bytes = s[0] ? static_cast<int64_t>(x.nbytes()) / s[0] : 0;
  s[0] = end - begin;
  return *Array::View(x.dtype(), s, static_cast<const char*>(x.data()) + begin * row_bytes,
                      static_cast<size_t>((end - begin) * row_bytes), x.owner());
}

// The casts, compiled for AVX2 as well as the baseline and picked at load time.
#if defined(__x86_64__)
#define GTN_CAST_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GTN_CAST_CLONES
#endif
GTN_CAST_CLONES void cast_f64_f32(const double* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
}
GTN_CAST_CLONES void cast_f32_f64(const float* s, double* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = s[i];
}

// X (float32 or float64) in `dt`.
Array cast_float(const Array& x, DType dt) {
  if (x.dtype() == dt) return x;
  Array out = Array::Empty(dt, x.shape());
  if (dt == DType::kFloat32) cast_f64_f32(x.data_as<double>(), static_cast<float*>(out.mutable_data()), x.numel());
  else cast_f32_f64(x.data_as<float>(), static_cast<double*>(out.mutable_data()), x.numel());
  return out;
}

struct Step {
  std::vector<int> in, out;  // value slots
  CpuKernel kernel;
  std::string label;
};

struct MethodPlan {
  std::vector<size_t> steps;  // indices into steps_
  std::vector<int> outputs;   // value slots
  bool tiled = false;
};

class CpuExecutable : public Executable {
 public:
  Status Init(const Graph& original, const Options& options) {
    GTN_ASSIGN_OR_RETURN(graph_, optimize_graph(original, options, notes_));
    GTN_ASSIGN_OR_RETURN(auto types, validate_graph(graph_));
    auto slot_of = [&](const std::string& name) {
      auto it = slots_.find(name);
      if (it != slots_.end()) return it->second;
      int s = static_cast<int>(slots_.size());
      slots_[name] = s;
      return s;
    };
    input_slot_ = slot_of(graph_.inputs[0].name);
    for (const auto& [name, a] : graph_.constants) constants_.push_back({slot_of(name), cast_constant(a, graph_.dtype)});
    const CpuKernelRegistry& cpu = CpuKernelRegistry::Global();
    int64_t row_bytes = 0;
    double row_work = 0;  // multiply-adds per row of the ops that scan a constant matrix
    std::vector<bool> row_local(graph_.nodes.size(), true);
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      const Node& n = graph_.nodes[i];
      NodeContext ctx;
      ctx.node = &n;
      ctx.label = node_label(graph_, i);
      ctx.graph_dtype = graph_.dtype;
      ctx.graph_constants = &graph_.constants;
      std::vector<bool> batched;
      for (const auto& in : n.inputs) {
        ctx.inputs.push_back(types.at(in));
        auto c = graph_.constants.find(in);
        ctx.constants.push_back(c == graph_.constants.end() ? nullptr : &c->second);
        const Shape& s = types.at(in).shape;
        batched.push_back(!s.empty() && s[0] == -1);
      }
      for (const auto& o : n.outputs) {
        ctx.outputs.push_back(types.at(o));
        int64_t per_row = static_cast<int64_t>(dtype_size(types.at(o).dtype));
        const Shape& s = types.at(o).shape;
        for (size_t d = 1; d < s.size(); ++d) per_row *= std::max<int64_t>(s[d], 1);
        row_bytes += per_row;
      }
      if (n.op == "KNearest" || n.op == "SquaredDistance" || n.op == "SvmKernel" || n.op == "MatMul" ||
          n.op == "Gemm") {
        double most = 0;  // the largest constant operand: the rows every input row meets
        for (const Array* c : ctx.constants) {
          if (c) most = std::max(most, static_cast<double>(c->numel()));
        }
        row_work += most;
      }
      const OpSchema* op = OpRegistry::Global().Find(n.op);
      if (op->row_local) row_local[i] = op->row_local(ctx, batched);
      Step step;
      step.label = ctx.label;
      for (const auto& in : n.inputs) step.in.push_back(slot_of(in));
      for (const auto& o : n.outputs) step.out.push_back(slot_of(o));
      bool have = false;
      if (CpuKernelFactory f = cpu.Find(n.op)) {
        auto k = f(ctx, options, notes_);
        if (k.ok()) {
          step.kernel = std::move(*k);
          have = true;
        } else if (k.status().code() != StatusCode::kUnsupported) {
          return k.status();
        }
      }
      if (!have) {
        GTN_ASSIGN_OR_RETURN(RefKernel rk, op->reference(ctx));
        step.kernel = reference_adapter(std::move(rk));
        fallback_ops_.insert(n.op);
      }
      steps_.push_back(std::move(step));
    }
    n_slots_ = static_cast<int>(slots_.size());
    auto it = options.find("tile_rows");
    if (it != options.end()) {
      tile_rows_ = std::stoll(it->second);
    } else {
      // Aim for the intermediates of one tile to fit in ~512 KiB of cache, but keep at
      // least 64 rows so that GEMMs stay efficient.
      tile_rows_ = std::clamp<int64_t>((512 << 10) / std::max<int64_t>(row_bytes, 1), 64, 8192);
    }
    {
      // Rows that each meet a large constant matrix (k-NN's reference rows, an SVC's support
      // vectors: 10^4 to 10^5 multiply-adds a row and more) are worth spreading over the
      // threads even when the batch fits one tile.
      constexpr double kHeavyRow = 20000;
      heavy_rows_ = row_work >= kHeavyRow;
    }
    for (const auto& [m, outs] : graph_.outputs) {
      MethodPlan p;
      p.steps = needed_nodes(graph_, outs);
      p.tiled = true;
      for (size_t i : p.steps) p.tiled &= row_local[i];
      for (const auto& o : outs) {
        p.outputs.push_back(slot_of(o));
        const Shape& s = types.at(o).shape;
        p.tiled &= !s.empty() && s[0] == -1;
      }
      plans_[m] = std::move(p);
    }
    n_slots_ = static_cast<int>(slots_.size());
    return Status::OK();
  }

  Result<std::vector<Array>> RunOnce(const MethodPlan& p, const Array& X) const {
    std::vector<Array> values(static_cast<size_t>(n_slots_));
    for (const auto& [slot, a] : constants_) values[slot] = a;
    values[input_slot_] = X;
    std::vector<const Array*> in;
    std::vector<Array> out;
    for (size_t i : p.steps) {
      const Step& s = steps_[i];
      in.clear();
      for (int k : s.in) in.push_back(&values[k]);
      out.assign(s.out.size(), Array());
      Status st = s.kernel(in, out);
      if (!st.ok()) return st.WithContext(s.label);
      for (size_t k = 0; k < s.out.size(); ++k) values[s.out[k]] = std::move(out[k]);
    }
    std::vector<Array> result;
    for (int o : p.outputs) result.push_back(values[o]);
    return result;
  }

  Result<std::vector<Array>> Run(const std::string& method, const Array& X, int n_threads,
                                 const InputCheck& check) const override {
    const MethodPlan& p = plans_.at(method);
    int64_t n = X.shape()[0];
    ThreadPool& pool = ThreadPool::Global();
    int threads = n_threads > 0 ? n_threads : pool.max_threads();
    // A batch of more than one tile is cut into a whole multiple of the thread count, so
    // that no thread runs one tile more than the others.
    int64_t n_tiles = (n + tile_rows_ - 1) / tile_rows_;
    constexpr int64_t kMinTileRows = 64;
    if (threads > 1 && n_tiles == 1 && heavy_rows_) n_tiles = std::min<int64_t>(threads, n / kMinTileRows);
    if (threads > 1 && n_tiles > 1) {
      int64_t balanced = (n_tiles + threads - 1) / threads * threads;
      n_tiles = std::max(n_tiles, std::min(balanced, n / kMinTileRows));
    }
    if (!p.tiled || n_tiles <= 1) {
      if (check) GTN_RETURN_IF_ERROR(check(X, 0));
      return RunOnce(p, cast_float(X, graph_.dtype));
    }
    int64_t tile = (n + n_tiles - 1) / n_tiles;
    n_tiles = (n + tile - 1) / tile;
    // The batch's outputs are allocated by the first tile to finish (their row shape and
    // dtype are the tile's); every tile copies its rows in while they are hot in cache.
    std::mutex mu;
    std::vector<Array> result;
    std::vector<Status> errors(static_cast<size_t>(n_tiles));
    pool.ParallelFor(n_tiles, threads, [&](int64_t t) {
      int64_t b = t * tile, e = std::min(n, b + tile);
      Array rows = row_slice(X, b, e);
      if (check) {
        Status st = check(rows, b);
        if (!st.ok()) {
          errors[t] = st;
          return;
        }
      }
      auto r = RunOnce(p, cast_float(rows, graph_.dtype));
      if (!r.ok()) {
        errors[t] = r.status();
        return;
      }
      std::vector<char*> dst(r->size());
      {
        std::lock_guard<std::mutex> lock(mu);
        if (result.empty()) {
          for (const Array& a : *r) {
            Shape s = a.shape();
            if (s.empty()) s.push_back(0);
            s[0] = n;
            result.push_back(Array::Empty(a.dtype(), s));  // every tile copies its rows in
          }
        }
        for (size_t k = 0; k < r->size(); ++k) {
          const Array& a = (*r)[k];
          const Array& o = result[k];
          bool same = a.dtype() == o.dtype() && a.ndim() == o.ndim() && a.ndim() > 0 && a.shape()[0] == e - b &&
                      std::equal(a.shape().begin() + 1, a.shape().end(), o.shape().begin() + 1);
          if (!same) {
            errors[t] = Status::Internal("tile " + std::to_string(t) + " output " + std::to_string(k) + " has shape " +
                                         shape_to_string(a.shape()) + ", not rows of " + shape_to_string(o.shape()));
            return;
          }
          dst[k] = static_cast<char*>(result[k].mutable_data());
        }
      }
      for (size_t k = 0; k < r->size(); ++k) {
        const Array& a = (*r)[k];
        size_t row_bytes = a.nbytes() / static_cast<size_t>(e - b);
        if (a.nbytes()) std::memcpy(dst[k] + static_cast<size_t>(b) * row_bytes, a.data(), a.nbytes());
      }
    });
    for (const auto& e : errors)
      if (!e.ok()) return e;
    return result;
  }

  bool CastsInput() const override { return true; }

  std::vector<std::string> Describe() const override {
    std::vector<std::string> lines = notes_;
    lines.push_back("BLAS: " + blas_info());
    lines.push_back("tile rows: " + std::to_string(tile_rows_));
    for (const auto& [m, p] : plans_)
      lines.push_back("method " + m + ": " + std::to_string(p.steps.size()) + " kernels, " +
                      (p.tiled ? "row-tiled on the thread pool" : "whole batch, one thread"));
    if (!fallback_ops_.empty()) {
      std::string s = "ops on reference kernels:";
      for (const auto& op : fallback_ops_) s += " " + op;
      lines.push_back(s);
    }
    return lines;
  }

 private:
  Graph graph_;
  std::vector<std::string> notes_;
  std::map<std::string, int> slots_;
  int n_slots_ = 0;
  int input_slot_ = 0;
  std::vector<std::pair<int, Array>> constants_;
  std::vector<Step> steps_;
  std::map<std::string, MethodPlan> plans_;
  std::set<std::string> fallback_ops_;
  int64_t tile_rows_ = 1024;
  bool heavy_rows_ = false;  // rows costly enough to split a one-tile batch over the threads
};

class CpuBackend : public Backend {
 public:
  CpuBackend() { openblas_set_num_threads(1); }
  std::string name() const override { return "cpu"; }
  Result<std::unique_ptr<Executable>> Compile(const Graph& g, const std::map<std::string, ValueInfo>&,
                                              const Options& options) const override {
    auto exe = std::make_unique<CpuExecutable>();
    GTN_RETURN_IF_ERROR(exe->Init(g, options));
    return std::unique_ptr<Executable>(std::move(exe));
  }
};

}  // namespace

const Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

}  // namespace gtn::ml
