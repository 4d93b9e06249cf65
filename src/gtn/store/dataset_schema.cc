// The schema of a dataset: creating, deleting and renaming tensors, what tensors are,
// and the shared argument checks (see dataset_impl.h for the other concerns).
#include <sstream>

#include "gtn/store/checksum.h"
#include "gtn/store/dataset_impl.h"
#include "gtn/store/tensor_rules.h"

namespace gtn::store {

Status DatasetImpl::create_tensor(const TensorSpec& spec) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  auto ts = std::make_unique<TensorState>();
  GTN_RETURN_IF_ERROR(resolve_spec(spec, &ts->meta));
  for (const auto& other : tensors_) {
    if (other->meta.name == spec.name) return Status::AlreadyExists("tensor '" + spec.name + "' already exists");
  }
  // Keys never repeat, on any branch: a tensor created on two branches gets two folders.
  ts->meta.key = "t" + std::to_string(next_key_++) + "-" + hex_id(rng_()).substr(0, 8);
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
  for (auto& e : written) {
    unpublished_[e.files[0].id] = chunk_key(ts->meta.key, e.files[0].id);
    fresh_[e.files[0].id] = chunk_key(ts->meta.key, e.files[0].id);
    ts->push_entry(std::move(e));
  }
  tensors_.push_back(std::move(ts));
  if (tensors_.size() == 1 && length_ == 0) ids_.clear();
  return write_manifest(/*durable=*/every_chunk());
}

Status DatasetImpl::delete_tensor(const std::string& name) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(name));
  tensors_.erase(tensors_.begin() + static_cast<std::ptrdiff_t>(t));
  // The remaining tensors decide the length: a tensor that was behind no longer holds it back.
  if (tensors_.empty()) {
    length_ = 0;
    ids_.clear();
  }
  return write_manifest(/*durable=*/every_chunk());
}

Status DatasetImpl::rename_tensor(const std::string& name, const std::string& new_name) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(name));
  if (name == new_name) return Status::OK();
  TensorSpec probe;
  probe.name = new_name;
  TensorMeta meta;
  probe.dtype = tensors_[t]->meta.dtype;
  probe.htype = tensors_[t]->meta.htype;
  probe.class_names = tensors_[t]->meta.class_names;
  GTN_RETURN_IF_ERROR(resolve_spec(probe, &meta));  // the name rules
  for (const auto& other : tensors_) {
    if (other->meta.name == new_name) return Status::AlreadyExists("tensor '" + new_name + "' already exists");
  }
  tensors_[t]->meta.name = new_name;
  tensors_[t]->trace_key = 0;  // traced under its new name from here on
  return write_manifest(/*durable=*/every_chunk());
}

std::vector<std::string> DatasetImpl::tensor_names() const {
  std::vector<std::string> names;
  for (const auto& ts : tensors_) names.push_back(ts->meta.name);
  return names;
}

Result<size_t> DatasetImpl::tensor_index(const std::string& name) const {
  for (size_t t = 0; t < tensors_.size(); ++t) {
    if (tensors_[t]->meta.name == name) return t;
  }
  return Status::NotFound("no tensor '" + name + "' in dataset " + path_ + known_tensors());
}

Result<TensorSpec> DatasetImpl::tensor_spec(const std::string& name) const {
  GTN_ASSIGN_OR_RETURN(size_t t, tensor_index(name));
  return spec_of(tensors_[t]->meta);
}

Result<TensorInfo> DatasetImpl::tensor_info(const std::string& name) const {
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

std::string DatasetImpl::summary() const {
  std::ostringstream os;
  os << "GTN dataset " << path_ << (options_.read_only ? " (read-only)" : "") << "\n";
  os << "  " << (branch_.empty() ? "commit " + hex_id(version_id_) : "branch " + branch_)
     << (has_uncommitted_changes() ? " (uncommitted changes)" : "") << ", " << length_ << " samples, "
     << tensors_.size() << " tensors\n";
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
       << compression_name(info->chunk_compression) << ", " << info->num_chunks << " chunks, " << info->stored_bytes
       << " bytes stored (" << info->raw_bytes << " raw)";
    if (!info->class_names.empty()) os << ", " << info->class_names.size() << " classes";
    os << "\n";
  }
  return os.str();
}

// --- shared checks ---

Status DatasetImpl::check_open() const {
  if (closed_) return Status::InvalidArgument("the dataset at " + path_ + " is closed");
  return Status::OK();
}

Status DatasetImpl::check_writable_now() const {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only; cannot write");
  if (detached_) {
    return Status::InvalidArgument("dataset " + path_ + " has commit " + hex_id(version_id_) +
                                   " checked out (read-only); check out a branch to write");
  }
  return Status::OK();
}

Status DatasetImpl::check_index(uint64_t index) const {
  if (index >= length_) {
    return Status::OutOfRange("index " + std::to_string(index) + " out of range for dataset of " +
                              std::to_string(length_) + " samples");
  }
  return Status::OK();
}

Status DatasetImpl::too_small(const TensorState& ts, uint64_t index, size_t need, size_t capacity) const {
  return Status::InvalidArgument("sample " + std::to_string(index) + " of tensor '" + ts.meta.name + "' needs " +
                                 std::to_string(need) + " bytes, the buffer has " + std::to_string(capacity));
}

Status DatasetImpl::bad_tensor_index(size_t t) const {
  return Status::OutOfRange("tensor position " + std::to_string(t) + " out of range for dataset of " +
                            std::to_string(tensors_.size()) + " tensors");
}

std::string DatasetImpl::known_tensors() const {
  std::string s = " (tensors:";
  for (const auto& ts : tensors_) s += " " + ts->meta.name;
  return s + ")";
}

Status DatasetImpl::length_mismatch(const std::string& a, size_t na, const std::string& b, size_t nb) const {
  return Status::InvalidArgument("batch length mismatch: tensor '" + a + "' has " + std::to_string(na) +
                                 " samples, tensor '" + b + "' has " + std::to_string(nb));
}

}  // namespace gtn::store
