// NeighborSampler: GraphSAGE-style mini-batch neighbour sampling over a graph dataset.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "gtn/access_trace.h"
#include "gtn/graph.h"

namespace gtn::graph {

namespace {

// splitmix64: small, fast, and every seed gives a full-quality stream.
struct Rng {
  uint64_t state;
  // The seed goes through the finalizer twice, so that nearby seeds start far apart in the
  // sequence (state = seed * constant would make seed s + 1 the stream of s shifted by one).
  explicit Rng(uint64_t seed) : state(mix(mix(seed) ^ 0x2545F4914F6CDD1Dull)) {}
  static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t next() { return mix(state += 0x9E3779B97F4A7C15ull); }
  // Uniform in [0, bound) (Lemire's multiply-shift; bias below 2^-40 for any degree).
  uint64_t below(uint64_t bound) { return static_cast<uint64_t>((static_cast<__uint128_t>(next()) * bound) >> 64); }
};

// `k` distinct positions of [0, n), uniformly (Floyd's algorithm), sorted.
void choose(Rng& rng, uint64_t n, uint64_t k, std::vector<uint64_t>& out) {
  out.clear();
  for (uint64_t j = n - k; j < n; ++j) {
    uint64_t t = rng.below(j + 1);
    if (std::find(out.begin(), out.end(), t) != out.end()) t = j;
    out.push_back(t);
  }
  std::sort(out.begin(), out.end());
}

class SamplerImpl final : public NeighborSampler {
 public:
  SamplerImpl(std::shared_ptr<const Dataset> ds, SamplerOptions options)
      : ds_(std::move(ds)), options_(std::move(options)), n_(ds_->size()) {}

  Status init() {
    if (options_.fanouts.empty()) return Status::InvalidArgument("fanouts: give at least one hop, e.g. [15, 10, 5]");
    for (int64_t f : options_.fanouts) {
      if (f == 0 || f < -1) {
        return Status::InvalidArgument("fanouts: " + std::to_string(f) + " is not a fanout (> 0, or -1 for all)");
      }
    }
    GTN_ASSIGN_OR_RETURN(nbr_index_, ds_->tensor_index(options_.neighbors));
    GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds_->tensor_spec(options_.neighbors));
    if (spec.htype != "neighbors") {
      return Status::InvalidArgument("tensor '" + options_.neighbors + "' has htype '" + spec.htype +
                                     "'; sampling reads a tensor of htype 'neighbors'");
    }
    id_type_ = spec.dtype.value_or(DType::kInt64);
    nbr_decoded_ = spec.chunk_compression != Compression::kNone || spec.sample_compression != Compression::kNone;
    GTN_ASSIGN_OR_RETURN(std::vector<ChunkSpan> spans, ds_->chunk_spans(nbr_index_));
    for (const ChunkSpan& sp : spans) {
      if (sp.begin < n_) span_begin_.push_back(sp.begin);
    }
    if (span_begin_.empty() || span_begin_[0] != 0) span_begin_.insert(span_begin_.begin(), 0);
    if (!options_.x.empty()) GTN_RETURN_IF_ERROR(init_rows(options_.x, x_));
    if (!options_.y.empty()) GTN_RETURN_IF_ERROR(init_rows(options_.y, y_));
    if (options_.preload_csr) {
      LoadOptions lo;
      lo.neighbors = options_.neighbors;
      lo.x = lo.y = lo.split = "";
      GTN_ASSIGN_OR_RETURN(GraphArrays g, load_csr(*ds_, lo));
      csr_ = std::move(g);
    }
    return Status::OK();
  }

  uint64_t num_nodes() const override { return n_; }

