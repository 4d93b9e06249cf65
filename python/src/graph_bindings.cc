// Graph datasets (gtn/graph.h, docs/graph.md): OGB ingest, CSR loading and the neighbour
// sampler; python/gtn/graph.py builds gtn.graph on them. The heavy calls run without the GIL.
#include <nanobind/ndarray.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <filesystem>

#include "gtn/graph.h"
#include "module.h"

namespace gtn::py {
namespace {

using IdArray = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// A numpy array of `a` (a view of its memory; the capsule keeps the memory alive).
nb::object array_to_numpy(Array a) {
  auto* held = new Array(std::move(a));
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<Array*>(p); });
  std::vector<size_t> shape(held->shape().begin(), held->shape().end());
  return nb::cast(nb::ndarray<nb::numpy>(const_cast<void*>(held->data()), shape.size(), shape.data(), owner, nullptr,
                                         dlpack_of(held->dtype())));
}

nb::object vector_to_numpy(std::vector<int64_t> v) {
  auto* held = new std::vector<int64_t>(std::move(v));
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<std::vector<int64_t>*>(p); });
  size_t shape[1] = {held->size()};
  return nb::cast(nb::ndarray<nb::numpy, int64_t>(held->data(), 1, shape, owner));
}

nb::dict ingest_ogb(const std::string& src, const std::string& dst, const std::string& split, bool to_undirected,
                    bool csc, bool int32_ids, uint64_t chunk_bytes, const std::string& chunk_compression,
                    const std::string& message, nb::object progress) {
  graph::OgbIngestOptions o;
  o.split = split;
  o.to_undirected = to_undirected;
  o.csc = csc;
  o.int32_ids = int32_ids;
  o.chunk_target_bytes = chunk_bytes;
  o.chunk_compression = unwrap(parse_compression(chunk_compression));
  o.message = message;
  if (!progress.is_none()) {
    o.progress = [&progress](std::string_view stage, uint64_t done, uint64_t total) {
      nb::gil_scoped_acquire acquire;
      try {
        progress(std::string(stage), done, total);
      } catch (nb::python_error& e) {
        e.discard_as_unraisable("gtn.graph.from_ogb progress callback");
      }
    };
  }
  std::error_code ec;
  const bool existed = std::filesystem::exists(dst, ec);
  Result<graph::OgbIngestReport> report = Status::Internal("not run");
  {
    nb::gil_scoped_release release;
    auto ds = Dataset::Open(dst);
    if (!ds.ok()) {
      report = ds.status();
    } else {
      report = graph::ingest_ogb(src, **ds, o);
      Status closed = (*ds)->close();
      if (report.ok() && !closed.ok()) report = closed;
    }
    if (!report.ok() && !existed) std::filesystem::remove_all(dst, ec);  // leave nothing half-written
  }
  throw_if_error(report.status());
  const graph::OgbIngestReport& r = *report;
  nb::dict d;
  d["nodes"] = r.nodes;
  d["input_edges"] = r.input_edges;
  d["stored_edges"] = r.stored_edges;
  d["features"] = r.features;
  d["edge_features"] = r.edge_features;
  d["classes"] = r.classes;
  d["split"] = r.split;
  d["train"] = r.train;
  d["valid"] = r.valid;
  d["test"] = r.test;
  d["tensors"] = r.tensors;
  d["commit"] = r.commit;
  return d;
}

nb::dict load_csr(nb::handle py_ds, const std::string& neighbors, const std::string& x, const std::string& y,
                  const std::string& split) {
  const Dataset& ds = dataset_of(py_ds);
  graph::LoadOptions o{neighbors, x, y, split};
  Result<graph::GraphArrays> g = Status::Internal("not run");
  {
    nb::gil_scoped_release release;
    g = graph::load_csr(ds, o);
  }
  throw_if_error(g.status());
  nb::dict d;
  d["num_nodes"] = g->num_nodes;
  d["indptr"] = array_to_numpy(std::move(g->indptr));
  d["indices"] = array_to_numpy(std::move(g->indices));
  d["indices_zero_copy"] = g->indices_zero_copy;
  d["x_zero_copy"] = g->x_zero_copy;
  d["x"] = g->x.data() || g->x.ndim() ? array_to_numpy(std::move(g->x)) : nb::none();
  d["y"] = g->y.ndim() ? array_to_numpy(std::move(g->y)) : nb::none();
  d["split"] = g->split.ndim() ? array_to_numpy(std::move(g->split)) : nb::none();
  return d;
}

