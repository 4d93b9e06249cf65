// DatasetImpl: the GTN-F dataset over a Storage backend. Reads resolve a sample through
// the tensor's chunk table (binary search) and the chunk's run-length sample index, then
// view the memory-mapped chunk bytes. Writes fill one pending chunk per tensor, seal it
// into an immutable chunk file at the tensor's target size, and publish the new chunk
// table by rewriting the version's manifest atomically.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

#include "gtn/codec/compression.h"
#include "gtn/dataset.h"
#include "gtn/store/checksum.h"
#include "gtn/store/chunk_cache.h"
#include "gtn/store/chunk_format.h"
#include "gtn/store/chunk_writer.h"
#include "gtn/store/manifest.h"
#include "gtn/store/root_file.h"
#include "gtn/store/tensor_rules.h"

namespace gtn {
namespace store {
namespace {

// A chunk file mapped for reading, with its parsed header.
struct LoadedChunk {
  uint64_t id = 0;
  std::string key;
  std::shared_ptr<const Bytes> file;
  ChunkHeader header;
  const uint8_t* data = nullptr;  // the stored data region inside `file`
};

// One entry of a tensor's in-memory chunk table. `loaded` is set once (under the
// dataset's load mutex) and then read without locks.
struct TableEntry {
  explicit TableEntry(ChunkEntry e) : entry(std::move(e)) {}
  ChunkEntry entry;
  mutable std::atomic<const LoadedChunk*> loaded{nullptr};
  mutable std::shared_ptr<const LoadedChunk> holder;
};

struct TensorState {
  TensorMeta meta;
  std::vector<std::unique_ptr<TableEntry>> entries;
  std::vector<uint64_t> firsts;  // entries[k]->entry.first_sample, for binary search
  uint64_t committed = 0;        // samples held by chunk files
  PendingChunk pending;          // samples [committed, committed + pending.size())

  void push_entry(ChunkEntry e) {
    committed = e.first_sample + e.num_samples;
    firsts.push_back(e.first_sample);
    entries.push_back(std::make_unique<TableEntry>(std::move(e)));
  }
  size_t find(uint64_t index) const {
    return static_cast<size_t>(std::upper_bound(firsts.begin(), firsts.end(), index) - firsts.begin()) - 1;
  }
};

// Sample i of one tensor's part of a batch: from extend() (an Array per sample) or from
// extend_columns() (rows of one array, or one string per sample), without copies.
struct ColumnReader {
  const std::vector<Array>* arrays = nullptr;  // extend()
  const Column* column = nullptr;              // extend_columns()
  DType dtype = DType::kFloat32;
  Shape row_shape;                             // column->rows: the shape of every sample
  size_t row_bytes = 0;

  size_t size() const {
    if (arrays) return arrays->size();
    if (dtype_is_bytes_like(dtype)) return column->items.size();
    return static_cast<size_t>(column->rows.shape()[0]);
  }
  // The bytes of sample i before sample compression.
  std::string_view bytes(size_t i) const {
    if (arrays) return (*arrays)[i].as_string_view();
    if (dtype_is_bytes_like(dtype)) return column->items[i];
    return {static_cast<const char*>(column->rows.data()) + i * row_bytes, row_bytes};
  }
  // The shape of sample i (may be stored in *scratch).
  const Shape& shape(size_t i, Shape* scratch) const {
    if (arrays) return (*arrays)[i].shape();
    if (!dtype_is_bytes_like(dtype)) return row_shape;
    scratch->assign(1, static_cast<int64_t>(column->items[i].size()));
    return *scratch;
  }
};

std::shared_ptr<const void> as_owner(const std::shared_ptr<const Bytes>& b) { return b; }

class DatasetImpl final : public Dataset {
 public:
  DatasetImpl(std::string path, std::shared_ptr<Storage> storage, const OpenOptions& options)
      : path_(std::move(path)), storage_(std::move(storage)), options_(options),
        cache_(options.chunk_cache_bytes),
        writer_(storage_.get(), &rng_, options.durability == Durability::kEveryChunk) {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                    static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                    (static_cast<uint64_t>(::getpid()) << 16);
    rng_.seed(seed);
  }

  ~DatasetImpl() override {
    if (ready_ && !options_.read_only) (void)flush();
  }

  Status init(bool create) {
    GTN_RETURN_IF_ERROR(open_or_create(create));
    ready_ = true;
    return Status::OK();
  }

