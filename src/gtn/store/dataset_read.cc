// Reads: resolving a sample to its chunk, mapping chunk files on first touch and verifying
// the bytes a read touches (see dataset_impl.h).
#include <algorithm>
#include <atomic>
#include <cstring>

#include "gtn/codec/compression.h"
#include "gtn/store/checksum.h"
#include "gtn/store/coding.h"
#include "gtn/store/sample_index.h"
#include "gtn/store/dataset_impl.h"
#include "gtn/store/tensor_rules.h"

namespace gtn::store {
namespace {

std::shared_ptr<const void> as_owner(const std::shared_ptr<const Bytes>& b) { return b; }

}  // namespace

void DatasetImpl::set_access_trace(std::shared_ptr<AccessTrace> trace) {
  access_trace_ = std::move(trace);
  ++trace_gen_;
}

uint32_t DatasetImpl::trace_id(const TensorState& ts) const {
  std::atomic_ref<uint64_t> key(ts.trace_key);
  uint64_t k = key.load(std::memory_order_relaxed);
  if ((k >> 32) == trace_gen_ && k != 0) return static_cast<uint32_t>(k);
  uint32_t id = access_trace_->tensor_id(ts.meta.name);
  key.store((static_cast<uint64_t>(trace_gen_) << 32) | id, std::memory_order_relaxed);
  return id;
}

Status DatasetImpl::check_range(uint64_t begin, uint64_t end) const {
  if (begin > end || end > length_) {
    return Status::OutOfRange("range [" + std::to_string(begin) + ", " + std::to_string(end) +
                              ") out of range for dataset of " + std::to_string(length_) + " samples");
  }
  return Status::OK();
}

Result<Array> DatasetImpl::read(const std::string& tensor, uint64_t index) const {
  GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(tensor));
  return read(t, index);
}

Result<Array> DatasetImpl::read(size_t t, uint64_t index) const {
  if (t >= tensors_.size()) return bad_tensor_index(t);
  GTN_RETURN_IF_ERROR(check_index(index));
  const TensorState& ts = *tensors_[t];
  AccessTrace::Recorder rec(access_trace_.get());
  if (rec.active()) rec.add(trace_id(ts), index, 1);
  if (index >= ts.committed) {
    uint32_t j = static_cast<uint32_t>(index - ts.committed);
    Shape shape = ts.pending.shapes.shape(j);
    Array out = Array::Zeros(ts.meta.dtype, shape);
    GTN_RETURN_IF_ERROR(decode_sample(ts.meta.sample_compression, ts.meta.dtype, shape, ts.pending.stored(j),
                                      out.mutable_data()));
    return out;
  }
  size_t k = ts.find(index);
  const TensorState::Hot& h = ts.hot[k];
  if (h.tiled) return read_tiled(ts, *ts.entries[k]);
  const LoadedChunk* c = h.slot->loaded.load(std::memory_order_acquire);
  if (!c || c->header.num_samples < static_cast<uint64_t>(h.offset) + h.count) {
    GTN_ASSIGN_OR_RETURN(c, loaded(ts, *ts.entries[k]));  // first use, or the error
  }
  uint32_t j = static_cast<uint32_t>(index - ts.firsts[k]) + h.offset;
  uint64_t off, len;
  c->header.positions.locate(j, &off, &len);
  Shape shape = c->header.shapes.shape(j);
  std::shared_ptr<const std::string> region;
  GTN_ASSIGN_OR_RETURN(const uint8_t* base, data_for(*c, off, len, &region));
  std::shared_ptr<const void> owner = std::move(region);
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

Result<Shape> DatasetImpl::sample_shape(size_t t, uint64_t index) const {
  if (t >= tensors_.size()) return bad_tensor_index(t);
  GTN_RETURN_IF_ERROR(check_index(index));
  const TensorState& ts = *tensors_[t];
  if (index >= ts.committed) return ts.pending.shapes.shape(static_cast<uint32_t>(index - ts.committed));
  const TableEntry& e = *ts.entries[ts.find(index)];
  GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, e));
  if (e.entry.is_tiled()) return c->header.shapes.shape(0);
  return c->header.shapes.shape(static_cast<uint32_t>(index - e.entry.first_sample) + e.entry.chunk_offset);
}

