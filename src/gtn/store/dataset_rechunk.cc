// Rechunk: rewriting the chunks of chosen tensors with new chunk sizes, compressions and
// levels, optionally in a new row order, streaming within a memory bound, committed as one
// commit (docs/layout.md, "Rechunk"; see dataset_impl.h for the other concerns).
//
// Nothing is published before the end: the new chunk files are written beside the old
// ones, named by no manifest, and the commit's manifest is renamed into place before the
// branch ref moves to it. A rechunk killed at any point leaves the branch at its last
// commit; the chunk files it wrote are orphans that gc deletes. A rechunk that fails
// deletes them itself.
//
// Memory: every buffer the rewrite holds is charged to a meter (source chunk files while
// mapped, decompressed source regions, the reorder window, decode and encode scratch, the
// pending output chunk and its index, the encoding of a chunk being sealed, the inverse
// permutation and the new id table). The plan sizes the reorder window from what is left
// of max_memory, and refuses up front when the fixed parts alone do not fit.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <unordered_set>

#include "gtn/codec/compression.h"
#include "gtn/codec/image_codec.h"
#include "gtn/store/checksum.h"
#include "gtn/store/coding.h"
#include "gtn/store/dataset_impl.h"
#include "gtn/store/tensor_rules.h"

namespace gtn::store {
namespace {

// Bytes one id table entry costs in memory (ChunkEntry, its file reference, allocator).
constexpr uint64_t kIdEntryBytes = sizeof(ChunkEntry) + sizeof(ChunkFileRef) + 32;
// Bytes a reorder window spends per row besides the row's stored bytes: its place in the
// sorted request list, its slot (offset, length, shape) and the shape's dimensions.
constexpr uint64_t kWindowRowBytes = 2 * sizeof(uint64_t) + 2 * sizeof(uint64_t) + sizeof(Shape);

std::string bytes_str(uint64_t n) { return std::to_string(n) + " bytes"; }

// The memory a rechunk holds by its own accounting, and the most it held at once.
class MemoryMeter {
 public:
  void charge(uint64_t n) {
    now_ += n;
    peak_ = std::max(peak_, now_);
  }
  void release(uint64_t n) { now_ -= std::min(now_, n); }
  uint64_t peak() const { return peak_; }

 private:
  uint64_t now_ = 0, peak_ = 0;
};

// An amount held on a meter that follows the size of one buffer.
class Held {
 public:
  explicit Held(MemoryMeter* meter) : meter_(meter) {}
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  ~Held() { meter_->release(n_); }
  void set(uint64_t n) {
    if (n > n_) meter_->charge(n - n_);
    else meter_->release(n_ - n);
    n_ = n;
  }

 private:
  MemoryMeter* meter_;
  uint64_t n_ = 0;
};

// The bytes a pending chunk's sample index holds (and its encoding in the sealed header).
uint64_t index_bytes(const PendingChunk& p, int rank) {
  uint64_t dims = static_cast<uint64_t>(std::max(rank, 1));
  return p.positions.num_runs() * (sizeof(uint32_t) + 2 * sizeof(uint64_t)) +
         p.shapes.num_runs() * (sizeof(uint32_t) + 1 + dims * sizeof(int64_t));
}

bool sample_codec_changes(const TensorMeta& from, const TensorMeta& to) {
  if (from.sample_compression != to.sample_compression) return true;
  return codec::is_byte_codec(to.sample_compression) && from.compression_level != to.compression_level;
}

}  // namespace

// The rewrite of one rechunk() call (a friend of DatasetImpl).
class Rechunker {
 public:
  Rechunker(DatasetImpl* ds, const RechunkOptions& options) : ds_(*ds), opt_(options) {}
  Result<RechunkStats> run();

 private:
  // One tensor to rewrite.
  struct Job {
    TensorState* src = nullptr;  // null: the new order tensor
    TensorMeta meta;             // the new schema entry
    bool remap = false;          // neighbors values follow the new order
    bool transcode = false;      // samples are decoded and encoded again
    uint64_t data_bound = 0;     // at least the stored bytes the job writes
    std::vector<ChunkEntry> table;
    PendingChunk pending;
    uint64_t first = 0;
    std::string raw, encoded;    // decode and encode scratch
  };
  // A source table entry opened for reading its samples' stored bytes.
  struct Source {
    std::shared_ptr<const Bytes> file;
    ChunkHeader header;
    const uint8_t* base = nullptr;  // the (decompressed) data region
    std::string region;             // decompressed region, or the joined tiles
    std::vector<bool> verified;     // data blocks already checked
    bool tiled = false;
    Shape tiled_shape;
  };