// A sampler over its own read-only handle of the dataset at `path` (one per process).
class PySampler {
 public:
  PySampler(const std::string& path, const std::string& version, std::vector<int64_t> fanouts,
            const std::string& neighbors, const std::string& x, const std::string& y, bool preload_csr) {
    OpenOptions oo;
    oo.read_only = true;
    oo.version = version;
    graph::SamplerOptions so;
    so.fanouts = std::move(fanouts);
    so.neighbors = neighbors;
    so.x = x;
    so.y = y;
    so.preload_csr = preload_csr;
    Result<std::unique_ptr<graph::NeighborSampler>> s = Status::Internal("not run");
    {
      nb::gil_scoped_release release;
      auto ds = Dataset::Open(path, oo);
      if (!ds.ok()) {
        s = ds.status();
      } else {
        std::shared_ptr<const Dataset> shared(std::move(*ds));
        s = graph::NeighborSampler::Make(shared, so);
      }
    }
    sampler_ = unwrap(std::move(s));
  }

  uint64_t num_nodes() const { return sampler_->num_nodes(); }

  nb::dict sample(IdArray seeds, uint64_t rng_seed) const {
    std::vector<int64_t> ids(seeds.data(), seeds.data() + seeds.shape(0));
    Result<graph::SampledBatch> r = Status::Internal("not run");
    {
      nb::gil_scoped_release release;
      r = sampler_->sample(ids, rng_seed);
    }
    throw_if_error(r.status());
    graph::SampledBatch& b = *r;
    nb::dict d;
    d["n_id"] = vector_to_numpy(std::move(b.n_id));
    d["hop_nodes"] = std::vector<uint64_t>(b.hop_nodes);
    nb::list blocks;
    for (graph::Block& blk : b.blocks) {
      nb::dict bd;
      bd["num_dst"] = blk.num_dst;
      bd["num_src"] = blk.num_src;
      bd["indptr"] = vector_to_numpy(std::move(blk.indptr));
      bd["indices"] = vector_to_numpy(std::move(blk.indices));
      blocks.append(bd);
    }
    d["blocks"] = blocks;
    d["x"] = b.x.ndim() ? array_to_numpy(std::move(b.x)) : nb::none();
    d["y"] = b.y.ndim() ? array_to_numpy(std::move(b.y)) : nb::none();
    return d;
  }

 private:
  std::unique_ptr<graph::NeighborSampler> sampler_;
};

void bind(nb::module_& m) {
  m.def("_graph_ingest_ogb", &ingest_ogb, nb::arg("src"), nb::arg("dst"), nb::arg("split") = "",
        nb::arg("to_undirected") = false, nb::arg("csc") = false, nb::arg("int32_ids") = false,
        nb::arg("chunk_bytes") = 8ull << 20, nb::arg("chunk_compression") = "none", nb::arg("message") = "",
        nb::arg("progress") = nb::none());
  m.def("_graph_load_csr", &load_csr, nb::arg("ds"), nb::arg("neighbors") = "neighbors", nb::arg("x") = "x",
        nb::arg("y") = "y", nb::arg("split") = "split");
  nb::class_<PySampler>(m, "_NeighborSampler")
      .def(nb::init<const std::string&, const std::string&, std::vector<int64_t>, const std::string&,
                    const std::string&, const std::string&, bool>(),
           nb::arg("path"), nb::arg("version"), nb::arg("fanouts"), nb::arg("neighbors"), nb::arg("x"), nb::arg("y"),
           nb::arg("preload_csr"))
      .def_prop_ro("num_nodes", &PySampler::num_nodes)
      .def("sample", &PySampler::sample, nb::arg("seeds"), nb::arg("rng_seed"));
}

RegisterBinding registered(60, bind);

}  // namespace
}  // namespace gtn::py
