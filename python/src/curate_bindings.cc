// Curation in Python: gtn._core.curate_* behind gtn.curate (python/gtn/curate/).
// Options arrive as keyword arguments already checked for type by gtn.curate; the C++
// library checks their values. Long runs release the GIL.
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>

#include "gtn/curate.h"
#include "module.h"

namespace gtn::py {
namespace {

template <typename T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> to_numpy(std::vector<T> v) {
  auto* heap = new std::vector<T>(std::move(v));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(heap->data(), {heap->size()}, owner);
}

curate::TextNormalization normalization(bool lowercase, bool punctuation, bool whitespace, bool nfkc) {
  curate::TextNormalization n;
  n.lowercase = lowercase;
  n.punctuation = punctuation;
  n.whitespace = whitespace;
  n.nfkc = nfkc;
  return n;
}

template <typename T>
T opt(const nb::dict& d, const char* key) {
  if (!d.contains(key)) throw nb::key_error(key);
  return nb::cast<T>(d[key]);
}

// DedupOptions from the dict gtn.curate builds (python/gtn/curate/dedup.py, _options).
curate::DedupOptions options_from(const nb::dict& d) {
  curate::DedupOptions o;
  o.stages = unwrap(curate::parse_stages(opt<std::string>(d, "method")));
  o.tensor = opt<std::string>(d, "tensor");
  o.exact_tensors = opt<std::vector<std::string>>(d, "exact_tensors");
  o.normalize_exact = opt<bool>(d, "normalize_exact");
  o.threshold = opt<double>(d, "threshold");
  o.ngrams.n = opt<int>(d, "ngram");
  o.ngrams.unit = unwrap(curate::parse_ngram_unit(opt<std::string>(d, "unit")));
  o.ngrams.normalization = normalization(opt<bool>(d, "lowercase"), opt<bool>(d, "punctuation"),
                                         opt<bool>(d, "whitespace"), opt<bool>(d, "nfkc"));
  o.num_perm = opt<int>(d, "num_perm");
  o.lsh = {opt<int>(d, "bands"), opt<int>(d, "rows")};
  o.lsh_target_recall = opt<double>(d, "target_recall");
  o.keep = unwrap(curate::parse_keep_policy(opt<std::string>(d, "keep")));
  o.score_tensor = opt<std::string>(d, "score");
  o.image_hash = unwrap(curate::parse_image_hash_kind(opt<std::string>(d, "image_hash")));
  o.hamming_radius = opt<int>(d, "hamming");
  o.semantic_clusters = opt<int>(d, "clusters");
  o.kmeans_iterations = opt<int>(d, "kmeans_iterations");
  o.seed = opt<uint64_t>(d, "seed");
  o.n_threads = opt<int>(d, "threads");
  o.index_path = opt<std::string>(d, "index");
  o.write_tensors = opt<bool>(d, "write");
  o.allow_empty = opt<bool>(d, "allow_empty");
  o.commit_message = opt<std::string>(d, "commit");
  o.memory_budget_bytes = opt<uint64_t>(d, "memory_bytes");
  o.max_examples = opt<int>(d, "max_examples");
  o.cluster_tensor = opt<std::string>(d, "cluster_tensor");
  o.duplicate_tensor = opt<std::string>(d, "duplicate_tensor");
  o.view_name = opt<std::string>(d, "view_name");
  return o;
}

nb::dict hashes_to_dict(curate::TextRowHashes h) {
  nb::dict out;
  out["begin"] = h.begin;
  out["bands"] = h.bands;
  out["exact"] = to_numpy(std::move(h.exact));
  out["keys"] = to_numpy(std::move(h.keys));
  out["length"] = to_numpy(std::move(h.length));
  out["empty"] = to_numpy(std::move(h.empty));
  return out;
}

template <typename T>
std::vector<T> vector_of(nb::handle obj) {
  auto a = nb::cast<nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>>(obj);
  return std::vector<T>(a.data(), a.data() + a.shape(0));
}

curate::TextRowHashes hashes_from_dict(const nb::dict& d) {
  curate::TextRowHashes h;
  h.begin = nb::cast<uint64_t>(d["begin"]);
  h.bands = nb::cast<int>(d["bands"]);
  h.exact = vector_of<uint64_t>(d["exact"]);
  h.keys = vector_of<uint64_t>(d["keys"]);
  h.length = vector_of<uint64_t>(d["length"]);
  h.empty = vector_of<uint8_t>(d["empty"]);
  return h;
}

// Runs `fn` with the GIL and turns a Python exception into a Status (the executor's
// errors travel back through the C++ pipeline).
template <typename F>
auto with_gil(F&& fn) -> decltype(fn()) {
  nb::gil_scoped_acquire gil;
  try {
    return fn();
  } catch (nb::python_error& e) {
    return Status::InvalidArgument(std::string("the executor failed: ") + e.what());
  } catch (std::exception& e) {
    return Status::InvalidArgument(std::string("the executor failed: ") + e.what());
  }
}

nb::dict run_dedup(nb::handle dataset, nb::dict opts, nb::object progress, nb::object hash_rows, nb::object verify) {
  Dataset& ds = dataset_of(dataset);
  curate::DedupOptions o = options_from(opts);
  if (!progress.is_none()) {
    o.progress = [progress](const std::string& stage, uint64_t done, uint64_t total) {
      nb::gil_scoped_acquire gil;
      progress(stage, done, total);
    };
  }
  if (!hash_rows.is_none()) {
    o.executor.hash_rows = [hash_rows](uint64_t begin, uint64_t end) -> Result<std::vector<curate::TextRowHashes>> {
      return with_gil([&]() -> Result<std::vector<curate::TextRowHashes>> {
        std::vector<curate::TextRowHashes> parts;
        for (nb::handle part : hash_rows(begin, end)) parts.push_back(hashes_from_dict(nb::cast<nb::dict>(part)));
        return parts;
      });
    };
  }
  if (!verify.is_none()) {
    o.executor.verify = [verify](const std::vector<uint64_t>& pairs) -> Result<std::vector<double>> {
      return with_gil([&]() -> Result<std::vector<double>> {
        return vector_of<double>(verify(to_numpy(std::vector<uint64_t>(pairs))));
      });
    };
  }
  const bool write = o.write_tensors || !o.commit_message.empty();
  Result<curate::DedupReport> r = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    r = write ? curate::dedup(ds, o) : curate::find_duplicates(ds, o);
  }
  if (write) dataset_schema_changed(dataset);
  curate::DedupReport rep = unwrap(std::move(r));
  nb::dict out;
  out["json"] = curate::report_json(rep);
  out["text"] = curate::report_text(rep);
  out["cluster_id"] = to_numpy(std::move(rep.cluster_id));
  out["duplicate_of"] = to_numpy(std::move(rep.duplicate_of));
  out["keep_rows"] = to_numpy(std::move(rep.keep_rows));
  return out;
}

nb::dict hash_part(const std::string& path, const std::string& version, nb::dict opts, uint64_t begin, uint64_t end) {
  curate::DedupOptions o = options_from(opts);
  Result<curate::TextRowHashes> r = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    Result<std::unique_ptr<Dataset>> ds = Dataset::Open(path, OpenOptions{.read_only = true, .version = version});
    r = ds.ok() ? curate::hash_text_rows(**ds, o, begin, end) : Result<curate::TextRowHashes>(ds.status());
  }
  return hashes_to_dict(unwrap(std::move(r)));
}