  Status plan();
  Status check_order();
  Status check_memory();
  Status open_source(const TensorState& ts, const ChunkEntry& e, Source* out, Held* held);
  Result<std::string_view> source_sample(const TensorState& ts, Source& s, uint32_t j, Shape* shape);
  Status rewrite_in_order(Job& job);
  Status rewrite_reordered(Job& job);
  Status write_order_tensor(Job& job);
  Status emit(Job& job, std::string_view stored, const Shape& shape, uint64_t row);
  Status finish(Job& job);
  Status after_add(Job& job, size_t written_before, uint64_t raw);
  // The stored bytes of every source row (null `sizes`: not kept), the largest, and the
  // most one opened source entry holds (mapped file, decompressed region, joined tiles).
  Status scan_source(const TensorState& ts, std::vector<uint64_t>* sizes, uint64_t* largest, uint64_t* max_read);
  Status install_and_commit();
  void discard();
  std::string default_message() const;

  DatasetImpl& ds_;
  const RechunkOptions& opt_;
  MemoryMeter meter_;
  RechunkStats stats_;
  std::vector<Job> jobs_;
  uint64_t rows_ = 0;
  bool new_order_tensor_ = false;
  std::vector<uint64_t> inverse_;   // with remapped neighbors: old row -> new row
  std::vector<ChunkEntry> new_ids_;
  std::vector<std::string> written_keys_;
  uint64_t progress_total_ = 0, progress_done_ = 0;
  uint64_t write_reserve_ = 0;      // the largest write-side charge of one job
};

Result<RechunkStats> DatasetImpl::rechunk(const RechunkOptions& options) {
  Rechunker r(this, options);
  return r.run();
}

Result<RechunkStats> Rechunker::run() {
  GTN_RETURN_IF_ERROR(ds_.check_writable_now());
  if (ds_.head_commit().empty()) {
    return Status::InvalidArgument("dataset " + ds_.path_ + " has no commit yet: commit before rechunk (a rechunk is a "
                                   "commit of its own, and the layout before it stays readable at that commit)");
  }
  if (ds_.has_uncommitted_changes()) {
    return Status::InvalidArgument("branch '" + ds_.branch_ + "' of " + ds_.path_ +
                                   " has uncommitted changes: commit or reset them before rechunk (a rechunk is a "
                                   "commit of its own)");
  }
  GTN_RETURN_IF_ERROR(plan());
  GTN_RETURN_IF_ERROR(check_memory());
  Held inverse_held(&meter_);
  if (std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.remap; })) {
    inverse_.resize(rows_);
    inverse_held.set(inverse_.capacity() * sizeof(uint64_t));
    for (uint64_t i = 0; i < rows_; ++i) inverse_[(*opt_.order)[i]] = i;
  }
  Status st;
  try {
    for (auto& job : jobs_) {
      if (!job.src) st = write_order_tensor(job);
      else if (opt_.order) st = rewrite_reordered(job);
      else st = rewrite_in_order(job);
      if (!st.ok()) break;
    }
  } catch (...) {
    discard();  // the progress callback threw: the rechunk is cancelled
    throw;
  }
  if (st.ok()) st = install_and_commit();
  if (!st.ok()) {
    discard();
    return st;
  }
  stats_.peak_memory = meter_.peak();
  return stats_;
}