Result<Shape> DatasetImpl::read_into(size_t t, uint64_t index, void* dst, size_t capacity) const {
  if (t >= tensors_.size()) return bad_tensor_index(t);
  GTN_RETURN_IF_ERROR(check_index(index));
  const TensorState& ts = *tensors_[t];
  AccessTrace::Recorder rec(access_trace_.get());
  if (rec.active()) rec.add(trace_id(ts), index, 1);
  const TableEntry* e = index < ts.committed ? ts.entries[ts.find(index)].get() : nullptr;
  if (!e || e->entry.is_tiled()) {
    // Pending samples and tiled samples: through read().
    GTN_ASSIGN_OR_RETURN(Array a, read(t, index));
    if (a.nbytes() > capacity) return too_small(ts, index, a.nbytes(), capacity);
    if (a.nbytes()) std::memcpy(dst, a.data(), a.nbytes());
    return a.shape();
  }
  GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, *e));
  uint32_t j = static_cast<uint32_t>(index - e->entry.first_sample) + e->entry.chunk_offset;
  uint64_t off, len;
  c->header.positions.locate(j, &off, &len);
  Shape shape = c->header.shapes.shape(j);
  size_t need = static_cast<size_t>(shape_numel(shape)) * dtype_size(ts.meta.dtype);
  if (need > capacity) return too_small(ts, index, need, capacity);
  std::shared_ptr<const std::string> region;
  GTN_ASSIGN_OR_RETURN(const uint8_t* base, data_for(*c, off, len, &region));
  std::string_view stored(reinterpret_cast<const char*>(base + off), len);
  if (c->header.sample_compression != Compression::kNone && len > 0) {
    Status st = check_decodable(c->header.sample_compression, ts.meta.dtype, shape, stored);
    if (!st.ok()) return corrupt_chunk(*c, st);
  }
  Status st = decode_sample(c->header.sample_compression, ts.meta.dtype, shape, stored, dst);
  if (!st.ok()) return corrupt_chunk(*c, st);
  return shape;
}

Result<uint64_t> DatasetImpl::read_rows_into(size_t t, uint64_t begin, uint64_t end, const Shape& shape, void* dst,
                                             size_t capacity) const {
  if (t >= tensors_.size()) return bad_tensor_index(t);
  GTN_RETURN_IF_ERROR(check_range(begin, end));
  const TensorState& ts = *tensors_[t];
  GTN_RETURN_IF_ERROR(check_shape_limits(shape));
  AccessTrace::Recorder rec(access_trace_.get());
  if (rec.active()) rec.add(trace_id(ts), begin, end - begin);
  uint64_t row = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(ts.meta.dtype);
  if (row != 0 && (end - begin) > capacity / row) {
    return Status::InvalidArgument(std::to_string(end - begin) + " samples of " + std::to_string(row) +
                                   " bytes need more than the buffer's " + std::to_string(capacity));
  }
  auto* out = static_cast<uint8_t*>(dst);
  uint64_t i = begin;
  while (i < end) {
    const TableEntry* e = i < ts.committed ? ts.entries[ts.find(i)].get() : nullptr;
    bool plain = e && !e->entry.is_tiled() && ts.meta.sample_compression == Compression::kNone;
    const LoadedChunk* c = nullptr;
    if (plain) {
      GTN_ASSIGN_OR_RETURN(c, loaded(ts, *e));
      plain = c->header.chunk_compression == Compression::kNone && c->header.sample_compression == Compression::kNone;
    }
    if (!plain) {
      // Pending, tiled and compressed samples: one at a time.
      Result<Shape> got = read_into(t, i, out, row);
      if (!got.ok()) {
        if (got.status().code() == StatusCode::kInvalidArgument) break;  // larger than `shape`
        return got.status();
      }
      if (*got != shape) break;
      ++i;
      out += row;
      continue;
    }
    uint32_t j0 = static_cast<uint32_t>(i - e->entry.first_sample) + e->entry.chunk_offset;
    if (!c->header.shapes.has_shape(j0, shape)) break;
    uint32_t jn = static_cast<uint32_t>(std::min<uint64_t>(end - e->entry.first_sample, e->entry.num_samples)) +
                  e->entry.chunk_offset;
    jn = std::min({jn, c->header.shapes.run_end(j0), c->header.positions.run_end(j0)});
    uint64_t off, len;
    c->header.positions.locate(j0, &off, &len);
    if (len != row) return corrupt_chunk(*c, Status::Corruption("sample holds " + std::to_string(len) +
                                                                 " bytes, its shape needs " + std::to_string(row)));
    uint64_t bytes = static_cast<uint64_t>(jn - j0) * row;
    GTN_RETURN_IF_ERROR(ensure_verified(*c, off, bytes));
    if (bytes) std::memcpy(out, c->data + off, bytes);
    out += bytes;
    i += jn - j0;
  }
  return i - begin;
}