nb::object verify_part(const std::string& path, const std::string& version, nb::dict opts, nb::handle pairs) {
  curate::DedupOptions o = options_from(opts);
  std::vector<uint64_t> p = vector_of<uint64_t>(pairs);
  Result<std::vector<double>> r = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    Result<std::unique_ptr<Dataset>> ds = Dataset::Open(path, OpenOptions{.read_only = true, .version = version});
    r = ds.ok() ? curate::verify_text_pairs(**ds, o, p) : Result<std::vector<double>>(ds.status());
  }
  return nb::cast(to_numpy(unwrap(std::move(r))));
}

void bind(nb::module_& m) {
  m.def("curate_dedup", &run_dedup, nb::arg("dataset"), nb::arg("options"), nb::arg("progress").none(),
        nb::arg("hash_rows").none(), nb::arg("verify").none());
  m.def("curate_hash_part", &hash_part, nb::arg("path"), nb::arg("version"), nb::arg("options"), nb::arg("begin"),
        nb::arg("end"));
  m.def("curate_verify_part", &verify_part, nb::arg("path"), nb::arg("version"), nb::arg("options"), nb::arg("pairs"));
  m.def(
      "curate_normalize_text",
      [](const std::string& text, bool lowercase, bool punctuation, bool whitespace, bool nfkc) {
        return unwrap(curate::normalize_text(text, normalization(lowercase, punctuation, whitespace, nfkc)));
      },
      nb::arg("text"), nb::arg("lowercase") = true, nb::arg("punctuation") = true, nb::arg("whitespace") = true,
      nb::arg("nfkc") = true);
  m.def(
      "curate_ngram_hashes",
      [](const std::string& text, int n, const std::string& unit, bool lowercase, bool punctuation, bool whitespace,
         bool nfkc) {
        curate::NgramOptions o;
        o.n = n;
        o.unit = unwrap(curate::parse_ngram_unit(unit));
        o.normalization = normalization(lowercase, punctuation, whitespace, nfkc);
        return to_numpy(unwrap(curate::ngram_hashes(text, o)));
      },
      nb::arg("text"), nb::arg("n") = 5, nb::arg("unit") = "word", nb::arg("lowercase") = true,
      nb::arg("punctuation") = true, nb::arg("whitespace") = true, nb::arg("nfkc") = true);
  m.def(
      "curate_lsh_params",
      [](double threshold, int num_perm, double target_recall) {
        curate::LshParams p = unwrap(curate::choose_lsh_params(threshold, num_perm, target_recall));
        return nb::make_tuple(p.bands, p.rows, curate::s_curve_text(p, threshold));
      },
      nb::arg("threshold"), nb::arg("num_perm") = 128, nb::arg("target_recall") = 0.99);
  m.def(
      "curate_image_hash",
      [](nb::ndarray<nb::numpy, const uint8_t, nb::c_contig> image, const std::string& kind) {
        Shape shape;
        for (size_t i = 0; i < image.ndim(); ++i) shape.push_back(static_cast<int64_t>(image.shape(i)));
        Array a = unwrap(Array::Copy(DType::kUInt8, shape, image.data(), image.size()));
        return unwrap(curate::image_hash(a, unwrap(curate::parse_image_hash_kind(kind))));
      },
      nb::arg("image"), nb::arg("kind") = "phash");
}

RegisterBinding reg(40, bind);

}  // namespace
}  // namespace gtn::py