  Result<SampledBatch> sample(const std::vector<int64_t>& seeds, uint64_t rng_seed) const override {
    AccessTrace::CallScope batch;  // one batch is one call in an access trace
    // The rows this batch uses are recorded here; the chunk reads that serve them are
    // nested in this recorder and record nothing themselves.
    std::shared_ptr<AccessTrace> trace = ds_->access_trace();
    Recording rec(trace.get());
    if (trace) {
      rec.nbr = trace->tensor_id(options_.neighbors);
      if (x_.present) rec.x = trace->tensor_id(options_.x);
      if (y_.present) rec.y = trace->tensor_id(options_.y);
    }
    SampledBatch out;
    std::vector<int64_t> local = take_marks();
    Status s = run(seeds, rng_seed, local, out, rec);
    for (int64_t v : out.n_id) {
      if (v >= 0 && static_cast<uint64_t>(v) < n_) local[v] = -1;
    }
    give_marks(std::move(local));
    if (!s.ok()) return s;
    return out;
  }

 private:
  struct Rows {
    bool present = false;
    size_t index = 0;
    DType dtype = DType::kFloat32;
    Shape shape;
    size_t row_bytes = 0;
  };

  Status init_rows(const std::string& name, Rows& r) {
    auto ti = ds_->tensor_index(name);
    if (!ti.ok()) return Status::OK();  // absent: nothing gathered
    r.present = true;
    r.index = *ti;
    GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds_->tensor_spec(name));
    r.dtype = spec.dtype.value_or(DType::kFloat32);
    if (n_ > 0) {
      GTN_ASSIGN_OR_RETURN(r.shape, ds_->sample_shape(r.index, 0));
    }
    r.row_bytes = static_cast<size_t>(shape_numel(r.shape)) * dtype_size(r.dtype);
    return Status::OK();
  }