// Which tensors are rewritten and how, every argument checked before anything is written.
Status Rechunker::plan() {
  if (ds_.tensors_.empty()) return Status::InvalidArgument("dataset " + ds_.path_ + " has no tensors to rechunk");
  rows_ = ds_.length_;
  if (!opt_.order_tensor.empty() && !opt_.order) {
    return Status::InvalidArgument("order_tensor '" + opt_.order_tensor + "' needs an order (the positions it keeps)");
  }
  if (opt_.max_memory == 0) return Status::InvalidArgument("max_memory must be > 0 bytes");
  for (const auto& [name, layout] : opt_.layouts) {
    if (!opt_.order_tensor.empty() && name == opt_.order_tensor) continue;
    auto t = ds_.tensor_index(name);
    if (!t.ok()) return Status::InvalidArgument("rechunk: no tensor '" + name + "' in dataset " + ds_.path_ + ds_.known_tensors());
  }
  if (opt_.order) GTN_RETURN_IF_ERROR(check_order());
  auto layout_of = [&](const TensorMeta& old, TensorMeta* meta) -> Status {
    TensorSpec spec = spec_of(old);
    auto it = opt_.layouts.find(old.name);
    if (it != opt_.layouts.end()) {
      const TensorLayout& l = it->second;
      if (l.sample_compression) spec.sample_compression = *l.sample_compression;
      if (l.chunk_compression) spec.chunk_compression = *l.chunk_compression;
      if (l.chunk_target_bytes) spec.chunk_target_bytes = *l.chunk_target_bytes;
      if (l.compression_level) spec.compression_level = *l.compression_level;
      // A level that suited the old codecs only is dropped when the codecs change.
      if (!l.compression_level && (l.sample_compression || l.chunk_compression) && spec.compression_level != 0 &&
          !codec::is_byte_codec(spec.sample_compression) && !codec::is_byte_codec(spec.chunk_compression)) {
        spec.compression_level = 0;
      }
    }
    TensorMeta resolved;
    GTN_RETURN_IF_ERROR(resolve_spec(spec, &resolved).WithContext("rechunk"));
    *meta = old;
    meta->sample_compression = resolved.sample_compression;
    meta->chunk_compression = resolved.chunk_compression;
    meta->chunk_target_bytes = resolved.chunk_target_bytes;
    meta->compression_level = resolved.compression_level;
    return Status::OK();
  };
  bool all = opt_.layouts.empty() || opt_.order.has_value();
  for (auto& ts : ds_.tensors_) {
    bool named = opt_.layouts.count(ts->meta.name) > 0;
    if (!all && !named) continue;
    Job job;
    job.src = ts.get();
    GTN_RETURN_IF_ERROR(layout_of(ts->meta, &job.meta));
    if (codec::is_image_codec(job.meta.sample_compression) && job.meta.sample_compression != ts->meta.sample_compression &&
        ts->meta.rank >= 0 && ts->meta.rank != 2 && ts->meta.rank != 3) {
      return Status::InvalidArgument("rechunk: tensor '" + ts->meta.name + "' holds samples of rank " +
                                     std::to_string(ts->meta.rank) + "; " +
                                     std::string(compression_name(job.meta.sample_compression)) +
                                     " stores images of shape (H, W) or (H, W, C)");
    }
    job.remap = opt_.order && ts->meta.htype == "neighbors";
    job.transcode = job.remap || sample_codec_changes(ts->meta, job.meta);
    jobs_.push_back(std::move(job));
  }
  if (!opt_.order_tensor.empty()) {
    auto existing = ds_.tensor_index(opt_.order_tensor);
    if (existing.ok()) {
      const TensorMeta& m = ds_.tensors_[*existing]->meta;
      if (m.dtype != DType::kUInt64 || m.htype != "generic") {
        return Status::InvalidArgument("order_tensor '" + opt_.order_tensor + "' exists as a " + m.htype + " " +
                                       std::string(dtype_name(m.dtype)) +
                                       " tensor; it must be a generic uint64 tensor (it is then reordered with the "
                                       "rest, so it keeps positions from before the first reorder), or a new name");
      }
    } else {
      Job job;
      TensorSpec spec;
      spec.name = opt_.order_tensor;
      spec.dtype = DType::kUInt64;
      TensorMeta fresh;
      GTN_RETURN_IF_ERROR(resolve_spec(spec, &fresh).WithContext("order_tensor"));
      job.meta = fresh;
      GTN_RETURN_IF_ERROR(layout_of(fresh, &job.meta));
      job.meta.rank = 0;
      job.meta.key = "t" + std::to_string(ds_.next_key_) + "-" + hex_id(ds_.rng_()).substr(0, 8);
      new_order_tensor_ = true;
      jobs_.push_back(std::move(job));
    }
  }
  for (auto& job : jobs_) {
    stats_.tensors.push_back(job.meta.name);
    uint64_t raw = 0;
    if (!job.src) {
      raw = rows_ * sizeof(uint64_t);
    } else {
      std::unordered_set<uint64_t> files;
      for (const auto& e : job.src->entries) {
        if (e->entry.first_sample >= rows_) break;
        for (const auto& f : e->entry.files) files.insert(f.id);
        raw += e->entry.raw_bytes;
      }
      stats_.chunks_before += files.size();
    }
    progress_total_ += raw;
    // Stored bytes stay within the raw bytes plus what codecs add to incompressible data.
    job.data_bound = raw + raw / 8 + 4096;
    job.pending.reserve_limit = std::min(job.meta.chunk_target_bytes, job.data_bound);
  }
  stats_.rows = rows_;
  return Status::OK();
}

Status Rechunker::check_order() {
  const std::vector<uint64_t>& order = *opt_.order;
  if (order.size() != rows_) {
    return Status::InvalidArgument("order has " + std::to_string(order.size()) + " positions; the dataset has " +
                                   std::to_string(rows_) + " rows (it must be a permutation of 0.." +
                                   std::to_string(rows_ == 0 ? 0 : rows_ - 1) + ")");
  }
  std::vector<bool> seen(rows_);
  meter_.charge((rows_ + 7) / 8);
  for (uint64_t i = 0; i < rows_; ++i) {
    uint64_t r = order[i];
    if (r >= rows_) {
      return Status::InvalidArgument("order[" + std::to_string(i) + "] = " + std::to_string(r) +
                                     " is out of range for a dataset of " + std::to_string(rows_) + " rows");
    }
    if (seen[r]) {
      return Status::InvalidArgument("order[" + std::to_string(i) + "] = " + std::to_string(r) +
                                     " repeats an earlier position; order must name every row exactly once");
    }
    seen[r] = true;
  }
  meter_.release((rows_ + 7) / 8);
  return Status::OK();
}