  Status open_or_create(bool create) {
    if (!options_.read_only) {
      GTN_ASSIGN_OR_RETURN(lock_, storage_->lock_for_writing());
    }
    GTN_ASSIGN_OR_RETURN(bool has_root, storage_->exists(kRootKey));
    if (!has_root) {
      if (!create) return Status::NotFound(path_ + " is not a GTN dataset (no gtn.json)");
      return create_new();
    }
    GTN_ASSIGN_OR_RETURN(auto root_bytes, storage_->read(kRootKey));
    GTN_RETURN_IF_ERROR(decode_root(root_bytes->view(), &root_).WithContext(path_ + "/gtn.json"));
    GTN_RETURN_IF_ERROR(options_.read_only ? check_readable(root_) : check_writable(root_));
    std::string rk = ref_key(root_.head);
    auto ref_bytes = storage_->read(rk);
    if (!ref_bytes.ok()) return Status::Corruption(path_ + "/" + rk + ": " + ref_bytes.status().message());
    GTN_RETURN_IF_ERROR(decode_ref((*ref_bytes)->view(), &version_id_).WithContext(path_ + "/" + rk));
    std::string mk = manifest_key(version_id_);
    auto mbytes = storage_->read(mk);
    if (!mbytes.ok()) return Status::Corruption(path_ + "/" + mk + ": " + mbytes.status().message());
    Manifest m;
    GTN_RETURN_IF_ERROR(decode_manifest((*mbytes)->view(), &m).WithContext(path_ + "/" + mk));
    parent_id_ = m.parent_id;
    length_ = m.length;
    for (size_t t = 0; t < m.tensors.size(); ++t) {
      auto ts = std::make_unique<TensorState>();
      ts->meta = m.tensors[t];
      for (auto& e : m.chunks[t]) ts->push_entry(std::move(e));
      tensors_.push_back(std::move(ts));
    }
    next_key_ = 0;
    for (const auto& ts : tensors_) {
      if (ts->meta.key.size() > 1 && ts->meta.key[0] == 't') {
        next_key_ = std::max<uint64_t>(next_key_, std::strtoull(ts->meta.key.c_str() + 1, nullptr, 10) + 1);
      }
    }
    if (!options_.read_only) {
      // Samples past the last complete row (a writer stopped between two tensors' chunks)
      // go back to the pending chunk and are cut there.
      for (auto& ts : tensors_) GTN_RETURN_IF_ERROR(truncate(*ts, length_));
    }
    return Status::OK();
  }

  // --- schema ---
  Status create_tensor(const TensorSpec& spec) override {
    GTN_RETURN_IF_ERROR(check_writable_now());
    auto ts = std::make_unique<TensorState>();
    GTN_RETURN_IF_ERROR(resolve_spec(spec, &ts->meta));
    for (const auto& other : tensors_) {
      if (other->meta.name == spec.name) return Status::AlreadyExists("tensor '" + spec.name + "' already exists");
    }
    ts->meta.key = "t" + std::to_string(next_key_++);
    // Rows that exist already read as empty samples of shape (0,) in the new tensor.
    uint64_t left = length_;
    std::vector<ChunkEntry> written;
    uint64_t first = 0;
    while (left > 0) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(left, kMaxSamplesPerChunk));
      ts->pending.add_empty(n);
      GTN_RETURN_IF_ERROR(writer_.seal(ts->meta, &ts->pending, &first, &written));
      left -= n;
    }
    for (auto& e : written) ts->push_entry(std::move(e));
    tensors_.push_back(std::move(ts));
    return write_manifest(/*durable=*/every_chunk());
  }

  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> names;
    for (const auto& ts : tensors_) names.push_back(ts->meta.name);
    return names;
  }

  Result<size_t> tensor_index(const std::string& name) const override {
    for (size_t t = 0; t < tensors_.size(); ++t) {
      if (tensors_[t]->meta.name == name) return t;
    }
    return Status::NotFound("no tensor '" + name + "' in dataset " + path_ + known_tensors());
  }