Result<Array> DatasetImpl::read_rows_view(size_t t, uint64_t begin, uint64_t end, const Shape& shape) const {
  if (t >= tensors_.size()) return bad_tensor_index(t);
  GTN_RETURN_IF_ERROR(check_range(begin, end));
  const TensorState& ts = *tensors_[t];
  GTN_RETURN_IF_ERROR(check_shape_limits(shape));
  AccessTrace::Recorder rec(access_trace_.get());
  if (rec.active()) rec.add(trace_id(ts), begin, end - begin);
  Shape out_shape = shape;
  out_shape.insert(out_shape.begin(), 0);
  uint64_t row = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(ts.meta.dtype);
  if (begin == end) return Array::Zeros(ts.meta.dtype, out_shape);
  const TableEntry* e = begin < ts.committed ? ts.entries[ts.find(begin)].get() : nullptr;
  if (e && !e->entry.is_tiled() && ts.meta.sample_compression == Compression::kNone && row > 0) {
    GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, *e));
    if (c->header.sample_compression == Compression::kNone) {
      uint32_t j0 = static_cast<uint32_t>(begin - e->entry.first_sample) + e->entry.chunk_offset;
      if (!c->header.shapes.has_shape(j0, shape)) return Array::Zeros(ts.meta.dtype, out_shape);
      uint32_t jn = static_cast<uint32_t>(std::min<uint64_t>(end - e->entry.first_sample, e->entry.num_samples)) +
                    e->entry.chunk_offset;
      jn = std::min({jn, c->header.shapes.run_end(j0), c->header.positions.run_end(j0)});
      uint64_t off, len;
      c->header.positions.locate(j0, &off, &len);
      if (len != row) return corrupt_chunk(*c, Status::Corruption("sample holds " + std::to_string(len) +
                                                                   " bytes, its shape needs " + std::to_string(row)));
      uint64_t bytes = static_cast<uint64_t>(jn - j0) * row;
      std::shared_ptr<const std::string> region;
      GTN_ASSIGN_OR_RETURN(const uint8_t* base, data_for(*c, off, bytes, &region));
      std::shared_ptr<const void> owner = std::move(region);
      if (!owner) owner = as_owner(c->file);
      out_shape[0] = jn - j0;
      auto view = Array::View(ts.meta.dtype, std::move(out_shape), base + off, bytes, std::move(owner));
      if (!view.ok()) return corrupt_chunk(*c, view.status());
      return view;
    }
  }
  // Elsewhere: decoded into a new array, a bounded number of rows at a time.
  uint64_t n = std::min<uint64_t>(end - begin, row ? std::max<uint64_t>(1, (64ull << 20) / row) : end - begin);
  if (e) n = std::min<uint64_t>(n, e->entry.first_sample + e->entry.num_samples - begin);
  out_shape[0] = static_cast<int64_t>(n);
  Array out = Array::Zeros(ts.meta.dtype, out_shape);
  GTN_ASSIGN_OR_RETURN(uint64_t got, read_rows_into(t, begin, begin + n, shape, out.mutable_data(), out.nbytes()));
  if (got == n) return out;
  out_shape[0] = static_cast<int64_t>(got);
  return Array::Copy(ts.meta.dtype, out_shape, out.data(), got * row);
}