// The fixed parts (inverse permutation, new id table, one job's write side and largest
// source chunk) must leave room for the reorder window; refused up front otherwise.
Status Rechunker::check_memory() {
  uint64_t fixed = 0;
  if (opt_.order) {
    bool remap = std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.remap; });
    if (remap) fixed += rows_ * sizeof(uint64_t);
    // Worst case: no two consecutive rows keep consecutive ids.
    fixed += rows_ * kIdEntryBytes;
  }
  uint64_t need = fixed;
  std::string what;
  for (const auto& job : jobs_) {
    const TensorMeta& m = job.meta;
    // The pending chunk, its encoding (and compressed copy) while sealing, scratch: a
    // chunk holds at most the target, or all the tensor's data when they are smaller.
    uint64_t target = m.chunk_target_bytes;
    uint64_t write = 3 * std::min(target, job.data_bound) + (16ull << 10);
    uint64_t read = 0;
    if (job.src) {
      for (const auto& e : job.src->entries) {
        if (e->entry.first_sample >= rows_) break;
        uint64_t files = 0;
        for (const auto& f : e->entry.files) files += f.size;
        // The mapped file(s) and a decompressed region (at most the raw bytes of the file;
        // the entry's raw bytes bound it for unshared files).
        read = std::max(read, files + (e->entry.is_tiled() ? files : 0));
      }
      // A decompressed region is at most about the file's raw bytes: bounded by the
      // target the source was written with, or by the file for slices of shared files.
      if (job.src->meta.chunk_compression != Compression::kNone) {
        read += std::max<uint64_t>(job.src->meta.chunk_target_bytes, read);
      }
    }
    uint64_t job_need = fixed + write + read;
    if (job_need > need) {
      need = job_need;
      what = "tensor '" + m.name + "' (chunk target " + bytes_str(target) + ", largest source chunk read " +
             bytes_str(read) + ")";
    }
    write_reserve_ = std::max(write_reserve_, write);
  }
  if (need > opt_.max_memory) {
    return Status::InvalidArgument("max_memory of " + bytes_str(opt_.max_memory) + " is too small: " + what +
                                   (fixed ? " plus " + bytes_str(fixed) + " for the new row order's inverse and ids"
                                          : std::string()) +
                                   " need at least " + bytes_str(need) +
                                   "; raise max_memory or choose smaller chunk_bytes");
  }
  return Status::OK();
}

Status Rechunker::open_source(const TensorState& ts, const ChunkEntry& e, Source* out, Held* held) {
  *out = Source();
  held->set(0);
  const std::string& path = ds_.path_;
  bool verify = ds_.options_.verify_checksums;
  uint64_t mapped = 0;
  for (size_t i = 0; i < e.files.size(); ++i) {
    const ChunkFileRef& ref = e.files[i];
    std::string key = chunk_key(ts.meta.key, ref.id);
    std::string where = path + "/" + key;
    auto file = ds_.storage_->read(key);
    if (!file.ok()) {
      if (file.status().code() == StatusCode::kNotFound) return Status::Corruption(where + ": chunk file is missing");
      return file.status();
    }
    std::shared_ptr<const Bytes> bytes = std::move(*file);
    if (bytes->size() != ref.size) {
      return Status::Corruption(where + ": chunk file has " + std::to_string(bytes->size()) + " bytes, the manifest says " +
                                std::to_string(ref.size));
    }
    mapped = bytes->size();
    held->set(out->region.capacity() + mapped);
    stats_.bytes_read += bytes->size();
    if (verify) {
      auto sums = chunk_checksums(bytes->view());
      if (!sums.ok()) return Status::Corruption(where + ": " + sums.status().message());
      if (sums->computed != sums->stored || sums->stored != ref.checksum) {
        return Status::Corruption(where + ": checksum mismatch: stored " + checksum_to_string(sums->stored) +
                                  ", computed " + checksum_to_string(sums->computed) + ", manifest " +
                                  checksum_to_string(ref.checksum));
      }
    }
    ChunkHeader h;
    Status st = parse_chunk(bytes->view(), &h);
    if (!st.ok()) return Status::Corruption(where + ": " + st.message());
    if (h.dtype != ts.meta.dtype) return Status::Corruption(where + ": chunk dtype differs from the tensor's");
    const uint8_t* data = bytes->data() + h.data_offset;
    if (!e.is_tiled()) {
      if (h.num_samples < static_cast<uint64_t>(e.chunk_offset) + e.num_samples) {
        return Status::Corruption(where + ": chunk holds " + std::to_string(h.num_samples) +
                                  " samples, the manifest names more");
      }
      if (h.chunk_compression != Compression::kNone) {
        if (verify) {
          st = verify_blocks(h, data, 0, h.stored_data_bytes);
          if (!st.ok()) return Status::Corruption(where + ": " + st.message());
        }
        out->region.resize(h.raw_data_bytes);
        held->set(out->region.capacity() + mapped);
        std::string_view stored(reinterpret_cast<const char*>(data), h.stored_data_bytes);
        st = codec::decompress(h.chunk_compression, stored, out->region.data(), out->region.size());
        if (!st.ok()) return Status::Corruption(where + ": " + st.message());
        out->base = reinterpret_cast<const uint8_t*>(out->region.data());
        bytes.reset();  // the decompressed region is all that is read from here on
        held->set(out->region.capacity());
      } else {
        out->base = data;
        out->verified.assign(h.block_checksums.size(), !verify);
        out->file = std::move(bytes);
      }
      out->header = std::move(h);
      return Status::OK();
    }
    // A tile: its piece is appended to the sample's stored bytes.
    const TileInfo& tile = h.tile;
    if (!h.is_tile() || tile.index != i || tile.count != e.files.size() || tile.offset != out->region.size()) {
      return Status::Corruption(where + ": tile " + std::to_string(i) + " is out of place");
    }
    if (verify) {
      st = verify_blocks(h, data, 0, h.stored_data_bytes);
      if (!st.ok()) return Status::Corruption(where + ": " + st.message());
    }
    if (i == 0) {
      out->tiled_shape = h.shapes.shape(0);
      out->region.reserve(tile.total_bytes);
    }
    out->region.append(reinterpret_cast<const char*>(data), h.stored_data_bytes);
    held->set(out->region.capacity() + mapped);
    if (i + 1 == e.files.size() && out->region.size() != tile.total_bytes) {
      return Status::Corruption(where + ": tiles hold " + std::to_string(out->region.size()) + " bytes, expected " +
                                std::to_string(tile.total_bytes));
    }
    out->header = std::move(h);
  }
  out->tiled = true;
  out->base = reinterpret_cast<const uint8_t*>(out->region.data());
  held->set(out->region.capacity());
  return Status::OK();
}

