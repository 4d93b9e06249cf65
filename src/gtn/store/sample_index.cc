#include "gtn/store/sample_index.h"

#include <limits>

namespace gtn::store {

void PositionEncoder::append(uint64_t length, uint32_t count) {
  if (count == 0) return;
  if (!ends_.empty() && runs_.back().length == length) {
    ends_.back() += count;
  } else {
    runs_.push_back({total_, length});
    ends_.push_back(num_samples() + count);
  }
  total_ += length * count;
}

void PositionEncoder::pop_back() {
  total_ -= runs_.back().length;
  uint32_t first = ends_.size() > 1 ? ends_[ends_.size() - 2] : 0;
  if (--ends_.back() == first) {
    ends_.pop_back();
    runs_.pop_back();
  }
}

void PositionEncoder::encode(std::string* out) const {
  put_le<uint32_t>(out, static_cast<uint32_t>(ends_.size()));
  for (size_t r = 0; r < ends_.size(); ++r) {
    put_le<uint32_t>(out, ends_[r]);
    put_le<uint64_t>(out, runs_[r].length);
  }
}

Status PositionEncoder::decode(ByteReader* in, PositionEncoder* out) {
  *out = PositionEncoder();
  uint32_t runs = in->get<uint32_t>();
  if (!in->ok() || static_cast<uint64_t>(runs) * 12 > in->remaining()) {
    return Status::Corruption("position encoder: run count " + std::to_string(runs) + " exceeds the bytes present");
  }
  uint32_t prev = 0;
  out->ends_.reserve(runs);
  out->runs_.reserve(runs);
  for (uint32_t r = 0; r < runs; ++r) {
    uint32_t end = in->get<uint32_t>();
    uint64_t length = in->get<uint64_t>();
    if (end <= prev) return Status::Corruption("position encoder: run ends are not increasing");
    uint64_t count = end - prev;
    if (length != 0 && count > (std::numeric_limits<uint64_t>::max() - out->total_) / length) {
      return Status::Corruption("position encoder: byte total overflows");
    }
    out->runs_.push_back({out->total_, length});
    out->ends_.push_back(end);
    out->total_ += count * length;
    prev = end;
  }
  if (!in->ok()) return Status::Corruption("position encoder is truncated");
  return Status::OK();
}

void ShapeEncoder::append(const Shape& shape, uint32_t count) {
  if (count == 0) return;
  if (!ends_.empty() && ranks_.back() == shape.size() &&
      std::equal(shape.begin(), shape.end(), dims_.begin() + dim_starts_.back())) {
    ends_.back() += count;
    return;
  }
  ends_.push_back(num_samples() + count);
  note_rank(shape.size());
  ranks_.push_back(static_cast<uint8_t>(shape.size()));
  dim_starts_.push_back(static_cast<uint32_t>(dims_.size()));
  dims_.insert(dims_.end(), shape.begin(), shape.end());
}

void ShapeEncoder::pop_back() {
  uint32_t first = ends_.size() > 1 ? ends_[ends_.size() - 2] : 0;
  if (--ends_.back() == first) {
    ends_.pop_back();
    ranks_.pop_back();
    dims_.resize(dim_starts_.back());
    dim_starts_.pop_back();
    if (ends_.empty()) common_rank_ = kNoRuns;
  }
}

bool ShapeEncoder::bounds(Shape* min_shape, Shape* max_shape) const {
  bool any = false;
  for (size_t r = 0; r < ends_.size(); ++r) {
    Shape s(dims_.begin() + dim_starts_[r], dims_.begin() + dim_starts_[r] + ranks_[r]);
    if (shape_numel(s) == 0) continue;
    if (!any || min_shape->size() != s.size()) {
      if (any) continue;  // mixed ranks: bounds follow the first rank seen
      *min_shape = s;
      *max_shape = s;
      any = true;
      continue;
    }
    for (size_t i = 0; i < s.size(); ++i) {
      (*min_shape)[i] = std::min((*min_shape)[i], s[i]);
      (*max_shape)[i] = std::max((*max_shape)[i], s[i]);
    }
  }
  return any;
}

void ShapeEncoder::encode(std::string* out) const {
  put_le<uint32_t>(out, static_cast<uint32_t>(ends_.size()));
  for (size_t r = 0; r < ends_.size(); ++r) {
    put_le<uint32_t>(out, ends_[r]);
    put_le<uint8_t>(out, ranks_[r]);
    for (size_t i = 0; i < ranks_[r]; ++i) put_le<uint64_t>(out, static_cast<uint64_t>(dims_[dim_starts_[r] + i]));
  }
}

Status ShapeEncoder::decode(ByteReader* in, ShapeEncoder* out) {
  *out = ShapeEncoder();
  uint32_t runs = in->get<uint32_t>();
  if (!in->ok() || static_cast<uint64_t>(runs) * 5 > in->remaining()) {
    return Status::Corruption("shape encoder: run count " + std::to_string(runs) + " exceeds the bytes present");
  }
  uint32_t prev = 0;
  for (uint32_t r = 0; r < runs; ++r) {
    uint32_t end = in->get<uint32_t>();
    uint8_t rank = in->get<uint8_t>();
    if (!in->ok()) return Status::Corruption("shape encoder is truncated");
    if (end <= prev) return Status::Corruption("shape encoder: run ends are not increasing");
    if (rank > kMaxRank) return Status::Corruption("shape encoder: rank " + std::to_string(rank) + " exceeds 32");
    out->ends_.push_back(end);
    out->note_rank(rank);
    out->ranks_.push_back(rank);
    out->dim_starts_.push_back(static_cast<uint32_t>(out->dims_.size()));
    // The limits of check_shape_limits.
    uint64_t numel = 1;
    for (uint8_t i = 0; i < rank; ++i) {
      uint64_t d = in->get<uint64_t>();
      if (d >= kMaxDim) return Status::Corruption("shape encoder: dimension " + std::to_string(d) + " is too large");
      if (d != 0 && numel > (kMaxNumel - 1) / d) {
        return Status::Corruption("shape encoder: sample has too many elements");
      }
      numel *= d;
      out->dims_.push_back(static_cast<int64_t>(d));
    }
    prev = end;
  }
  if (!in->ok()) return Status::Corruption("shape encoder is truncated");
  return Status::OK();
}

Status check_shape_limits(const Shape& shape) {
  if (shape.size() > kMaxRank) {
    return Status::InvalidArgument("samples may have at most " + std::to_string(kMaxRank) + " dimensions, got " +
                                   std::to_string(shape.size()));
  }
  uint64_t numel = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) return Status::InvalidArgument("negative dimension in shape " + shape_to_string(shape));
    if (static_cast<uint64_t>(d) >= kMaxDim) {
      return Status::InvalidArgument("dimension " + std::to_string(d) + " of shape " + shape_to_string(shape) +
                                     " is too large: every dimension must be below 2^40");
    }
    if (d == 0) empty = true;
    if (!empty && numel > (kMaxNumel - 1) / static_cast<uint64_t>(d)) {
      return Status::InvalidArgument("shape " + shape_to_string(shape) + " has too many elements: at most 2^48 - 1");
    }
    if (!empty) numel *= static_cast<uint64_t>(d);
  }
  return Status::OK();
}

}  // namespace gtn::store