  Result<TensorInfo> tensor_info(const std::string& name) const override {
    GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(name));
    const TensorState& ts = *tensors_[t];
    TensorInfo info;
    info.name = ts.meta.name;
    info.htype = ts.meta.htype;
    info.dtype = ts.meta.dtype;
    info.sample_compression = ts.meta.sample_compression;
    info.chunk_compression = ts.meta.chunk_compression;
    info.chunk_target_bytes = ts.meta.chunk_target_bytes;
    info.class_names = ts.meta.class_names;
    info.length = length_;
    bool any = false;
    auto merge = [&](const ShapeEncoder& shapes) {
      Shape lo, hi;
      if (!shapes.bounds(&lo, &hi)) return;
      if (!any) {
        info.min_shape = lo;
        info.max_shape = hi;
        any = true;
      } else if (lo.size() == info.min_shape.size()) {
        for (size_t i = 0; i < lo.size(); ++i) {
          info.min_shape[i] = std::min(info.min_shape[i], lo[i]);
          info.max_shape[i] = std::max(info.max_shape[i], hi[i]);
        }
      }
    };
    for (const auto& e : ts.entries) {
      info.num_chunks += e->entry.files.size();
      for (const auto& f : e->entry.files) info.stored_bytes += f.size;
      info.raw_bytes += e->entry.raw_bytes;
      GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, *e));
      merge(c->header.shapes);
    }
    info.raw_bytes += ts.pending.raw_bytes;
    merge(ts.pending.shapes);
    return info;
  }

  uint64_t size() const override { return length_; }
  bool read_only() const override { return options_.read_only; }

  // --- writes ---
  Status append(const Sample& sample) override {
    SampleBatch batch;
    for (const auto& [name, value] : sample) batch[name].push_back(value);
    if (sample.empty() && !tensors_.empty()) return check_batch_keys(batch);
    return add_rows(batch, /*single=*/true);
  }

  Status extend(const SampleBatch& batch) override { return add_rows(batch, /*single=*/false); }

  Status extend_columns(const ColumnBatch& batch) override {
    GTN_RETURN_IF_ERROR(check_writable_now());
    GTN_RETURN_IF_ERROR(check_batch_keys(batch));
    std::vector<ColumnReader> columns(tensors_.size());
    std::vector<int> ranks(tensors_.size());
    size_t n = 0;
    for (size_t t = 0; t < tensors_.size(); ++t) {
      const TensorMeta& meta = tensors_[t]->meta;
      ColumnReader& r = columns[t];
      r.column = &batch.at(meta.name);
      r.dtype = meta.dtype;
      TensorMeta probe = meta;
      if (dtype_is_bytes_like(meta.dtype)) {
        // Text rules can depend on the bytes (json): every sample is checked.
        for (size_t i = 0; i < r.column->items.size(); ++i) {
          std::string_view item = r.column->items[i];
          GTN_ASSIGN_OR_RETURN(Array v, Array::View(meta.dtype, {static_cast<int64_t>(item.size())}, item.data(),
                                                    item.size(), nullptr));
          Status st = check_sample(probe, v);
          if (!st.ok()) return st.WithContext("sample " + std::to_string(i) + " of the batch");
          if (probe.rank < 0) probe.rank = rank_fixed_by(v);
        }
      } else {
        const Array& rows = r.column->rows;
        if (rows.ndim() == 0) {
          return Status::InvalidArgument("tensor '" + meta.name +
                                         "': extend_columns needs an array whose first axis is the batch");
        }
        r.row_shape.assign(rows.shape().begin() + 1, rows.shape().end());
        r.row_bytes = static_cast<size_t>(shape_numel(r.row_shape)) * dtype_size(rows.dtype());
        // Numeric rules depend only on dtype and shape, the same for every row: one check.
        if (rows.shape()[0] > 0) {
          GTN_ASSIGN_OR_RETURN(Array v, Array::View(rows.dtype(), r.row_shape, rows.data(), r.row_bytes, nullptr));
          GTN_RETURN_IF_ERROR(check_sample(probe, v));
          if (probe.rank < 0) probe.rank = rank_fixed_by(v);
        }
      }
      ranks[t] = probe.rank;
      if (t == 0) n = r.size();
      if (r.size() != n) return length_mismatch(tensors_[0]->meta.name, n, meta.name, r.size());
    }
    return write_rows(columns, ranks, n);
  }

  // append (single) and extend: validate every value first, then write.
  Status add_rows(const SampleBatch& batch, bool single) {
    GTN_RETURN_IF_ERROR(check_writable_now());
    GTN_RETURN_IF_ERROR(check_batch_keys(batch));
    size_t n = batch.begin()->second.size();
    std::vector<ColumnReader> columns(tensors_.size());
    std::vector<int> ranks(tensors_.size());
    for (size_t t = 0; t < tensors_.size(); ++t) {
      const std::string& name = tensors_[t]->meta.name;
      const auto& col = batch.at(name);
      if (col.size() != n) return length_mismatch(batch.begin()->first, n, name, col.size());
      columns[t].arrays = &col;
      columns[t].dtype = tensors_[t]->meta.dtype;
      TensorMeta probe = tensors_[t]->meta;
      for (size_t i = 0; i < n; ++i) {
        Status st = check_sample(probe, col[i]);
        if (!st.ok()) return single ? st : st.WithContext("sample " + std::to_string(i) + " of the batch");
        if (probe.rank < 0) probe.rank = rank_fixed_by(col[i]);
      }
      ranks[t] = probe.rank;
    }
    return write_rows(columns, ranks, n);
  }

  // Writes `n` checked samples of every tensor, then publishes the chunks sealed on the
  // way in one manifest.
  Status write_rows(const std::vector<ColumnReader>& columns, const std::vector<int>& ranks, size_t n) {
    bool sealed = false;
    std::string scratch;
    Shape shape_scratch;
    for (size_t t = 0; t < tensors_.size(); ++t) {
      TensorState& ts = *tensors_[t];
      const ColumnReader& col = columns[t];
      ts.meta.rank = ranks[t];
      uint64_t first = ts.committed;
      std::vector<ChunkEntry> written;
      bool compress = ts.meta.sample_compression != Compression::kNone;
      for (size_t i = 0; i < n; ++i) {
        std::string_view raw = col.bytes(i);
        const Shape& shape = col.shape(i, &shape_scratch);
        std::string_view stored = raw;
        if (compress && !raw.empty()) {
          if (col.arrays) {
            GTN_RETURN_IF_ERROR(encode_sample(ts.meta, (*col.arrays)[i], &scratch));
          } else {
            GTN_ASSIGN_OR_RETURN(Array v, Array::View(ts.meta.dtype, shape, raw.data(), raw.size(), nullptr));
            GTN_RETURN_IF_ERROR(encode_sample(ts.meta, v, &scratch));
          }
          stored = scratch;
        }
        GTN_RETURN_IF_ERROR(writer_.add(ts.meta, &ts.pending, &first, stored, shape, raw.size(), &written));
      }
      sealed = sealed || !written.empty();
      for (auto& e : written) ts.push_entry(std::move(e));
    }
    length_ += n;
    if (sealed) GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/every_chunk()));
    return Status::OK();
  }

  Status update(const std::string& tensor, uint64_t index, const Array& value) override {
    GTN_RETURN_IF_ERROR(check_writable_now());
    GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(tensor));
    GTN_RETURN_IF_ERROR(check_index(index));
    TensorState& ts = *tensors_[t];
    GTN_RETURN_IF_ERROR(check_sample(ts.meta, value));
    std::string stored;
    GTN_RETURN_IF_ERROR(encode_sample(ts.meta, value, &stored));
    uint64_t raw = static_cast<uint64_t>(value.numel()) * dtype_size(ts.meta.dtype);
    if (ts.meta.rank < 0) ts.meta.rank = rank_fixed_by(value);

    // Gather the samples of the chunk (or pending chunk) holding `index`, with the new one
    // in its place, and write them again: chunk files are never modified.
    struct Item {
      std::string stored;
      Shape shape;
      uint64_t raw;
    };
    std::vector<Item> items;
    uint64_t first;
    size_t k = 0;
    bool in_pending = index >= ts.committed;
    size_t esize = dtype_size(ts.meta.dtype);
    if (in_pending) {
      first = ts.committed;
      for (uint32_t j = 0; j < ts.pending.size(); ++j) {
        Shape s = ts.pending.shapes.shape(j);
        items.push_back({std::string(ts.pending.stored(j)), s, static_cast<uint64_t>(shape_numel(s)) * esize});
      }
    } else {
      k = ts.find(index);
      first = ts.entries[k]->entry.first_sample;
      GTN_RETURN_IF_ERROR(gather(ts, *ts.entries[k], [&](std::string_view s, const Shape& shape) {
        items.push_back({std::string(s), shape, static_cast<uint64_t>(shape_numel(shape)) * esize});
      }));
    }
    items[index - first] = {std::move(stored), value.shape(), raw};

    if (in_pending) {
      ts.pending = PendingChunk();
      for (const auto& it : items) ts.pending.add(it.stored, it.shape, it.raw);
      return Status::OK();
    }
    PendingChunk scratch;
    uint64_t pos = first;
    std::vector<ChunkEntry> written;
    for (const auto& it : items) {
      GTN_RETURN_IF_ERROR(writer_.add(ts.meta, &scratch, &pos, it.stored, it.shape, it.raw, &written));
    }
    GTN_RETURN_IF_ERROR(writer_.seal(ts.meta, &scratch, &pos, &written));
    replace_entry(ts, k, std::move(written));
    dirty_ = true;
    return Status::OK();
  }

  Status pop() override {
    GTN_RETURN_IF_ERROR(check_writable_now());
    if (length_ == 0) return Status::OutOfRange("pop on an empty dataset " + path_);
    for (auto& ts : tensors_) GTN_RETURN_IF_ERROR(truncate(*ts, length_ - 1));
    length_ -= 1;
    dirty_ = true;
    return Status::OK();
  }

  Status flush() override {
    GTN_RETURN_IF_ERROR(check_writable_now());
    bool sealed = false;
    for (auto& ts : tensors_) {
      if (ts->pending.size() == 0) continue;
      std::vector<ChunkEntry> written;
      uint64_t first = ts->committed;
      GTN_RETURN_IF_ERROR(writer_.seal(ts->meta, &ts->pending, &first, &written));
      for (auto& e : written) ts->push_entry(std::move(e));
      sealed = true;
    }
    if (sealed || dirty_ || !manifest_durable_) GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/true));
    return Status::OK();
  }

  // --- reads ---
  Result<Array> read(const std::string& tensor, uint64_t index) const override {
    GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(tensor));
    return read(t, index);
  }

  Result<Array> read(size_t t, uint64_t index) const override {
    if (t >= tensors_.size()) return bad_tensor_index(t);
    GTN_RETURN_IF_ERROR(check_index(index));
    const TensorState& ts = *tensors_[t];
    if (index >= ts.committed) {
      uint32_t j = static_cast<uint32_t>(index - ts.committed);
      Shape shape = ts.pending.shapes.shape(j);
      Array out = Array::Zeros(ts.meta.dtype, shape);
      GTN_RETURN_IF_ERROR(decode_sample(ts.meta.sample_compression, ts.meta.dtype, shape, ts.pending.stored(j),
                                        out.mutable_data()));
      return out;
    }
    const TableEntry& e = *ts.entries[ts.find(index)];
    if (e.entry.is_tiled()) return read_tiled(ts, e);
    GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, e));
    uint32_t j = static_cast<uint32_t>(index - e.entry.first_sample);
    uint64_t off, len;
    c->header.positions.locate(j, &off, &len);
    Shape shape = c->header.shapes.shape(j);
    const uint8_t* base = c->data;
    std::shared_ptr<const void> owner;
    if (c->header.chunk_compression != Compression::kNone) {
      GTN_ASSIGN_OR_RETURN(auto region, decompressed(*c));
      base = reinterpret_cast<const uint8_t*>(region->data());
      owner = std::move(region);
    }
    if (c->header.sample_compression == Compression::kNone || len == 0) {
      if (!owner) owner = as_owner(c->file);
      auto view = Array::View(ts.meta.dtype, std::move(shape), base + off, len, std::move(owner));
      if (!view.ok()) return corrupt_chunk(*c, view.status());
      return view;
    }
    std::string_view stored(reinterpret_cast<const char*>(base + off), len);
    Status st = check_decodable(c->header.sample_compression, ts.meta.dtype, shape, stored);
    if (!st.ok()) return corrupt_chunk(*c, st);
    Array out = Array::Zeros(ts.meta.dtype, shape);
    st = decode_sample(c->header.sample_compression, ts.meta.dtype, shape, stored, out.mutable_data());
    if (!st.ok()) return corrupt_chunk(*c, st);
    return out;
  }

  Result<Shape> sample_shape(size_t t, uint64_t index) const override {
    if (t >= tensors_.size()) return bad_tensor_index(t);
    GTN_RETURN_IF_ERROR(check_index(index));
    const TensorState& ts = *tensors_[t];
    if (index >= ts.committed) return ts.pending.shapes.shape(static_cast<uint32_t>(index - ts.committed));
    const TableEntry& e = *ts.entries[ts.find(index)];
    GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, e));
    return c->header.shapes.shape(static_cast<uint32_t>(index - e.entry.first_sample));
  }

  Result<Shape> read_into(size_t t, uint64_t index, void* dst, size_t capacity) const override {
    if (t >= tensors_.size()) return bad_tensor_index(t);
    GTN_RETURN_IF_ERROR(check_index(index));
    const TensorState& ts = *tensors_[t];
    const TableEntry* e = index < ts.committed ? ts.entries[ts.find(index)].get() : nullptr;
    if (!e || e->entry.is_tiled()) {
      // Pending samples and tiled samples: through read().
      GTN_ASSIGN_OR_RETURN(Array a, read(t, index));
      if (a.nbytes() > capacity) return too_small(ts, index, a.nbytes(), capacity);
      if (a.nbytes()) std::memcpy(dst, a.data(), a.nbytes());
      return a.shape();
    }
    GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, *e));
    uint32_t j = static_cast<uint32_t>(index - e->entry.first_sample);
    uint64_t off, len;
    c->header.positions.locate(j, &off, &len);
    Shape shape = c->header.shapes.shape(j);
    size_t need = static_cast<size_t>(shape_numel(shape)) * dtype_size(ts.meta.dtype);
    if (need > capacity) return too_small(ts, index, need, capacity);
    const uint8_t* base = c->data;
    std::shared_ptr<const std::string> region;
    if (c->header.chunk_compression != Compression::kNone) {
      GTN_ASSIGN_OR_RETURN(region, decompressed(*c));
      base = reinterpret_cast<const uint8_t*>(region->data());
    }
    std::string_view stored(reinterpret_cast<const char*>(base + off), len);
    Status st = decode_sample(c->header.sample_compression, ts.meta.dtype, shape, stored, dst);
    if (!st.ok()) return corrupt_chunk(*c, st);
    return shape;
  }

  Result<Sample> read_sample(uint64_t index) const override {
    Sample out;
    for (size_t t = 0; t < tensors_.size(); ++t) {
      GTN_ASSIGN_OR_RETURN(Array a, read(t, index));
      out.emplace(tensors_[t]->meta.name, std::move(a));
    }
    return out;
  }

  Result<std::vector<Sample>> read_batch(const std::vector<uint64_t>& indices) const override {
    std::vector<Sample> out;
    out.reserve(indices.size());
    for (uint64_t i : indices) {
      GTN_ASSIGN_OR_RETURN(Sample s, read_sample(i));
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<Array>> read_range(const std::string& tensor, uint64_t begin, uint64_t end) const override {
    GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(tensor));
    if (begin > end || end > length_) {
      return Status::OutOfRange("range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                ") out of range for dataset of " + std::to_string(length_) + " samples");
    }
    std::vector<Array> out;
    out.reserve(end - begin);
    for (uint64_t i = begin; i < end; ++i) {
      GTN_ASSIGN_OR_RETURN(Array a, read(t, i));
      out.push_back(std::move(a));
    }
    return out;
  }

  std::string summary() const override {
    std::ostringstream os;
    os << "GTN dataset " << path_ << (options_.read_only ? " (read-only)" : "") << "\n";
    os << "  version " << hex_id(version_id_) << ", " << length_ << " samples, " << tensors_.size() << " tensors\n";
    for (const auto& ts : tensors_) {
      auto info = tensor_info(ts->meta.name);
      if (!info.ok()) {
        os << "  " << ts->meta.name << ": " << info.status().ToString() << "\n";
        continue;
      }
      os << "  " << info->name << ": htype " << info->htype << ", dtype " << dtype_name(info->dtype);
      if (!info->min_shape.empty() || !info->max_shape.empty()) {
        os << ", shape " << shape_to_string(info->min_shape);
        if (info->min_shape != info->max_shape) os << " to " << shape_to_string(info->max_shape);
      }
      os << ", sample compression " << compression_name(info->sample_compression) << ", chunk compression "
         << compression_name(info->chunk_compression) << ", " << info->num_chunks << " chunks, "
         << info->stored_bytes << " bytes stored (" << info->raw_bytes << " raw)";
      if (!info->class_names.empty()) os << ", " << info->class_names.size() << " classes";
      os << "\n";
    }
    return os.str();
  }

 private:
  Status create_new() {
    do {
      version_id_ = rng_();
    } while (version_id_ == 0);
    GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/true));
    GTN_RETURN_IF_ERROR(storage_->write_atomic(ref_key(root_.head), encode_ref(version_id_)));
    return storage_->write_atomic(kRootKey, encode_root(root_));
  }

  bool every_chunk() const { return options_.durability == Durability::kEveryChunk; }

  // Publishes the chunk tables in the version's manifest (renamed into place atomically).
  // `durable`: first make every chunk file written since the last durable manifest
  // durable, then fsync the manifest (see Durability).
  Status write_manifest(bool durable) {
    Manifest m;
    m.version_id = version_id_;
    m.parent_id = parent_id_;
    m.length = length_;
    for (const auto& ts : tensors_) {
      m.length = std::min(m.length, ts->committed);
      m.tensors.push_back(ts->meta);
      std::vector<ChunkEntry> table;
      table.reserve(ts->entries.size());
      for (const auto& e : ts->entries) table.push_back(e->entry);
      m.chunks.push_back(std::move(table));
    }
    if (tensors_.empty()) m.length = 0;
    if (durable) {
      GTN_RETURN_IF_ERROR(writer_.sync_written());
      GTN_RETURN_IF_ERROR(storage_->write_atomic(manifest_key(version_id_), encode_manifest(m)));
    } else {
      GTN_RETURN_IF_ERROR(storage_->write_atomic_unsynced(manifest_key(version_id_), encode_manifest(m)));
    }
    manifest_durable_ = durable;
    dirty_ = false;
    return Status::OK();
  }

  Status check_writable_now() const {
    if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only; cannot write");
    return Status::OK();
  }

  Status check_index(uint64_t index) const {
    if (index >= length_) {
      return Status::OutOfRange("index " + std::to_string(index) + " out of range for dataset of " +
                                std::to_string(length_) + " samples");
    }
    return Status::OK();
  }

  Status too_small(const TensorState& ts, uint64_t index, size_t need, size_t capacity) const {
    return Status::InvalidArgument("sample " + std::to_string(index) + " of tensor '" + ts.meta.name + "' needs " +
                                   std::to_string(need) + " bytes, the buffer has " + std::to_string(capacity));
  }

  Status bad_tensor_index(size_t t) const {
    return Status::OutOfRange("tensor position " + std::to_string(t) + " out of range for dataset of " +
                              std::to_string(tensors_.size()) + " tensors");
  }

  std::string known_tensors() const {
    std::string s = " (tensors:";
    for (const auto& ts : tensors_) s += " " + ts->meta.name;
    return s + ")";
  }

  Status length_mismatch(const std::string& a, size_t na, const std::string& b, size_t nb) const {
    return Status::InvalidArgument("batch length mismatch: tensor '" + a + "' has " + std::to_string(na) +
                                   " samples, tensor '" + b + "' has " + std::to_string(nb));
  }

  template <typename Batch>
  Status check_batch_keys(const Batch& batch) const {
    if (tensors_.empty()) return Status::InvalidArgument("dataset " + path_ + " has no tensors; create one first");
    for (const auto& ts : tensors_) {
      if (!batch.count(ts->meta.name)) return Status::InvalidArgument("missing tensor '" + ts->meta.name + "'; every tensor must be given");
    }
    for (const auto& column : batch) {
      const std::string& name = column.first;
      bool known = std::any_of(tensors_.begin(), tensors_.end(), [&](const auto& ts) { return ts->meta.name == name; });
      if (!known) return Status::InvalidArgument("unknown tensor '" + name + "'" + known_tensors());
    }
    return Status::OK();
  }

  Status corrupt_chunk(const LoadedChunk& c, const Status& st) const {
    return Status::Corruption(path_ + "/" + c.key + ": " + st.message());
  }

  // Maps chunk file `ref` of tensor `ts`, verifying its checksum on first use.
  Result<std::shared_ptr<const LoadedChunk>> load_file(const TensorState& ts, const ChunkFileRef& ref) const {
    {
      std::lock_guard<std::mutex> g(files_mu_);
      auto it = files_.find(ref.id);
      if (it != files_.end()) return it->second;
    }
    auto c = std::make_shared<LoadedChunk>();
    c->id = ref.id;
    c->key = chunk_key(ts.meta.key, ref.id);
    std::string where = path_ + "/" + c->key;
    auto file = storage_->read(c->key);
    if (!file.ok()) {
      if (file.status().code() == StatusCode::kNotFound) return Status::Corruption(where + ": chunk file is missing");
      return file.status();
    }
    c->file = std::move(*file);
    if (c->file->size() != ref.size) {
      return Status::Corruption(where + ": chunk file has " + std::to_string(c->file->size()) +
                                " bytes, the manifest says " + std::to_string(ref.size));
    }
    if (options_.verify_checksums) {
      GTN_ASSIGN_OR_RETURN(ChunkChecksums sums, chunk_checksums(c->file->view()));
      if (sums.computed != sums.stored || sums.stored != ref.checksum) {
        return Status::Corruption(where + ": checksum mismatch: stored " + checksum_to_string(sums.stored) +
                                  ", computed " + checksum_to_string(sums.computed) + ", manifest " +
                                  checksum_to_string(ref.checksum));
      }
    }
    Status st = parse_chunk(c->file->view(), &c->header);
    if (!st.ok()) return Status::Corruption(where + ": " + st.message());
    if (c->header.dtype != ts.meta.dtype) return Status::Corruption(where + ": chunk dtype differs from the tensor's");
    c->data = c->file->data() + c->header.data_offset;
    std::lock_guard<std::mutex> g(files_mu_);
    auto [it, inserted] = files_.emplace(ref.id, std::move(c));
    return it->second;
  }

  // The loaded first file of a table entry; lock-free after the first call.
  Result<const LoadedChunk*> loaded(const TensorState& ts, const TableEntry& e) const {
    const LoadedChunk* c = e.loaded.load(std::memory_order_acquire);
    if (c) return c;
    GTN_ASSIGN_OR_RETURN(auto sp, load_file(ts, e.entry.files[0]));
    if (!e.entry.is_tiled() && sp->header.num_samples != e.entry.num_samples) {
      return Status::Corruption(path_ + "/" + sp->key + ": chunk holds " + std::to_string(sp->header.num_samples) +
                                " samples, the manifest says " + std::to_string(e.entry.num_samples));
    }
    std::lock_guard<std::mutex> g(load_mu_);
    if (!e.holder) {
      e.holder = sp;
      e.loaded.store(sp.get(), std::memory_order_release);
    }
    return e.holder.get();
  }

  // The decompressed data region of a chunk-compressed chunk, through the LRU cache.
  Result<std::shared_ptr<const std::string>> decompressed(const LoadedChunk& c) const {
    if (auto hit = cache_.get(c.id)) return hit;
    auto region = std::make_shared<std::string>(c.header.raw_data_bytes, '\0');
    std::string_view stored(reinterpret_cast<const char*>(c.data), c.header.stored_data_bytes);
    Status st = codec::decompress(c.header.chunk_compression, stored, region->data(), region->size());
    if (!st.ok()) return corrupt_chunk(c, st);
    std::shared_ptr<const std::string> out = std::move(region);
    cache_.put(c.id, out);
    return out;
  }

  // The stored bytes of a tiled sample, all tiles joined.
  Result<std::string> tiled_bytes(const TensorState& ts, const TableEntry& e, Shape* shape) const {
    std::string stored;
    for (size_t i = 0; i < e.entry.files.size(); ++i) {
      GTN_ASSIGN_OR_RETURN(auto c, load_file(ts, e.entry.files[i]));
      const TileInfo& tile = c->header.tile;
      if (!c->header.is_tile() || tile.index != i || tile.count != e.entry.files.size() || tile.offset != stored.size()) {
        return Status::Corruption(path_ + "/" + c->key + ": tile " + std::to_string(i) + " is out of place");
      }
      if (i == 0) {
        *shape = c->header.shapes.shape(0);
        uint64_t files_bytes = 0;
        for (const auto& f : e.entry.files) files_bytes += f.size;
        stored.reserve(std::min<uint64_t>(tile.total_bytes, files_bytes));
      }
      stored.append(reinterpret_cast<const char*>(c->data), c->header.stored_data_bytes);
      if (i + 1 == e.entry.files.size() && stored.size() != tile.total_bytes) {
        return Status::Corruption(path_ + "/" + c->key + ": tiles hold " + std::to_string(stored.size()) +
                                  " bytes, expected " + std::to_string(tile.total_bytes));
      }
    }
    return stored;
  }

  Result<Array> read_tiled(const TensorState& ts, const TableEntry& e) const {
    Shape shape;
    GTN_ASSIGN_OR_RETURN(std::string stored, tiled_bytes(ts, e, &shape));
    Status st = check_decodable(ts.meta.sample_compression, ts.meta.dtype, shape, stored);
    if (!st.ok()) return Status::Corruption(path_ + "/" + chunk_key(ts.meta.key, e.entry.files[0].id) + ": " + st.message());
    Array out = Array::Zeros(ts.meta.dtype, shape);
    st = decode_sample(ts.meta.sample_compression, ts.meta.dtype, shape, stored, out.mutable_data());
    if (!st.ok()) return Status::Corruption(path_ + "/" + chunk_key(ts.meta.key, e.entry.files[0].id) + ": " + st.message());
    return out;
  }

  // Calls fn(stored bytes, shape) for every sample of a table entry, in order.
  template <typename Fn>
  Status gather(const TensorState& ts, const TableEntry& e, Fn fn) const {
    if (e.entry.is_tiled()) {
      Shape shape;
      GTN_ASSIGN_OR_RETURN(std::string stored, tiled_bytes(ts, e, &shape));
      fn(std::string_view(stored), shape);
      return Status::OK();
    }
    GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, e));
    const uint8_t* base = c->data;
    std::shared_ptr<const std::string> region;
    if (c->header.chunk_compression != Compression::kNone) {
      GTN_ASSIGN_OR_RETURN(region, decompressed(*c));
      base = reinterpret_cast<const uint8_t*>(region->data());
    }
    for (uint32_t j = 0; j < c->header.num_samples; ++j) {
      uint64_t off, len;
      c->header.positions.locate(j, &off, &len);
      fn(std::string_view(reinterpret_cast<const char*>(base + off), len), c->header.shapes.shape(j));
    }
    return Status::OK();
  }

  void replace_entry(TensorState& ts, size_t k, std::vector<ChunkEntry> written) {
    std::vector<std::unique_ptr<TableEntry>> entries;
    for (size_t i = 0; i < ts.entries.size(); ++i) {
      if (i != k) {
        entries.push_back(std::move(ts.entries[i]));
        continue;
      }
      for (auto& e : written) entries.push_back(std::make_unique<TableEntry>(std::move(e)));
    }
    ts.entries = std::move(entries);
    ts.firsts.clear();
    for (const auto& e : ts.entries) ts.firsts.push_back(e->entry.first_sample);
  }

  // Cuts tensor `ts` to `n` samples: drops whole chunks past n and moves the samples of a
  // chunk that straddles n back into the pending chunk (they are written again on flush).
  Status truncate(TensorState& ts, uint64_t n) {
    size_t esize = dtype_size(ts.meta.dtype);
    while (ts.committed + ts.pending.size() > n && ts.pending.size() > 0) ts.pending.pop_back(esize);
    while (ts.committed > n) {
      std::unique_ptr<TableEntry> last = std::move(ts.entries.back());
      ts.entries.pop_back();
      ts.firsts.pop_back();
      ts.committed = last->entry.first_sample;
      dirty_ = true;
      if (last->entry.first_sample >= n) continue;
      // The pending chunk is empty here: everything after `committed` was cut above.
      uint64_t keep = n - last->entry.first_sample;
      uint64_t j = 0;
      GTN_RETURN_IF_ERROR(gather(ts, *last, [&](std::string_view s, const Shape& shape) {
        if (j++ < keep) ts.pending.add(s, shape, static_cast<uint64_t>(shape_numel(shape)) * esize);
      }));
    }
    return Status::OK();
  }

  std::string path_;
  std::shared_ptr<Storage> storage_;
  OpenOptions options_;
  std::shared_ptr<void> lock_;
  RootFile root_;
  uint64_t version_id_ = 0;
  uint64_t parent_id_ = 0;
  uint64_t length_ = 0;
  uint64_t next_key_ = 0;
  bool dirty_ = false;
  bool manifest_durable_ = true;  // the last manifest written was fsync'ed with its chunks
  bool ready_ = false;  // opened completely; only then does the destructor flush
  std::vector<std::unique_ptr<TensorState>> tensors_;
  mutable std::mutex load_mu_;
  mutable std::mutex files_mu_;
  mutable std::unordered_map<uint64_t, std::shared_ptr<const LoadedChunk>> files_;
  mutable ChunkCache cache_;
  std::mt19937_64 rng_;
  ChunkWriter writer_;
};

}  // namespace
}  // namespace store

Result<std::unique_ptr<Dataset>> Dataset::Open(const std::string& path, const OpenOptions& options) {
  std::shared_ptr<Storage> storage = options.storage;
  bool create = !options.read_only && options.create_if_missing;
  if (!storage) {
    auto local = open_local_storage(path, create);
    if (!local.ok()) {
      if (local.status().code() == StatusCode::kNotFound) {
        return Status::NotFound(path + " is not a GTN dataset (no gtn.json)");
      }
      return local.status();
    }
    storage = std::move(*local);
  }
  auto ds = std::make_unique<store::DatasetImpl>(path, std::move(storage), options);
  GTN_RETURN_IF_ERROR(ds->init(create));
  return std::unique_ptr<Dataset>(std::move(ds));
}

}  // namespace gtn