// The stored bytes and shape of sample j of an opened source file (j counts from the file's
// first sample), its data blocks checked the first time.
Result<std::string_view> Rechunker::source_sample(const TensorState& ts, Source& s, uint32_t j, Shape* shape) {
  if (s.tiled) {
    *shape = s.tiled_shape;
    return std::string_view(s.region);
  }
  uint64_t off, len;
  s.header.positions.locate(j, &off, &len);
  *shape = s.header.shapes.shape(j);
  if (!s.verified.empty() && len > 0) {
    uint64_t first, last;
    if (blocks_of(s.header, off, off + len, &first, &last)) {
      for (uint64_t b = first; b <= last; ++b) {
        if (s.verified[b]) continue;
        uint64_t begin = b * s.header.block_bytes;
        Status st = verify_blocks(s.header, s.base, begin, begin + 1);
        if (!st.ok()) {
          return Status::Corruption(ds_.path_ + ": chunk of tensor '" + ts.meta.name + "': " + st.message());
        }
        s.verified[b] = true;
      }
    }
  }
  if (off + len > s.header.raw_data_bytes) {
    return Status::Corruption(ds_.path_ + ": chunk of tensor '" + ts.meta.name + "' names bytes past its data region");
  }
  return std::string_view(reinterpret_cast<const char*>(s.base + off), len);
}

// Bookkeeping after writer_.add: new files, the write side's memory, progress.
Status Rechunker::after_add(Job& job, size_t written_before, uint64_t raw) {
  for (size_t k = written_before; k < job.table.size(); ++k) {
    for (const auto& f : job.table[k].files) {
      written_keys_.push_back(chunk_key(job.meta.key, f.id));
      stats_.bytes_written += f.size;
      ++stats_.chunks_after;
    }
  }
  progress_done_ += raw;
  if (opt_.progress && job.table.size() > written_before) opt_.progress(progress_done_, progress_total_);
  return Status::OK();
}

// Writes one sample (its stored bytes under the source's sample compression) to the job's
// new chunks: passed through as stored when the sample compression stays, otherwise
// decoded (neighbour ids mapped to the new rows) and encoded again.
Status Rechunker::emit(Job& job, std::string_view stored, const Shape& shape, uint64_t row) {
  const TensorMeta& meta = job.meta;
  uint64_t raw = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(meta.dtype);
  std::string_view out = stored;
  Held scratch(&meter_);
  if (raw > 0 && job.transcode) {
    Compression from = job.src->meta.sample_compression;
    auto where = [&] { return "rechunk: tensor '" + meta.name + "' row " + std::to_string(row); };
    Status st = check_decodable(from, meta.dtype, shape, stored);
    if (st.ok()) {
      job.raw.resize(raw);
      scratch.set(job.raw.capacity());
      st = decode_sample(from, meta.dtype, shape, stored, job.raw.data());
    }
    if (!st.ok()) return Status::Corruption(where() + ": " + st.message());
    if (job.remap) {
      uint64_t n = inverse_.size();
      auto map_ids = [&](auto* ids, size_t count) -> Status {
        for (size_t i = 0; i < count; ++i) {
          uint64_t v = static_cast<uint64_t>(ids[i]);
          if (ids[i] < 0 || v >= n) {
            return Status::InvalidArgument(where() + " names neighbour row " + std::to_string(ids[i]) +
                                           ", which the dataset of " + std::to_string(n) +
                                           " rows lacks; it cannot follow the new order");
          }
          ids[i] = static_cast<std::remove_pointer_t<decltype(ids)>>(inverse_[v]);
        }
        return Status::OK();
      };
      size_t count = static_cast<size_t>(shape_numel(shape));
      if (meta.dtype == DType::kInt32) {
        GTN_RETURN_IF_ERROR(map_ids(reinterpret_cast<int32_t*>(job.raw.data()), count));
      } else {
        GTN_RETURN_IF_ERROR(map_ids(reinterpret_cast<int64_t*>(job.raw.data()), count));
      }
    }
    auto value = Array::View(meta.dtype, shape, job.raw.data(), raw, nullptr);
    if (!value.ok()) return value.status().WithContext(where());
    st = check_sample_shape(meta, meta.dtype, shape);
    if (st.ok()) st = encode_sample(meta, *value, &job.encoded);
    if (!st.ok()) return st.WithContext(where());
    scratch.set(job.raw.capacity() + job.encoded.capacity());
    out = job.encoded;
  }
  // The pending chunk, its index, and what sealing it encodes (file bytes, compressed copy)
  // are charged as the largest they can reach before the add.
  Held write(&meter_);
  uint64_t pending_now = std::max({static_cast<uint64_t>(job.pending.data.capacity()),
                                  std::min(meta.chunk_target_bytes, job.pending.reserve_limit),
                                  static_cast<uint64_t>(job.pending.data.size() + out.size())});
  uint64_t index = index_bytes(job.pending, meta.rank) + 64;
  uint64_t sealing = std::min<uint64_t>(job.pending.data.size() + out.size(), meta.chunk_target_bytes + out.size());
  write.set(pending_now + 2 * index + sealing +
            (meta.chunk_compression != Compression::kNone ? sealing + sealing / 255 + 64 : 0));
  size_t before = job.table.size();
  GTN_RETURN_IF_ERROR(ds_.writer_.add(meta, &job.pending, &job.first, out, shape, raw, &job.table));
  return after_add(job, before, raw);
}