  std::vector<int64_t> take_marks() const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        std::vector<int64_t> v = std::move(pool_.back());
        pool_.pop_back();
        return v;
      }
    }
    return std::vector<int64_t>(n_, -1);
  }
  void give_marks(std::vector<int64_t> v) const {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(std::move(v));
  }

  struct Recording {
    explicit Recording(AccessTrace* trace) : rec(trace) {}
    AccessTrace::Recorder rec;
    uint32_t nbr = 0, x = 0, y = 0;
  };

  // The stored rows of the neighbors tensor's chunks that one batch has read: each chunk
  // is read once per batch (views of uncompressed chunks, decoded once from compressed
  // ones), not once per node.
  struct ChunkRows {
    uint64_t begin = 0;
    Dataset::BytesRows rows;
  };
  struct BatchChunks {
    std::vector<ChunkRows> chunk;  // by index into span_begin_
    size_t held = 0;               // bytes held, about
  };

  // The neighbour ids of node v as int64.
  Status neighbours(int64_t v, std::vector<int64_t>& ids, BatchChunks& chunks, Recording& rec) const {
    ids.clear();
    const void* data;
    int64_t deg;
    if (csr_) {
      const int64_t* indptr = csr_->indptr.data_as<int64_t>();
      deg = indptr[v + 1] - indptr[v];
      data = static_cast<const char*>(csr_->indices.data()) + indptr[v] * dtype_size(id_type_);
    } else {
      const uint64_t u = static_cast<uint64_t>(v);
      const size_t c = static_cast<size_t>(std::upper_bound(span_begin_.begin(), span_begin_.end(), u) -
                                           span_begin_.begin()) - 1;
      ChunkRows& cr = chunks.chunk[c];
      if (u < cr.begin || u >= cr.begin + cr.rows.items.size()) {
        // The whole span on first use; where the store serves a row at a time (sample-
        // compressed or buffered rows) or the spans moved, from v on.
        const uint64_t span_end = c + 1 < span_begin_.size() ? span_begin_[c + 1] : n_;
        const uint64_t from = cr.rows.items.empty() && span_begin_[c] <= u ? span_begin_[c] : u;
        // A batch over a huge graph drops what it holds (options_.max_held_bytes: row views,
        // and decoded bytes where chunks are compressed; views of uncompressed chunks hold
        // no memory of their own).
        if (chunks.held > options_.max_held_bytes) {
          for (ChunkRows& other : chunks.chunk) other = ChunkRows();
          chunks.held = 0;
        }
        GTN_ASSIGN_OR_RETURN(cr.rows, ds_->read_bytes_rows(nbr_index_, from, std::max(span_end, u + 1)));
        cr.begin = from;
        chunks.held += cr.rows.items.size() * sizeof(std::string_view);
        if (nbr_decoded_ && !cr.rows.items.empty()) {
          chunks.held += static_cast<size_t>(cr.rows.items.back().data() + cr.rows.items.back().size() -
                                       cr.rows.items.front().data());
        }
        if (u >= cr.begin + cr.rows.items.size()) {
          GTN_ASSIGN_OR_RETURN(cr.rows, ds_->read_bytes_rows(nbr_index_, u, u + 1));
          cr.begin = u;
        }
      }
      const std::string_view item = cr.rows.items[u - cr.begin];
      const size_t id_size = dtype_size(id_type_);
      if (item.size() % id_size != 0) {
        return Status::Corruption("tensor '" + options_.neighbors + "', row " + std::to_string(v) + ": " +
                                  std::to_string(item.size()) + " bytes is not a whole number of " +
                                  std::string(dtype_name(id_type_)) + " ids");
      }
      deg = static_cast<int64_t>(item.size() / id_size);
      data = item.data();
      rec.rec.add(rec.nbr, u, 1);
    }
    ids.resize(static_cast<size_t>(deg));
    if (id_type_ == DType::kInt32) {
      const char* p = static_cast<const char*>(data);  // stored bytes: no alignment assumed
      for (int64_t i = 0; i < deg; ++i) {
        int32_t id;
        std::memcpy(&id, p + i * sizeof(int32_t), sizeof(id));
        ids[i] = id;
      }
    } else if (deg) {
      std::memcpy(ids.data(), data, static_cast<size_t>(deg) * sizeof(int64_t));
    }
    return Status::OK();
  }

  Status run(const std::vector<int64_t>& seeds, uint64_t rng_seed, std::vector<int64_t>& local,
             SampledBatch& out, Recording& rec) const {
    BatchChunks chunks;
    chunks.chunk.resize(span_begin_.size());
    for (int64_t v : seeds) {
      if (v < 0 || static_cast<uint64_t>(v) >= n_) {
        return Status::InvalidArgument("seed node " + std::to_string(v) + " is outside [0, " + std::to_string(n_) + ")");
      }
      if (local[v] >= 0) return Status::InvalidArgument("seed node " + std::to_string(v) + " is given twice");
      local[v] = static_cast<int64_t>(out.n_id.size());
      out.n_id.push_back(v);
    }
    out.hop_nodes.push_back(out.n_id.size());
    Rng rng(rng_seed);
    std::vector<int64_t> ids;
    std::vector<uint64_t> picks;
    for (int64_t fanout : options_.fanouts) {
      Block b;
      b.num_dst = out.n_id.size();
      b.indptr.reserve(b.num_dst + 1);
      b.indptr.push_back(0);
      for (uint64_t d = 0; d < b.num_dst; ++d) {
        int64_t v = out.n_id[d];
        GTN_RETURN_IF_ERROR(neighbours(v, ids, chunks, rec));
        const uint64_t deg = ids.size();
        auto add = [&](int64_t u) -> Status {
          if (u < 0 || static_cast<uint64_t>(u) >= n_) {
            return Status::InvalidArgument("tensor '" + options_.neighbors + "', row " + std::to_string(v) +
                                           ": neighbour id " + std::to_string(u) + " is not a row of this dataset (" +
                                           std::to_string(n_) + " rows)");
          }
          if (local[u] < 0) {
            local[u] = static_cast<int64_t>(out.n_id.size());
            out.n_id.push_back(u);
          }
          b.indices.push_back(local[u]);
          return Status::OK();
        };
        if (fanout < 0 || deg <= static_cast<uint64_t>(fanout)) {
          for (int64_t u : ids) GTN_RETURN_IF_ERROR(add(u));
        } else {
          choose(rng, deg, static_cast<uint64_t>(fanout), picks);
          for (uint64_t p : picks) GTN_RETURN_IF_ERROR(add(ids[p]));
        }
        b.indptr.push_back(static_cast<int64_t>(b.indices.size()));
      }
      b.num_src = out.n_id.size();
      out.hop_nodes.push_back(b.num_src);
      out.blocks.push_back(std::move(b));
    }
    if (x_.present) {
      GTN_ASSIGN_OR_RETURN(out.x, gather(x_, out.n_id.data(), out.n_id.size(), rec, rec.x));
    }
    if (y_.present) {
      GTN_ASSIGN_OR_RETURN(out.y, gather(y_, out.n_id.data(), seeds.size(), rec, rec.y));
    }
    return Status::OK();
  }

  // Rows `ids` of a fixed-shape tensor, in that order: runs of consecutive ids are read
  // together (one chunk lookup per run and chunk), each row copied once.
  Result<Array> gather(const Rows& r, const int64_t* ids, size_t count, Recording& rec, uint32_t tensor) const {
    Shape shape = r.shape;
    shape.insert(shape.begin(), static_cast<int64_t>(count));
    Array out = Array::Zeros(r.dtype, shape);
    auto* dst = static_cast<uint8_t*>(out.mutable_data());
    std::vector<std::pair<int64_t, uint32_t>> order(count);
    for (size_t i = 0; i < count; ++i) order[i] = {ids[i], static_cast<uint32_t>(i)};
    std::sort(order.begin(), order.end());
    size_t i = 0;
    while (i < count) {
      size_t j = i + 1;
      while (j < count && order[j].first == order[j - 1].first + 1) ++j;
      // Rows order[i..j) are consecutive node ids.
      uint64_t begin = static_cast<uint64_t>(order[i].first), end = begin + (j - i);
      rec.rec.add(tensor, begin, end - begin);
      uint64_t at = begin;
      while (at < end) {
        GTN_ASSIGN_OR_RETURN(Array rows, ds_->read_rows_view(r.index, at, end, r.shape));
        uint64_t k = rows.shape().empty() ? 0 : static_cast<uint64_t>(rows.shape()[0]);
        if (k == 0) {
          GTN_ASSIGN_OR_RETURN(Shape other, ds_->sample_shape(r.index, at));
          return Status::InvalidArgument("row " + std::to_string(at) + " has shape " + shape_to_string(other) +
                                         ", row 0 has " + shape_to_string(r.shape) +
                                         "; gathered node tensors need one shape for every node");
        }
        const auto* src = static_cast<const uint8_t*>(rows.data());
        for (uint64_t q = 0; q < k; ++q) {
          std::memcpy(dst + order[i + (at - begin) + q].second * r.row_bytes, src + q * r.row_bytes, r.row_bytes);
        }
        at += k;
      }
      i = j;
    }
    return out;
  }

  std::shared_ptr<const Dataset> ds_;
  SamplerOptions options_;
  uint64_t n_;
  size_t nbr_index_ = 0;
  DType id_type_ = DType::kInt64;
  std::vector<uint64_t> span_begin_;  // first row of each chunk of the neighbors tensor
  bool nbr_decoded_ = false;          // its chunks are decoded into memory when read
  Rows x_, y_;
  std::optional<GraphArrays> csr_;
  mutable std::mutex mu_;
  mutable std::vector<std::vector<int64_t>> pool_;
};

}  // namespace

Result<std::unique_ptr<NeighborSampler>> NeighborSampler::Make(std::shared_ptr<const Dataset> ds,
                                                               SamplerOptions options) {
  if (!ds) return Status::InvalidArgument("NeighborSampler needs a dataset");
  auto s = std::make_unique<SamplerImpl>(std::move(ds), std::move(options));
  GTN_RETURN_IF_ERROR(s->init());
  return std::unique_ptr<NeighborSampler>(std::move(s));
}

}  // namespace gtn::graph
