// Writes: appending rows, updates, pop/truncate, flush, publishing manifests and
// deleting chunk files nothing references any more (see dataset_impl.h).
#include <algorithm>
#include <unordered_set>

#include "gtn/codec/image_codec.h"
#include "gtn/store/dataset_impl.h"
#include "gtn/store/tensor_rules.h"

namespace gtn::store {
namespace {
// A version's table trees reference nodes of at most about this many other manifests.
constexpr size_t kMaxNodeHolders = 32;
// Updates touching more table entries than this rebuild the table instead of splicing.
constexpr size_t kSpliceLimit = 64;
}  // namespace

size_t ColumnReader::size() const {
  if (arrays) return arrays->size();
  if (dtype_is_bytes_like(dtype) || encoded()) return column->items.size();
  return static_cast<size_t>(column->rows.shape()[0]);
}

std::string_view ColumnReader::bytes(size_t i) const {
  if (arrays) return (*arrays)[i].as_string_view();
  if (dtype_is_bytes_like(dtype) || encoded()) return column->items[i];
  return {static_cast<const char*>(column->rows.data()) + i * row_bytes, row_bytes};
}

const Shape& ColumnReader::shape(size_t i, Shape* scratch) const {
  if (arrays) return (*arrays)[i].shape();
  if (encoded()) return column->encoded_shapes[i];
  if (!dtype_is_bytes_like(dtype)) return row_shape;
  scratch->assign(1, static_cast<int64_t>(column->items[i].size()));
  return *scratch;
}

Status DatasetImpl::append(const Sample& sample) {
  SampleBatch batch;
  for (const auto& [name, value] : sample) batch[name].push_back(value);
  if (sample.empty() && !tensors_.empty()) return check_batch_keys(batch);
  return add_rows(batch, /*single=*/true);
}

Status DatasetImpl::extend(const SampleBatch& batch) { return add_rows(batch, /*single=*/false); }

namespace {

// InvalidArgument unless `bytes` are a file in the tensor's sample compression whose header
// says it decodes to `shape` of the tensor's dtype.
Status check_encoded_image(const TensorMeta& meta, std::string_view bytes, const Shape& shape) {
  std::string format(compression_name(meta.sample_compression));
  auto header = codec::probe_image(bytes);
  if (!header.ok()) {
    return Status::InvalidArgument("tensor '" + meta.name + "' stores " + format + " files; " +
                                   header.status().message());
  }
  const Shape& h = header->shape;  // (H, W, C)
  bool same_shape = h.size() == 3 && shape.size() >= 2 && shape[0] == h[0] && shape[1] == h[1] &&
                    (shape.size() == 2 ? h[2] == 1 : shape.size() == 3 && shape[2] == h[2]);
  if (header->format != meta.sample_compression || header->dtype != meta.dtype || !same_shape) {
    return Status::InvalidArgument("tensor '" + meta.name + "' stores " + std::string(dtype_name(meta.dtype)) + " " +
                                   format + " images; the bytes are a " +
                                   std::string(compression_name(header->format)) + " of " +
                                   std::string(dtype_name(header->dtype)) + " shape " + shape_to_string(h) +
                                   ", not " + shape_to_string(shape));
  }
  return Status::OK();
}

}  // namespace

// Checks one tensor's column of extend_columns() and the rank it fixes.
Status DatasetImpl::check_column(const TensorMeta& meta, ColumnReader* r, int* rank) const {
  TensorMeta probe = meta;
  if (r->encoded()) {
    const Column& c = *r->column;
    if (!codec::is_image_codec(meta.sample_compression)) {
      return Status::InvalidArgument("tensor '" + meta.name +
                                     "': encoded samples need a tensor with jpeg or png sample compression, it has " +
                                     std::string(compression_name(meta.sample_compression)));
    }
    if (c.encoded_shapes.size() != c.items.size()) {
      return Status::InvalidArgument("tensor '" + meta.name + "': " + std::to_string(c.items.size()) +
                                     " encoded samples but " + std::to_string(c.encoded_shapes.size()) + " shapes");
    }
    for (size_t i = 0; i < c.items.size(); ++i) {
      const Shape& s = c.encoded_shapes[i];
      Status st = check_sample_shape(probe, meta.dtype, s);
      if (st.ok() && shape_numel(s) > 0) st = check_encoded_image(meta, c.items[i], s);
      if (!st.ok()) return st.WithContext("sample " + std::to_string(i) + " of the batch");
      if (probe.rank < 0 && shape_numel(s) > 0) probe.rank = static_cast<int>(s.size());
    }
  } else if (dtype_is_bytes_like(meta.dtype)) {
    // Text rules can depend on the bytes (json): every sample is checked.
    for (size_t i = 0; i < r->column->items.size(); ++i) {
      std::string_view item = r->column->items[i];
      GTN_ASSIGN_OR_RETURN(Array v, Array::View(meta.dtype, {static_cast<int64_t>(item.size())}, item.data(),
                                                item.size(), nullptr));
      Status st = check_sample(probe, v);
      if (!st.ok()) return st.WithContext("sample " + std::to_string(i) + " of the batch");
      if (probe.rank < 0) probe.rank = rank_fixed_by(v);
    }
  } else {
    const Array& rows = r->column->rows;
    if (rows.ndim() == 0) {
      return Status::InvalidArgument("tensor '" + meta.name +
                                     "': extend_columns needs an array whose first axis is the batch");
    }
    r->row_shape.assign(rows.shape().begin() + 1, rows.shape().end());
    GTN_RETURN_IF_ERROR(check_sample_shape(probe, rows.dtype(), r->row_shape));
    r->row_bytes = static_cast<size_t>(shape_numel(r->row_shape)) * dtype_size(rows.dtype());
    if (meta.htype == "class_label" && !meta.class_names.empty()) {
      // Label values are checked one row at a time.
      for (int64_t i = 0; i < rows.shape()[0]; ++i) {
        GTN_ASSIGN_OR_RETURN(Array v, Array::View(rows.dtype(), r->row_shape,
                                                  static_cast<const char*>(rows.data()) + i * r->row_bytes,
                                                  r->row_bytes, nullptr));
        Status st = check_sample(probe, v);
        if (!st.ok()) return st.WithContext("sample " + std::to_string(i) + " of the batch");
      }
    }
    // Other numeric rules depend only on dtype and shape, the same for every row.
    if (rows.shape()[0] > 0 && shape_numel(r->row_shape) > 0 && probe.rank < 0) {
      probe.rank = static_cast<int>(r->row_shape.size());
    }
  }
  *rank = probe.rank;
  return Status::OK();
}

Status DatasetImpl::extend_columns(const ColumnBatch& batch) {
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
    GTN_RETURN_IF_ERROR(check_column(meta, &r, &ranks[t]));
    if (t == 0) n = r.size();
    if (r.size() != n) return length_mismatch(tensors_[0]->meta.name, n, meta.name, r.size());
  }
  return write_rows(columns, ranks, n);
}