Status Rechunker::finish(Job& job) {
  size_t before = job.table.size();
  {
    Held write(&meter_);
    uint64_t size = job.pending.data.size();
    write.set(job.pending.data.capacity() + 2 * index_bytes(job.pending, job.meta.rank) + size +
              (job.meta.chunk_compression != Compression::kNone ? size + size / 255 + 64 : 0));
    GTN_RETURN_IF_ERROR(ds_.writer_.seal(job.meta, &job.pending, &job.first, &job.table));
  }
  GTN_RETURN_IF_ERROR(after_add(job, before, 0));
  job.pending = PendingChunk();
  if (opt_.progress) opt_.progress(progress_done_, progress_total_);
  return Status::OK();
}

// Rows in their order: every source entry is opened once and its samples written out.
Status Rechunker::rewrite_in_order(Job& job) {
  const TensorState& ts = *job.src;
  uint64_t largest = 0, read_side = 0;
  GTN_RETURN_IF_ERROR(scan_source(ts, nullptr, &largest, &read_side));
  uint64_t need = inverse_.capacity() * sizeof(uint64_t) + read_side + write_reserve_ + 3 * largest + (64ull << 10);
  if (need > opt_.max_memory) {
    return Status::InvalidArgument("max_memory of " + bytes_str(opt_.max_memory) + " is too small to rewrite tensor '" +
                                   ts.meta.name + "': its largest source chunk (" + bytes_str(read_side) +
                                   " mapped and decompressed) and the new chunks need at least " + bytes_str(need));
  }
  Held held(&meter_);
  Source src;
  for (const auto& te : ts.entries) {
    const ChunkEntry& e = te->entry;
    if (e.first_sample >= rows_) break;
    GTN_RETURN_IF_ERROR(open_source(ts, e, &src, &held));
    uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(e.num_samples, rows_ - e.first_sample));
    Shape shape;
    for (uint32_t k = 0; k < count; ++k) {
      uint32_t j = e.is_tiled() ? 0 : e.chunk_offset + k;
      GTN_ASSIGN_OR_RETURN(std::string_view stored, source_sample(ts, src, j, &shape));
      GTN_RETURN_IF_ERROR(emit(job, stored, shape, e.first_sample + k));
    }
    src = Source();
    held.set(0);
  }
  return finish(job);
}

// Reads the chunk headers of a tensor's source entries (only header pages are touched).
Status Rechunker::scan_source(const TensorState& ts, std::vector<uint64_t>* sizes, uint64_t* largest,
                              uint64_t* max_read) {
  if (sizes) sizes->assign(rows_, 0);
  *largest = 0;
  *max_read = 0;
  for (const auto& te : ts.entries) {
    const ChunkEntry& e = te->entry;
    if (e.first_sample >= rows_) break;
    uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(e.num_samples, rows_ - e.first_sample));
    if (e.is_tiled()) {
      uint64_t bytes = 0, file = 0;
      for (const auto& f : e.files) {
        bytes += f.size;
        file = std::max(file, f.size);
      }
      if (sizes) (*sizes)[e.first_sample] = bytes;
      *largest = std::max(*largest, bytes);
      *max_read = std::max(*max_read, bytes + file);
      continue;
    }
    std::string key = chunk_key(ts.meta.key, e.files[0].id);
    auto file = ds_.storage_->read(key);
    if (!file.ok()) return Status::Corruption(ds_.path_ + "/" + key + ": " + file.status().message());
    ChunkHeader h;
    Status st = parse_chunk((*file)->view(), &h);
    if (!st.ok()) return Status::Corruption(ds_.path_ + "/" + key + ": " + st.message());
    if (h.num_samples < static_cast<uint64_t>(e.chunk_offset) + e.num_samples) {
      return Status::Corruption(ds_.path_ + "/" + key + ": chunk holds fewer samples than the manifest names");
    }
    uint64_t read = (*file)->size() + (h.chunk_compression != Compression::kNone ? h.raw_data_bytes : 0);
    *max_read = std::max(*max_read, read);
    for (uint32_t k = 0; k < count; ++k) {
      uint64_t off, len;
      h.positions.locate(e.chunk_offset + k, &off, &len);
      if (sizes) (*sizes)[e.first_sample + k] = len;
      *largest = std::max(*largest, len);
    }
  }
  return Status::OK();
}