Result<Dataset::BytesRows> DatasetImpl::read_bytes_rows(size_t t, uint64_t begin, uint64_t end) const {
  if (t >= tensors_.size()) return bad_tensor_index(t);
  GTN_RETURN_IF_ERROR(check_range(begin, end));
  if (begin == end) return Status::OutOfRange("read_bytes_rows needs at least one row; [" + std::to_string(begin) + ", " +
                                              std::to_string(end) + ") is empty");
  const TensorState& ts = *tensors_[t];
  AccessTrace::Recorder rec(access_trace_.get());
  if (rec.active()) rec.add(trace_id(ts), begin, end - begin);
  BytesRows out;
  const TableEntry* e = begin < ts.committed ? ts.entries[ts.find(begin)].get() : nullptr;
  if (!e || e->entry.is_tiled() || ts.meta.sample_compression != Compression::kNone) {
    // Buffered, tiled or sample-compressed rows: one at a time, through read().
    GTN_ASSIGN_OR_RETURN(Array a, read(t, begin));
    auto keep = std::make_shared<Array>(std::move(a));
    out.items.push_back(keep->as_string_view());
    out.owner = keep;
    return out;
  }
  GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, *e));
  uint32_t j0 = static_cast<uint32_t>(begin - e->entry.first_sample) + e->entry.chunk_offset;
  uint32_t jn = static_cast<uint32_t>(std::min<uint64_t>(end - e->entry.first_sample, e->entry.num_samples)) +
                e->entry.chunk_offset;
  uint64_t first_off, len;
  c->header.positions.locate(j0, &first_off, &len);
  uint64_t last_off;
  c->header.positions.locate(jn - 1, &last_off, &len);
  std::shared_ptr<const std::string> region;
  GTN_ASSIGN_OR_RETURN(const uint8_t* base, data_for(*c, first_off, last_off + len - first_off, &region));
  if (c->header.sample_compression != Compression::kNone) {
    return Status::Corruption("chunk of tensor '" + ts.meta.name + "' is sample-compressed, its schema says none");
  }
  out.items.reserve(jn - j0);
  c->header.positions.for_each(j0, jn, [&](uint32_t, uint64_t off, uint64_t n) {
    out.items.emplace_back(reinterpret_cast<const char*>(base + off), n);
  });
  out.owner = region ? std::shared_ptr<const void>(std::move(region)) : as_owner(c->file);
  return out;
}

Result<std::vector<ChunkSpan>> DatasetImpl::chunk_spans(size_t t) const {
  if (t >= tensors_.size()) return bad_tensor_index(t);
  const TensorState& ts = *tensors_[t];
  std::vector<ChunkSpan> out;
  out.reserve(ts.entries.size() + 1);
  for (const auto& te : ts.entries) {
    const ChunkEntry& e = te->entry;
    uint64_t end = std::min<uint64_t>(e.first_sample + e.num_samples, length_);
    if (e.first_sample >= end) break;
    ChunkSpan span;
    span.begin = e.first_sample;
    span.end = end;
    span.raw_bytes = e.raw_bytes;
    for (const auto& f : e.files) span.files.emplace_back(f.id, f.size);
    if (e.files.size() == 1 && e.files[0].stats) span.stats = *e.files[0].stats;
    out.push_back(std::move(span));
  }
  uint64_t covered = out.empty() ? 0 : out.back().end;
  if (covered < length_) {
    ChunkSpan buffered;
    buffered.begin = covered;
    buffered.end = length_;
    out.push_back(std::move(buffered));
  }
  return out;
}

Result<Sample> DatasetImpl::read_sample(uint64_t index) const {
  Sample out;
  AccessTrace::Recorder rec(access_trace_.get());
  for (size_t t = 0; t < tensors_.size(); ++t) {
    if (rec.active() && index < length_) rec.add(trace_id(*tensors_[t]), index, 1);
    GTN_ASSIGN_OR_RETURN(Array a, read(t, index));
    out.emplace(tensors_[t]->meta.name, std::move(a));
  }
  return out;
}