// append (single) and extend: validate every value first, then write.
Status DatasetImpl::add_rows(const SampleBatch& batch, bool single) {
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

// Writes `n` checked samples of every tensor, then publishes the chunks sealed on the way
// in one manifest.
Status DatasetImpl::write_rows(const std::vector<ColumnReader>& columns, const std::vector<int>& ranks, size_t n) {
  bool sealed = false;
  std::string scratch;
  Shape shape_scratch;
  for (size_t t = 0; t < tensors_.size(); ++t) {
    TensorState& ts = *tensors_[t];
    const ColumnReader& col = columns[t];
    ts.meta.rank = ranks[t];
    uint64_t first = ts.committed;
    std::vector<ChunkEntry> written;
    bool compress = ts.meta.sample_compression != Compression::kNone && !col.encoded();
    size_t esize = dtype_size(ts.meta.dtype);
    for (size_t i = 0; i < n; ++i) {
      std::string_view raw = col.bytes(i);
      const Shape& shape = col.shape(i, &shape_scratch);
      uint64_t raw_bytes = col.encoded() ? static_cast<uint64_t>(shape_numel(shape)) * esize : raw.size();
      std::string_view stored = col.encoded() && raw_bytes == 0 ? std::string_view() : raw;
      if (compress && !raw.empty()) {
        if (col.arrays) {
          GTN_RETURN_IF_ERROR(encode_sample(ts.meta, (*col.arrays)[i], &scratch));
        } else {
          GTN_ASSIGN_OR_RETURN(Array v, Array::View(ts.meta.dtype, shape, raw.data(), raw.size(), nullptr));
          GTN_RETURN_IF_ERROR(encode_sample(ts.meta, v, &scratch));
        }
        stored = scratch;
      }
      GTN_RETURN_IF_ERROR(writer_.add(ts.meta, &ts.pending, &first, stored, shape, raw_bytes, &written));
    }
    sealed = sealed || !written.empty();
    for (auto& e : written) {
      for (const auto& f : e.files) {
        unpublished_[f.id] = chunk_key(ts.meta.key, f.id);
        fresh_[f.id] = chunk_key(ts.meta.key, f.id);
      }
      ts.push_entry(std::move(e));
    }
  }
  append_ids(n);
  length_ += n;
  dirty_ = true;
  if (sealed) GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/every_chunk()));
  return Status::OK();
}