// Rows in the new order, a window of output rows at a time: the window's source rows are
// read sorted by position (each source chunk opened once per window), kept in an arena,
// and written out in output order.
Status Rechunker::rewrite_reordered(Job& job) {
  const TensorState& ts = *job.src;
  const std::vector<uint64_t>& order = *opt_.order;
  std::vector<uint64_t> sizes;
  Held sizes_held(&meter_);
  sizes_held.set(rows_ * sizeof(uint64_t));
  uint64_t largest = 0, read_side = 0;
  GTN_RETURN_IF_ERROR(scan_source(ts, &sizes, &largest, &read_side));
  // What the window may use: max_memory less everything else held at the peak (fixed parts
  // now held, the largest source entry opened, the write side).
  // The meter's current charge includes the sizes; the peak during the window adds the
  // read side, the write side and the scratch of one sample (decode and encode).
  uint64_t now = rows_ * sizeof(uint64_t) + inverse_.capacity() * sizeof(uint64_t) + new_ids_.capacity() * kIdEntryBytes;
  uint64_t scratch = 3 * largest + (64ull << 10);
  uint64_t other = now + read_side + write_reserve_ + scratch;
  if (other + largest + kWindowRowBytes > opt_.max_memory) {
    return Status::InvalidArgument("max_memory of " + bytes_str(opt_.max_memory) + " is too small to reorder tensor '" +
                                   ts.meta.name + "': its largest sample (" + bytes_str(largest) +
                                   ") and buffers need at least " + bytes_str(other + largest + kWindowRowBytes));
  }
  uint64_t window_budget = opt_.max_memory - other;
  std::vector<std::pair<uint64_t, uint32_t>> want;  // (source row, slot)
  struct Slot {
    uint64_t offset = 0, length = 0;
    Shape shape;
  };
  std::vector<Slot> slots;
  std::string arena;
  Held window_held(&meter_), source_held(&meter_);
  for (uint64_t w0 = 0; w0 < rows_;) {
    uint64_t bytes = 0, w1 = w0;
    while (w1 < rows_) {
      uint64_t add = sizes[order[w1]] + kWindowRowBytes + 8 * static_cast<uint64_t>(std::max(ts.meta.rank, 1));
      if (w1 > w0 && bytes + add > window_budget) break;
      bytes += add;
      ++w1;
    }
    uint64_t n = w1 - w0;
    want.clear();
    slots.assign(n, Slot());
    uint64_t arena_bytes = 0;
    for (uint64_t i = w0; i < w1; ++i) {
      want.emplace_back(order[i], static_cast<uint32_t>(i - w0));
      arena_bytes += sizes[order[i]];
    }
    std::sort(want.begin(), want.end());
    arena.clear();
    arena.reserve(arena_bytes);
    window_held.set(arena.capacity() + want.capacity() * sizeof(want[0]) + slots.capacity() * sizeof(Slot) +
                    n * 8 * static_cast<uint64_t>(std::max(ts.meta.rank, 1)));
    Source src;
    size_t open = SIZE_MAX;
    for (const auto& [row, slot] : want) {
      size_t k = ts.find(row);
      const ChunkEntry& e = ts.entries[k]->entry;
      if (k != open) {
        GTN_RETURN_IF_ERROR(open_source(ts, e, &src, &source_held));
        open = k;
      }
      uint32_t j = e.is_tiled() ? 0 : e.chunk_offset + static_cast<uint32_t>(row - e.first_sample);
      Slot& s = slots[slot];
      GTN_ASSIGN_OR_RETURN(std::string_view stored, source_sample(ts, src, j, &s.shape));
      s.offset = arena.size();
      s.length = stored.size();
      if (arena.size() + stored.size() > arena.capacity()) {
        return Status::Corruption(ds_.path_ + ": tensor '" + ts.meta.name + "' row " + std::to_string(row) +
                                  " holds more bytes than its chunk header said");
      }
      arena.append(stored.data(), stored.size());
    }
    src = Source();
    source_held.set(0);
    for (uint64_t i = w0; i < w1; ++i) {
      const Slot& s = slots[i - w0];
      GTN_RETURN_IF_ERROR(emit(job, std::string_view(arena).substr(s.offset, s.length), s.shape, order[i]));
    }
    w0 = w1;
  }
  arena = std::string();
  window_held.set(0);
  return finish(job);
}