Result<std::vector<Sample>> DatasetImpl::read_batch(const std::vector<uint64_t>& indices) const {
  std::vector<Sample> out;
  out.reserve(indices.size());
  AccessTrace::Recorder rec(access_trace_.get());
  if (rec.active()) {
    for (size_t t = 0; t < tensors_.size(); ++t) {
      uint32_t id = trace_id(*tensors_[t]);
      for (uint64_t i : indices) {
        if (i < length_) rec.add(id, i, 1);
      }
    }
  }
  for (uint64_t i : indices) {
    GTN_ASSIGN_OR_RETURN(Sample s, read_sample(i));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Array>> DatasetImpl::read_range(const std::string& tensor, uint64_t begin, uint64_t end) const {
  GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(tensor));
  GTN_RETURN_IF_ERROR(check_range(begin, end));
  AccessTrace::Recorder rec(access_trace_.get());
  if (rec.active()) rec.add(trace_id(*tensors_[t]), begin, end - begin);
  std::vector<Array> out;
  out.reserve(end - begin);
  for (uint64_t i = begin; i < end; ++i) {
    GTN_ASSIGN_OR_RETURN(Array a, read(t, i));
    out.push_back(std::move(a));
  }
  return out;
}

Status DatasetImpl::corrupt_chunk(const LoadedChunk& c, const Status& st) const {
  return Status::Corruption(path_ + "/" + c.key + ": " + st.message());
}

// Maps chunk file `ref` of tensor `ts` and checks its header on first use. Chunk format 1:
// the whole-file checksum (the file is read once). Chunk format 2: the header checksum
// only; data blocks are verified as reads touch them (ensure_verified).
Result<std::shared_ptr<const LoadedChunk>> DatasetImpl::load_file(const TensorState& ts,
                                                                  const ChunkFileRef& ref) const {
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
  if (options_.verify_checksums) {
    // Verification knows which bytes a read needs (the header, then whole blocks) and asks
    // for them in one request each; otherwise the kernel's read-around fetches them.
    c->file->hint_random_access();
    if (c->file->size() >= kChunkFixedHeaderBytes &&
        load_le<uint16_t>(c->file->data() + 4) == kChunkFormatVersion1) {
      c->file->hint_will_need(0, c->file->size());  // format 1: the whole file is checked
    } else if (c->file->size() >= kChunkFixedHeaderBytes) {
      c->file->hint_will_need(0, static_cast<size_t>(load_le<uint64_t>(c->file->data() + 16)));  // the header
    }
  }
  if (c->file->size() != ref.size) {
    return Status::Corruption(where + ": chunk file has " + std::to_string(c->file->size()) +
                              " bytes, the manifest says " + std::to_string(ref.size));
  }
  if (options_.verify_checksums) {
    auto sums = chunk_checksums(c->file->view());
    if (!sums.ok()) return Status::Corruption(where + ": " + sums.status().message());
    if (sums->computed != sums->stored || sums->stored != ref.checksum) {
      return Status::Corruption(where + ": checksum mismatch: stored " + checksum_to_string(sums->stored) +
                                ", computed " + checksum_to_string(sums->computed) + ", manifest " +
                                checksum_to_string(ref.checksum));
    }
  }
  Status st = parse_chunk(c->file->view(), &c->header);
  if (!st.ok()) return Status::Corruption(where + ": " + st.message());
  if (c->header.dtype != ts.meta.dtype) return Status::Corruption(where + ": chunk dtype differs from the tensor's");
  c->data = c->file->data() + c->header.data_offset;
  c->verified_words = (c->header.block_checksums.size() + 63) / 64;
  if (c->verified_words) {
    c->verified = std::make_unique<std::atomic<uint64_t>[]>(c->verified_words);
    for (size_t w = 0; w < c->verified_words; ++w) c->verified[w].store(0, std::memory_order_relaxed);
  }
  std::lock_guard<std::mutex> g(files_mu_);
  auto [it, inserted] = files_.emplace(ref.id, std::move(c));
  return it->second;
}

// The loaded first file of a table entry (shared by every slice of that file); lock-free
// after the file's first use. Every call checks that the file holds the entry's slice.
Result<const LoadedChunk*> DatasetImpl::loaded(const TensorState& ts, const TableEntry& e) const {
  const LoadedChunk* c = e.slot->loaded.load(std::memory_order_acquire);
  if (!c) {
    GTN_ASSIGN_OR_RETURN(auto sp, load_file(ts, e.entry.files[0]));
    std::lock_guard<std::mutex> g(load_mu_);
    if (!e.slot->holder) {
      e.slot->holder = sp;
      e.slot->loaded.store(sp.get(), std::memory_order_release);
    }
    c = e.slot->holder.get();
  }
  if (!e.entry.is_tiled() &&
      c->header.num_samples < static_cast<uint64_t>(e.entry.chunk_offset) + e.entry.num_samples) {
    return Status::Corruption(path_ + "/" + c->key + ": chunk holds " + std::to_string(c->header.num_samples) +
                              " samples, the manifest names samples " + std::to_string(e.entry.chunk_offset) + " to " +
                              std::to_string(e.entry.chunk_offset + e.entry.num_samples - 1));
  }
  return c;
}

// Chunk format 2: verifies the data blocks holding stored bytes [off, off + len) the first
// time a read touches them. One atomic load per block word when they are verified.
Status DatasetImpl::ensure_verified(const LoadedChunk& c, uint64_t off, uint64_t len) const {
  if (!c.verified_words || !options_.verify_checksums) return Status::OK();
  uint64_t first, last;
  if (!blocks_of(c.header, off, off + len, &first, &last)) return Status::OK();
  bool hinted = false;
  for (uint64_t b = first; b <= last; ++b) {
    uint64_t bit = 1ull << (b % 64);
    if (c.verified[b / 64].load(std::memory_order_acquire) & bit) continue;
    uint64_t block_begin = b * c.header.block_bytes;
    if (!hinted) {
      c.file->hint_will_need(static_cast<size_t>(c.header.data_offset + block_begin),
                             static_cast<size_t>((last - b + 1) * c.header.block_bytes));
      hinted = true;
    }
    Status st = verify_blocks(c.header, c.data, block_begin, block_begin + 1);
    if (!st.ok()) return corrupt_chunk(c, st);
    c.verified[b / 64].fetch_or(bit, std::memory_order_acq_rel);
  }
  return Status::OK();
}

Result<const uint8_t*> DatasetImpl::data_for(const LoadedChunk& c, uint64_t off, uint64_t len,
                                            std::shared_ptr<const std::string>* keep) const {
  if (c.header.chunk_compression == Compression::kNone) {
    GTN_RETURN_IF_ERROR(ensure_verified(c, off, len));
    return c.data;
  }
  GTN_ASSIGN_OR_RETURN(*keep, decompressed(c));
  return reinterpret_cast<const uint8_t*>((*keep)->data());
}

// The decompressed data region of a chunk-compressed chunk, through the LRU cache.
Result<std::shared_ptr<const std::string>> DatasetImpl::decompressed(const LoadedChunk& c) const {
  if (auto hit = cache_.get(c.id)) return hit;
  GTN_RETURN_IF_ERROR(ensure_verified(c, 0, c.header.stored_data_bytes));
  auto region = std::make_shared<std::string>(c.header.raw_data_bytes, '\0');
  std::string_view stored(reinterpret_cast<const char*>(c.data), c.header.stored_data_bytes);
  Status st = codec::decompress(c.header.chunk_compression, stored, region->data(), region->size());
  if (!st.ok()) return corrupt_chunk(c, st);
  std::shared_ptr<const std::string> out = std::move(region);
  cache_.put(c.id, out);
  return out;
}

// The stored bytes of a tiled sample, all tiles joined.
Result<std::string> DatasetImpl::tiled_bytes(const TensorState& ts, const TableEntry& e, Shape* shape) const {
  std::string stored;
  for (size_t i = 0; i < e.entry.files.size(); ++i) {
    GTN_ASSIGN_OR_RETURN(auto c, load_file(ts, e.entry.files[i]));
    const TileInfo& tile = c->header.tile;
    if (!c->header.is_tile() || tile.index != i || tile.count != e.entry.files.size() ||
        tile.offset != stored.size()) {
      return Status::Corruption(path_ + "/" + c->key + ": tile " + std::to_string(i) + " is out of place");
    }
    GTN_RETURN_IF_ERROR(ensure_verified(*c, 0, c->header.stored_data_bytes));
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

Result<Array> DatasetImpl::read_tiled(const TensorState& ts, const TableEntry& e) const {
  Shape shape;
  GTN_ASSIGN_OR_RETURN(std::string stored, tiled_bytes(ts, e, &shape));
  std::string where = path_ + "/" + chunk_key(ts.meta.key, e.entry.files[0].id);
  Status st = check_decodable(ts.meta.sample_compression, ts.meta.dtype, shape, stored);
  if (!st.ok()) return Status::Corruption(where + ": " + st.message());
  Array out = Array::Zeros(ts.meta.dtype, shape);
  st = decode_sample(ts.meta.sample_compression, ts.meta.dtype, shape, stored, out.mutable_data());
  if (!st.ok()) return Status::Corruption(where + ": " + st.message());
  return out;
}

}  // namespace gtn::store