// Ids for `n` new rows: the next ids of this writer's id block.
void DatasetImpl::append_ids(uint64_t n) {
  while (n > 0) {
    if (id_block_ == 0 || id_next_ >= UINT32_MAX) {
      do {
        id_block_ = rng_();
      } while (id_block_ == 0);
      id_next_ = 0;
    }
    uint32_t take = static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX - id_next_));
    append_entry(&ids_, id_run(id_block_, static_cast<uint32_t>(id_next_), take));
    id_next_ += take;
    n -= take;
  }
}

Status DatasetImpl::cut_ids(uint64_t n) {
  return cut_table(&ids_, n, [](const ChunkEntry&, uint32_t, uint32_t) -> Result<uint64_t> { return uint64_t{0}; });
}

Result<uint64_t> DatasetImpl::slice_raw(const TensorState& ts, const ChunkEntry& e, uint32_t first,
                                        uint32_t count) const {
  if (e.is_tiled()) return e.raw_bytes;
  TableEntry probe(e);
  GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, probe));
  const ShapeEncoder& shapes = c->header.shapes;
  size_t esize = dtype_size(ts.meta.dtype);
  uint64_t raw = 0;
  for (uint32_t j = first; j < first + count;) {
    uint32_t end = std::min(first + count, shapes.run_end(j));
    raw += static_cast<uint64_t>(shape_numel(shapes.shape(j))) * esize * (end - j);
    j = end;
  }
  return raw;
}

RawBytesFn DatasetImpl::raw_fn(const TensorState& ts) const {
  return [this, &ts](const ChunkEntry& e, uint32_t first, uint32_t count) { return slice_raw(ts, e, first, count); };
}

Status DatasetImpl::update(const std::string& tensor, uint64_t index, const Array& value) {
  return update(tensor, std::vector<uint64_t>{index}, std::vector<Array>{value});
}

Status DatasetImpl::update(const std::string& tensor, const std::vector<uint64_t>& indices,
                           const std::vector<Array>& values) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(tensor));
  if (indices.size() != values.size()) {
    return Status::InvalidArgument("update: " + std::to_string(indices.size()) + " indices but " +
                                   std::to_string(values.size()) + " values");
  }
  TensorState& ts = *tensors_[t];
  // Check everything before writing anything.
  TensorMeta probe = ts.meta;
  for (size_t k = 0; k < indices.size(); ++k) {
    GTN_RETURN_IF_ERROR(check_index(indices[k]));
    Status st = check_sample(probe, values[k]);
    if (!st.ok()) return indices.size() == 1 ? st : st.WithContext("value " + std::to_string(k));
    if (probe.rank < 0) probe.rank = rank_fixed_by(values[k]);
  }
  ts.meta.rank = probe.rank;
  // The last value of each index, grouped by the chunk table entry holding it (or the
  // pending chunk); entries are rewritten from the last to the first, so earlier
  // positions in the table stay valid while later ones split.
  std::map<size_t, std::map<uint64_t, const Array*>, std::greater<size_t>> by_entry;
  std::map<uint64_t, const Array*> in_pending;
  for (size_t k = 0; k < indices.size(); ++k) {
    uint64_t i = indices[k];
    if (i >= ts.committed) {
      in_pending[i] = &values[k];
    } else {
      by_entry[ts.find(i)][i] = &values[k];
    }
  }
  if (!in_pending.empty()) {
    size_t esize = dtype_size(ts.meta.dtype);
    PendingChunk rebuilt;
    std::string stored;
    for (uint32_t j = 0; j < ts.pending.size(); ++j) {
      auto it = in_pending.find(ts.committed + j);
      if (it == in_pending.end()) {
        Shape s = ts.pending.shapes.shape(j);
        rebuilt.add(ts.pending.stored(j), s, static_cast<uint64_t>(shape_numel(s)) * esize);
      } else {
        GTN_RETURN_IF_ERROR(encode_sample(ts.meta, *it->second, &stored));
        rebuilt.add(stored, it->second->shape(), static_cast<uint64_t>(it->second->numel()) * esize);
      }
    }
    ts.pending = std::move(rebuilt);
  }
  if (!by_entry.empty()) {
    std::map<uint64_t, const Array*> patch;
    for (const auto& [k, vals] : by_entry) patch.insert(vals.begin(), vals.end());
    GTN_RETURN_IF_ERROR(write_patch(ts, patch));
    dirty_ = true;
  }
  return Status::OK();
}

