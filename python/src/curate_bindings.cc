// Curation in Python: gtn._core.curate_* behind gtn.curate (python/gtn/curate/).
// Options arrive as keyword arguments already checked for type by gtn.curate; the C++
// library checks their values. Long runs release the GIL.
#include <nanobind/ndarray.h>
#include <nanobind/stl/function.h>
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

nb::dict run_dedup(nb::handle dataset, const std::string& method, const std::string& tensor,
                   const std::vector<std::string>& exact_tensors, bool normalize_exact, double threshold, int ngram,
                   const std::string& unit, bool lowercase, bool punctuation, bool whitespace, bool nfkc,
                   int num_perm, int bands, int rows, double target_recall, const std::string& keep,
                   const std::string& score, const std::string& image_hash, int hamming, int clusters,
                   int kmeans_iterations, uint64_t seed, int threads, const std::string& index, bool write,
                   bool allow_empty, const std::string& commit, uint64_t memory_bytes, int max_examples,
                   const std::string& cluster_tensor, const std::string& duplicate_tensor, nb::object progress) {
  Dataset& ds = dataset_of(dataset);
  curate::DedupOptions o;
  o.stages = unwrap(curate::parse_stages(method));
  o.tensor = tensor;
  o.exact_tensors = exact_tensors;
  o.normalize_exact = normalize_exact;
  o.threshold = threshold;
  o.ngrams.n = ngram;
  o.ngrams.unit = unwrap(curate::parse_ngram_unit(unit));
  o.ngrams.normalization = normalization(lowercase, punctuation, whitespace, nfkc);
  o.num_perm = num_perm;
  o.lsh = {bands, rows};
  o.lsh_target_recall = target_recall;
  o.keep = unwrap(curate::parse_keep_policy(keep));
  o.score_tensor = score;
  o.image_hash = unwrap(curate::parse_image_hash_kind(image_hash));
  o.hamming_radius = hamming;
  o.semantic_clusters = clusters;
  o.kmeans_iterations = kmeans_iterations;
  o.seed = seed;
  o.n_threads = threads;
  o.index_path = index;
  o.write_tensors = write;
  o.allow_empty = allow_empty;
  o.commit_message = commit;
  o.memory_budget_bytes = memory_bytes;
  o.max_examples = max_examples;
  o.cluster_tensor = cluster_tensor;
  o.duplicate_tensor = duplicate_tensor;
  if (!progress.is_none()) {
    o.progress = [progress](const std::string& stage, uint64_t done, uint64_t total) {
      nb::gil_scoped_acquire gil;
      progress(stage, done, total);
    };
  }
  Result<curate::DedupReport> r = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    r = write || !commit.empty() ? curate::dedup(ds, o) : curate::find_duplicates(ds, o);
  }
  curate::DedupReport rep = unwrap(std::move(r));
  nb::dict out;
  out["json"] = curate::report_json(rep);
  out["text"] = curate::report_text(rep);
  out["cluster_id"] = to_numpy(std::move(rep.cluster_id));
  out["duplicate_of"] = to_numpy(std::move(rep.duplicate_of));
  out["keep_rows"] = to_numpy(std::move(rep.keep_rows));
  return out;
}

void bind(nb::module_& m) {
  m.def("curate_dedup", &run_dedup, nb::arg("dataset"), nb::arg("method"), nb::arg("tensor"),
        nb::arg("exact_tensors"), nb::arg("normalize_exact"), nb::arg("threshold"), nb::arg("ngram"),
        nb::arg("unit"), nb::arg("lowercase"), nb::arg("punctuation"), nb::arg("whitespace"), nb::arg("nfkc"),
        nb::arg("num_perm"), nb::arg("bands"), nb::arg("rows"), nb::arg("target_recall"), nb::arg("keep"),
        nb::arg("score"), nb::arg("image_hash"), nb::arg("hamming"), nb::arg("clusters"),
        nb::arg("kmeans_iterations"), nb::arg("seed"), nb::arg("threads"), nb::arg("index"), nb::arg("write"),
        nb::arg("allow_empty"), nb::arg("commit"), nb::arg("memory_bytes"), nb::arg("max_examples"),
        nb::arg("cluster_tensor"), nb::arg("duplicate_tensor"), nb::arg("progress").none());
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
