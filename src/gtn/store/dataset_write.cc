// Writes: appending rows, updates, pop/truncate, flush, publishing manifests and
// deleting chunk files nothing references any more (see dataset_impl.h).
#include <algorithm>

#include "gtn/codec/image_codec.h"
#include "gtn/store/dataset_impl.h"
#include "gtn/store/tensor_rules.h"

namespace gtn::store {

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
      for (const auto& f : e.files) unpublished_[f.id] = chunk_key(ts.meta.key, f.id);
      ts.push_entry(std::move(e));
    }
  }
  length_ += n;
  if (sealed) GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/every_chunk()));
  return Status::OK();
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
  for (const auto& [k, vals] : by_entry) GTN_RETURN_IF_ERROR(rewrite_entry(ts, k, vals));
  if (!by_entry.empty()) dirty_ = true;
  return Status::OK();
}

// Writes chunk table entry `k` of `ts` again with the samples in `values` replaced: chunk
// files are never modified.
Status DatasetImpl::rewrite_entry(TensorState& ts, size_t k, const std::map<uint64_t, const Array*>& values) {
  struct Item {
    std::string stored;
    Shape shape;
    uint64_t raw;
  };
  std::vector<Item> items;
  size_t esize = dtype_size(ts.meta.dtype);
  uint64_t first = ts.entries[k]->entry.first_sample;
  GTN_RETURN_IF_ERROR(gather(ts, *ts.entries[k], [&](std::string_view s, const Shape& shape) {
    items.push_back({std::string(s), shape, static_cast<uint64_t>(shape_numel(shape)) * esize});
  }));
  for (const auto& [i, value] : values) {
    Item& it = items[i - first];
    GTN_RETURN_IF_ERROR(encode_sample(ts.meta, *value, &it.stored));
    it.shape = value->shape();
    it.raw = static_cast<uint64_t>(value->numel()) * esize;
  }
  PendingChunk scratch;
  uint64_t pos = first;
  std::vector<ChunkEntry> written;
  for (const auto& it : items) {
    GTN_RETURN_IF_ERROR(writer_.add(ts.meta, &scratch, &pos, it.stored, it.shape, it.raw, &written));
  }
  GTN_RETURN_IF_ERROR(writer_.seal(ts.meta, &scratch, &pos, &written));
  for (const auto& e : written) {
    for (const auto& f : e.files) unpublished_[f.id] = chunk_key(ts.meta.key, f.id);
  }
  replace_entry(ts, k, std::move(written));
  return Status::OK();
}

void DatasetImpl::replace_entry(TensorState& ts, size_t k, std::vector<ChunkEntry> written) {
  drop_files(ts, ts.entries[k]->entry);
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

// The files of a table entry the tensor no longer references: deleted now when no manifest
// ever named them, else after the next durable manifest when no reader is registered.
void DatasetImpl::drop_files(const TensorState& ts, const ChunkEntry& e) {
  for (const auto& f : e.files) {
    std::string key = chunk_key(ts.meta.key, f.id);
    {
      std::lock_guard<std::mutex> g(files_mu_);
      files_.erase(f.id);
    }
    if (unpublished_.erase(f.id)) {
      (void)writer_.remove(key);  // a file left behind is an orphan, which fsck ignores
    } else {
      superseded_.push_back(std::move(key));
    }
  }
}

void DatasetImpl::reclaim_superseded() {
  if (superseded_.empty()) return;
  auto guard = storage_->lock_out_readers();
  if (!guard.ok() || !*guard) return;  // a reader may still need them: try again at the next flush
  for (const auto& key : superseded_) (void)storage_->remove(key);
  superseded_.clear();
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
  length_ = length;
  dirty_ = true;
  return Status::OK();
}

// Cuts tensor `ts` to `n` samples: drops whole chunks past n and moves the samples of a
// chunk that straddles n back into the pending chunk (write_manifest seals them again
// before it publishes a length that needs them).
Status DatasetImpl::truncate(TensorState& ts, uint64_t n) {
  size_t esize = dtype_size(ts.meta.dtype);
  while (ts.committed + ts.pending.size() > n && ts.pending.size() > 0) ts.pending.pop_back(esize);
  while (ts.committed > n) {
    std::unique_ptr<TableEntry> last = std::move(ts.entries.back());
    ts.entries.pop_back();
    ts.firsts.pop_back();
    ts.committed = last->entry.first_sample;
    dirty_ = true;
    if (last->entry.first_sample < n) {
      // The pending chunk is empty here: everything after `committed` was cut above.
      uint64_t keep = n - last->entry.first_sample;
      uint64_t j = 0;
      GTN_RETURN_IF_ERROR(gather(ts, *last, [&](std::string_view s, const Shape& shape) {
        if (j++ < keep) ts.pending.add(s, shape, static_cast<uint64_t>(shape_numel(shape)) * esize);
      }));
    }
    drop_files(ts, last->entry);
  }
  return Status::OK();
}

Status DatasetImpl::seal_pending(TensorState& ts) {
  if (ts.pending.size() == 0) return Status::OK();
  std::vector<ChunkEntry> written;
  uint64_t first = ts.committed;
  GTN_RETURN_IF_ERROR(writer_.seal(ts.meta, &ts.pending, &first, &written));
  for (auto& e : written) {
    for (const auto& f : e.files) unpublished_[f.id] = chunk_key(ts.meta.key, f.id);
    ts.push_entry(std::move(e));
  }
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

// Publishes the chunk tables in the version's manifest (renamed into place atomically).
// `durable`: first make every chunk file written since the last durable manifest durable,
// then fsync the manifest (see Durability).
Status DatasetImpl::write_manifest(bool durable) {
  // A published length never drops below what the writer has not deleted: samples that a
  // pop or truncate moved back into a pending chunk are sealed again first.
  uint64_t floor = std::min(length_, published_length_);
  for (auto& ts : tensors_) {
    if (ts->committed < floor) GTN_RETURN_IF_ERROR(seal_pending(*ts));
  }
  Manifest m;
  m.version_id = version_id_;
  m.parent_id = parent_id_;
  m.length = length_;
  m.next_tensor_key = next_key_;
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
  published_length_ = m.length;
  unpublished_.clear();
  manifest_durable_ = durable;
  dirty_ = false;
  return Status::OK();
}

}  // namespace gtn::store