// Writes the new values of committed samples into one patch chunk (several when they pass
// the target size) and points the table at them: an update costs the bytes of the values.
Status DatasetImpl::write_patch(TensorState& ts, const std::map<uint64_t, const Array*>& values) {
  size_t esize = dtype_size(ts.meta.dtype);
  PendingChunk scratch;
  uint64_t pos = 0;
  std::vector<ChunkEntry> written;
  std::string stored;
  for (const auto& [i, value] : values) {
    GTN_RETURN_IF_ERROR(encode_sample(ts.meta, *value, &stored));
    GTN_RETURN_IF_ERROR(writer_.add(ts.meta, &scratch, &pos, stored, value->shape(),
                                    static_cast<uint64_t>(value->numel()) * esize, &written));
  }
  GTN_RETURN_IF_ERROR(writer_.seal(ts.meta, &scratch, &pos, &written));
  std::vector<TableEdit> edits;
  edits.reserve(values.size());
  size_t w = 0;
  uint64_t k = 0;
  for (const auto& [i, value] : values) {
    while (k >= written[w].first_sample + written[w].num_samples) ++w;
    TableEdit edit;
    edit.index = i;
    edit.with = written[w];
    edit.with.chunk_offset = static_cast<uint32_t>(k - written[w].first_sample);
    edit.with.num_samples = 1;
    edit.with.raw_bytes = static_cast<uint64_t>(value->numel()) * esize;
    edits.push_back(std::move(edit));
    ++k;
  }
  for (const auto& e : written) {
    for (const auto& f : e.files) {
      unpublished_[f.id] = chunk_key(ts.meta.key, f.id);
      fresh_[f.id] = chunk_key(ts.meta.key, f.id);
    }
  }
  // Each entry holding updated samples is split in place, from the last to the first, so
  // a small update costs the entries it touches (plus renumbering positions); a large one
  // rebuilds the table once.
  std::map<size_t, std::vector<TableEdit>> by_entry;
  for (auto& edit : edits) by_entry[ts.find(edit.index)].push_back(edit);
  if (by_entry.size() > kSpliceLimit) {
    std::vector<ChunkEntry> table = ts.table();
    GTN_RETURN_IF_ERROR(edit_table(&table, edits, raw_fn(ts)));
    ts.set_table(std::move(table));
    return Status::OK();
  }
  for (auto it = by_entry.rbegin(); it != by_entry.rend(); ++it) {
    std::vector<ChunkEntry> pieces{ts.entries[it->first]->entry};
    GTN_RETURN_IF_ERROR(edit_table(&pieces, it->second, raw_fn(ts)));
    ts.splice(it->first, it->first + 1, std::move(pieces));
  }
  ts.renumber_from(by_entry.begin()->first);
  return Status::OK();
}

Status DatasetImpl::delete_samples(const std::vector<uint64_t>& indices) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  std::vector<uint64_t> sorted = indices;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (uint64_t i : sorted) GTN_RETURN_IF_ERROR(check_index(i));
  if (sorted.empty()) return Status::OK();
  // Rows in pending chunks are sealed first, so every row is a slice of a chunk file.
  GTN_RETURN_IF_ERROR(seal_all());
  std::vector<TableEdit> edits(sorted.size());
  for (size_t k = 0; k < sorted.size(); ++k) {
    edits[k].index = sorted[k];
    edits[k].erase = true;
  }
  for (auto& ts : tensors_) {
    std::vector<ChunkEntry> table = ts->table();
    GTN_RETURN_IF_ERROR(cut_table(&table, length_, raw_fn(*ts)));
    GTN_RETURN_IF_ERROR(edit_table(&table, edits, raw_fn(*ts)));
    ts->set_table(std::move(table));
  }
  GTN_RETURN_IF_ERROR(cut_ids(length_));
  GTN_RETURN_IF_ERROR(edit_table(&ids_, edits, [](const ChunkEntry&, uint32_t, uint32_t) -> Result<uint64_t> {
    return uint64_t{0};
  }));
  renumber(&ids_);
  length_ -= sorted.size();
  dirty_ = true;
  return Status::OK();
}

