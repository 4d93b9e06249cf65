// The image stage: perceptual hashes of every row, pairs within a Hamming radius.
#include <algorithm>
#include <bit>

#include "gtn/curate/parallel.h"
#include "gtn/curate/stages.h"

namespace gtn::curate {

Result<std::vector<Edge>> image_pairs(const Dataset& ds, size_t tensor_index, const DedupOptions& options, int threads,
                                      uint64_t* compared) {
  GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds.tensor_spec(options.tensor));
  if (spec.htype != "image" || !spec.dtype || *spec.dtype != DType::kUInt8) {
    return Status::InvalidArgument("tensor '" + options.tensor + "' has htype " + spec.htype +
                                   "; the image stage needs an image tensor of uint8");
  }
  const uint64_t n = ds.size();
  std::vector<uint64_t> hashes(n);
  for (uint64_t r = 0; r < n; ++r) {
    GTN_ASSIGN_OR_RETURN(Array img, ds.read(tensor_index, r));
    Result<uint64_t> h = image_hash(img, options.image_hash);
    if (!h.ok()) return h.status().WithContext("tensor '" + options.tensor + "', row " + std::to_string(r));
    hashes[r] = *h;
    if (options.progress && (r % 1024 == 1023 || r + 1 == n)) options.progress("image hash", r + 1, n);
  }
  *compared = n < 2 ? 0 : n * (n - 1) / 2;
  std::vector<std::vector<Edge>> found(static_cast<size_t>(std::max(1, threads)));
  const int radius = options.hamming_radius;
  parallel_for(n, threads, [&](size_t i, size_t worker) {
    const uint64_t hi = hashes[i];
    for (uint64_t j = i + 1; j < n; ++j) {
      int d = std::popcount(hi ^ hashes[j]);
      if (d <= radius) found[worker].push_back({i, j, 1.0 - d / 64.0});
    }
  }, 64);
  std::vector<Edge> edges;
  for (auto& f : found) edges.insert(edges.end(), f.begin(), f.end());
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.a != b.a ? a.a < b.a : a.b < b.b; });
  return edges;
}

}  // namespace gtn::curate