// The new order tensor: row i holds order[i], its position before the reorder.
Status Rechunker::write_order_tensor(Job& job) {
  const std::vector<uint64_t>& order = *opt_.order;
  Shape scalar;
  for (uint64_t i = 0; i < rows_; ++i) {
    std::string_view stored(reinterpret_cast<const char*>(&order[i]), sizeof(uint64_t));
    if (job.transcode || codec::is_byte_codec(job.meta.sample_compression)) {
      auto value = Array::View(DType::kUInt64, scalar, &order[i], sizeof(uint64_t), nullptr);
      if (!value.ok()) return value.status();
      GTN_RETURN_IF_ERROR(encode_sample(job.meta, *value, &job.encoded));
      stored = job.encoded;
    }
    Held write(&meter_);
    write.set(job.pending.data.capacity() + 2 * index_bytes(job.pending, 0) + job.pending.data.size() + 64 +
              (job.meta.chunk_compression != Compression::kNone ? 2 * job.pending.data.size() : 0));
    size_t before = job.table.size();
    GTN_RETURN_IF_ERROR(ds_.writer_.add(job.meta, &job.pending, &job.first, stored, scalar, sizeof(uint64_t), &job.table));
    GTN_RETURN_IF_ERROR(after_add(job, before, sizeof(uint64_t)));
  }
  return finish(job);
}

std::string Rechunker::default_message() const {
  std::string m = opt_.order ? "reorder " + std::to_string(rows_) + " rows; rechunk " : "rechunk ";
  for (size_t i = 0; i < jobs_.size(); ++i) {
    const TensorMeta& t = jobs_[i].meta;
    m += (i ? ", " : "") + t.name + " (" + std::to_string(t.chunk_target_bytes) + " bytes";
    if (t.sample_compression != Compression::kNone) m += ", sample " + std::string(compression_name(t.sample_compression));
    if (t.chunk_compression != Compression::kNone) m += ", chunk " + std::string(compression_name(t.chunk_compression));
    if (t.compression_level != 0) m += " level " + std::to_string(t.compression_level);
    m += ")";
  }
  if (!opt_.order_tensor.empty()) m += "; positions before the reorder in '" + opt_.order_tensor + "'";
  return m;
}

// Installs the new tables (and ids, and the order tensor) and commits them durably.
Status Rechunker::install_and_commit() {
  uint64_t old_version = ds_.version_id_;
  std::string old_branch = ds_.branch_;
  if (opt_.order) {
    // Each row keeps its sample id: ids follow the rows to their new positions.
    Held ids_held(&meter_);
    const std::vector<ChunkEntry>& ids = ds_.ids_;
    size_t k = 0;
    for (uint64_t i = 0; i < rows_; ++i) {
      uint64_t r = (*opt_.order)[i];
      if (r < ids[k].first_sample || r >= ids[k].first_sample + ids[k].num_samples) {
        k = static_cast<size_t>(std::upper_bound(ids.begin(), ids.end(), r,
                                                 [](uint64_t p, const ChunkEntry& e) { return p < e.first_sample; }) -
                                ids.begin()) - 1;
      }
      const ChunkEntry& run = ids[k];
      append_entry(&new_ids_, id_run(id_block(run), run.chunk_offset + static_cast<uint32_t>(r - run.first_sample), 1));
      if ((i & 4095) == 0) ids_held.set(new_ids_.capacity() * kIdEntryBytes);
    }
    ids_held.set(new_ids_.capacity() * kIdEntryBytes);
  }
  for (auto& job : jobs_) {
    if (!job.src) {
      auto ts = std::make_unique<TensorState>();
      ts->meta = job.meta;
      ts->set_table(std::move(job.table));
      ds_.tensors_.push_back(std::move(ts));
      ++ds_.next_key_;
      continue;
    }
    // Rows past the dataset's length (left by a lagging tensor) are not carried over.
    job.src->meta = job.meta;
    job.src->set_table(std::move(job.table));
  }
  if (opt_.order) {
    ds_.ids_ = std::move(new_ids_);
    renumber(&ds_.ids_);
  }
  ds_.dirty_ = true;
  uint64_t id = 0;
  Status st = ds_.commit_now(opt_.message.empty() ? default_message() : opt_.message, "", {}, &id);
  if (!st.ok()) {
    // The branch still names the last commit (the ref moves last): go back to it.
    Status back = ds_.load_version(old_version);
    ds_.branch_ = old_branch;
    ds_.detached_ = false;
    if (!back.ok()) return st.WithContext("rechunk (and reloading the last commit failed: " + back.message() + ")");
    return st;
  }
  written_keys_.clear();  // named by the commit now
  stats_.commit = hex_id(id);
  return Status::OK();
}

// A failed rechunk deletes the chunk files it wrote (nothing names them).
void Rechunker::discard() {
  for (const auto& key : written_keys_) (void)ds_.writer_.remove(key);
  written_keys_.clear();
}

}  // namespace gtn::store