Status DatasetImpl::pop() {
  GTN_RETURN_IF_ERROR(check_writable_now());
  if (length_ == 0) return Status::OutOfRange("pop on an empty dataset " + path_);
  return truncate(length_ - 1);
}

Status DatasetImpl::truncate(uint64_t length) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  if (length > length_) {
    return Status::OutOfRange("truncate to " + std::to_string(length) + " samples: the dataset has only " +
                              std::to_string(length_));
  }
  for (auto& ts : tensors_) GTN_RETURN_IF_ERROR(truncate(*ts, length));
  GTN_RETURN_IF_ERROR(cut_ids(length));
  length_ = length;
  dirty_ = true;
  return Status::OK();
}

// Cuts tensor `ts` to `n` samples: pending samples past n are dropped, and the chunk
// table is cut to a slice (no chunk file is written).
Status DatasetImpl::truncate(TensorState& ts, uint64_t n) {
  size_t esize = dtype_size(ts.meta.dtype);
  while (ts.committed + ts.pending.size() > n && ts.pending.size() > 0) ts.pending.pop_back(esize);
  if (ts.committed > n) {
    std::vector<ChunkEntry> table = ts.table();
    GTN_RETURN_IF_ERROR(cut_table(&table, n, raw_fn(ts)));
    ts.set_table(std::move(table));
    dirty_ = true;
  }
  return Status::OK();
}

Status DatasetImpl::seal_pending(TensorState& ts) {
  if (ts.pending.size() == 0) return Status::OK();
  std::vector<ChunkEntry> written;
  uint64_t first = ts.committed;
  GTN_RETURN_IF_ERROR(writer_.seal(ts.meta, &ts.pending, &first, &written));
  for (auto& e : written) {
    for (const auto& f : e.files) {
      unpublished_[f.id] = chunk_key(ts.meta.key, f.id);
      fresh_[f.id] = chunk_key(ts.meta.key, f.id);
    }
    ts.push_entry(std::move(e));
  }
  return Status::OK();
}

Status DatasetImpl::seal_all() {
  for (auto& ts : tensors_) GTN_RETURN_IF_ERROR(seal_pending(*ts));
  return Status::OK();
}

Status DatasetImpl::flush() {
  GTN_RETURN_IF_ERROR(check_writable_now());
  bool sealed = false;
  for (auto& ts : tensors_) {
    sealed = sealed || ts->pending.size() > 0;
    GTN_RETURN_IF_ERROR(seal_pending(*ts));
  }
  if (sealed || dirty_ || !manifest_durable_) GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/true));
  reclaim_superseded();
  return Status::OK();
}

// Publishes the chunk tables in the uncommitted state's manifest (renamed into place
// atomically), starting a new uncommitted state on top of the head commit first when the
// branch names a commit. `durable`: first make every chunk file written since the last
// durable manifest durable, then fsync the manifest (see Durability). `commit`: the
// manifest is written frozen, with this record (always durable).
Status DatasetImpl::write_manifest(bool durable, const CommitMeta* commit) {
  if (detached_) return Status::Internal("write to a checked-out commit");
  // A published length never drops below what the writer has not deleted.
  uint64_t floor = std::min(length_, published_length_);
  for (auto& ts : tensors_) {
    if (ts->committed < floor) GTN_RETURN_IF_ERROR(seal_pending(*ts));
  }
  if (commit_.committed) GTN_RETURN_IF_ERROR(new_working_version());
  Manifest m;
  m.version_id = version_id_;
  m.length = length_;
  m.next_tensor_key = next_key_;
  m.commit = commit ? *commit : commit_;
  for (const auto& ts : tensors_) {
    m.length = std::min(m.length, ts->committed);
    m.tensors.push_back(ts->meta);
  }
  if (tensors_.empty()) m.length = 0;
  std::string section;
  std::vector<NodeRef> placed;
  std::vector<ChunkEntry> ids = ids_;
  GTN_RETURN_IF_ERROR(cut_table(&ids, m.length, [](const ChunkEntry&, uint32_t, uint32_t) -> Result<uint64_t> {
    return uint64_t{0};
  }));
  // Fresh chunk files the tables still name (the others are reclaimed below).
  std::unordered_set<uint64_t> live;
  std::vector<std::vector<const ChunkEntry*>> tables;
  for (const auto& ts : tensors_) {
    tables.emplace_back();
    tables.back().reserve(ts->entries.size());
    for (const auto& e : ts->entries) {
      tables.back().push_back(&e->entry);
      if (fresh_.empty()) continue;
      for (const auto& f : e->entry.files) {
        if (fresh_.count(f.id)) live.insert(f.id);
      }
    }
  }
  NodeHolders holders;
  auto write_all = [&](const std::unordered_set<uint64_t>* evacuate) {
    m.roots.clear();
    m.roots.push_back(write_table(ids, version_id_, known_, &section, &placed, &holders, evacuate));
    for (const auto& t : tables) m.roots.push_back(write_table(t, version_id_, known_, &section, &placed, &holders, evacuate));
  };
  write_all(nullptr);
  if (holders.size() > kMaxNodeHolders) {
    std::vector<std::pair<uint64_t, uint64_t>> by_bytes(holders.begin(), holders.end());
    std::sort(by_bytes.begin(), by_bytes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    std::unordered_set<uint64_t> evacuate;
    // Size-tiered: the smallest few are merged here, so a merged manifest is not the
    // smallest next time and each node is copied a logarithmic number of times.
    for (size_t i = 0; i + kMaxNodeHolders - 2 < by_bytes.size(); ++i) evacuate.insert(by_bytes[i].first);
    section.clear();
    placed.clear();
    holders.clear();
    write_all(&evacuate);
  }
  durable = durable || ref_stale_ || commit;
  if (durable) {
    GTN_RETURN_IF_ERROR(writer_.sync_written());
    GTN_RETURN_IF_ERROR(storage_->write_atomic(manifest_key(version_id_), encode_manifest(m, section)));
  } else {
    GTN_RETURN_IF_ERROR(storage_->write_atomic_unsynced(manifest_key(version_id_), encode_manifest(m, section)));
  }
  if (ref_stale_) {
    GTN_RETURN_IF_ERROR(storage_->write_atomic(ref_key(branch_), encode_ref(version_id_)));
    ref_stale_ = false;
  }
  if (commit) {
    commit_ = *commit;
    for (const auto& r : placed) known_.add(r);
  }
  published_length_ = m.length;
  // Fresh chunk files the state no longer names: never published ones go now; the others
  // once no reader of this state is registered (reclaim_superseded).
  for (auto it = fresh_.begin(); it != fresh_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    {
      std::lock_guard<std::mutex> g(files_mu_);
      files_.erase(it->first);
    }
    if (unpublished_.count(it->first)) {
      (void)writer_.remove(it->second);  // a file left behind is an orphan, which fsck ignores
    } else {
      superseded_.push_back(it->second);
    }
    it = fresh_.erase(it);
  }
  unpublished_.clear();
  if (commit) fresh_.clear();  // now named by a commit: only gc deletes them
  manifest_durable_ = durable;
  dirty_ = false;
  return Status::OK();
}

Status DatasetImpl::new_working_version() {
  uint64_t parent = version_id_;
  do {
    version_id_ = rng_();
  } while (version_id_ == 0);
  commit_ = CommitMeta();
  commit_.parents = {parent};
  ref_stale_ = true;
  return Status::OK();
}

void DatasetImpl::reclaim_superseded() {
  if (superseded_.empty()) return;
  auto guard = storage_->lock_registry(/*exclusive=*/true);
  if (!guard.ok()) return;
  auto readers = storage_->live_reader_versions();
  if (!readers.ok()) return;
  for (uint64_t v : *readers) {
    if (v == version_id_) return;  // a reader of this state may still need them: try again at the next flush
  }
  for (const auto& key : superseded_) (void)storage_->remove(key);
  superseded_.clear();
}

}  // namespace gtn::store
