#include "gtn/store/tensor_rules.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <type_traits>

#include "gtn/codec/compression.h"
#include "gtn/codec/image_codec.h"
#include "gtn/store/sample_index.h"

namespace gtn::store {
namespace {

bool is_float(DType d) { return d == DType::kFloat16 || d == DType::kFloat32 || d == DType::kFloat64; }
bool is_integer(DType d) {
  return d == DType::kInt8 || d == DType::kInt16 || d == DType::kInt32 || d == DType::kInt64 ||
         d == DType::kUInt8 || d == DType::kUInt16 || d == DType::kUInt32 || d == DType::kUInt64;
}

std::string tname(const TensorMeta& m) { return "tensor '" + m.name + "'"; }

}  // namespace

TensorSpec spec_of(const TensorMeta& m) {
  TensorSpec spec;
  spec.name = m.name;
  spec.htype = m.htype;
  spec.dtype = m.dtype;
  spec.sample_compression = m.sample_compression;
  spec.chunk_compression = m.chunk_compression;
  spec.chunk_target_bytes = m.chunk_target_bytes;
  spec.class_names = m.class_names;
  spec.compression_level = m.compression_level;
  return spec;
}

Status resolve_spec(const TensorSpec& spec, TensorMeta* m) {
  *m = TensorMeta();
  if (spec.name.empty()) return Status::InvalidArgument("tensor name must not be empty");
  if (spec.name.size() > 256 || spec.name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("tensor name must be at most 256 characters without NUL bytes");
  }
  m->name = spec.name;
  m->htype = spec.htype.empty() ? "generic" : spec.htype;
  const std::string& h = m->htype;
  auto bad_dtype = [&](const char* expected) {
    return Status::InvalidArgument(tname(*m) + ": htype '" + h + "' needs dtype " + expected + ", got " +
                                   std::string(dtype_name(*spec.dtype)));
  };
  if (h == "generic") {
    if (!spec.dtype) return Status::InvalidArgument(tname(*m) + ": htype 'generic' needs an explicit dtype");
    m->dtype = *spec.dtype;
  } else if (h == "image") {
    m->dtype = spec.dtype.value_or(DType::kUInt8);
    if (dtype_is_bytes_like(m->dtype)) return bad_dtype("uint8 (or another numeric type)");
  } else if (h == "text" || h == "json") {
    m->dtype = spec.dtype.value_or(DType::kText);
    if (m->dtype != DType::kText) return bad_dtype("text");
  } else if (h == "embedding") {
    m->dtype = spec.dtype.value_or(DType::kFloat32);
    if (!is_float(m->dtype)) return bad_dtype("float16, float32 or float64");
  } else if (h == "class_label") {
    m->dtype = spec.dtype.value_or(DType::kInt64);
    if (!is_integer(m->dtype)) return bad_dtype("an integer type (default int64)");
  } else if (h == "bbox") {
    m->dtype = spec.dtype.value_or(DType::kFloat32);
    if (!is_float(m->dtype)) return bad_dtype("float16, float32 or float64");
  } else if (h == "neighbors") {
    m->dtype = spec.dtype.value_or(DType::kInt64);
    if (m->dtype != DType::kInt64 && m->dtype != DType::kInt32) return bad_dtype("int64 (default) or int32");
    m->rank = 1;
  } else if (h == "edge_feature") {
    if (!spec.dtype) return Status::InvalidArgument(tname(*m) + ": htype 'edge_feature' needs an explicit dtype");
    m->dtype = *spec.dtype;
    if (dtype_is_bytes_like(m->dtype)) return bad_dtype("a numeric type");
  } else {
    return Status::InvalidArgument("unknown htype '" + h +
                                   "'; expected one of generic, image, text, json, embedding, class_label, bbox, "
                                   "neighbors, edge_feature");
  }
  if (!spec.class_names.empty() && h != "class_label") {
    return Status::InvalidArgument(tname(*m) + ": class_names are only for htype 'class_label'");
  }
  m->class_names = spec.class_names;
  m->sample_compression = spec.sample_compression;
  m->chunk_compression = spec.chunk_compression;
  if (codec::is_image_codec(m->sample_compression) && m->dtype != DType::kUInt8 &&
      !(m->sample_compression == Compression::kPng && m->dtype == DType::kUInt16)) {
    return Status::InvalidArgument(tname(*m) + ": " + std::string(compression_name(m->sample_compression)) +
                                   " sample compression needs dtype uint8" +
                                   (m->sample_compression == Compression::kPng ? " or uint16" : "") + ", got " +
                                   std::string(dtype_name(m->dtype)));
  }
  if (m->chunk_compression != Compression::kNone && !codec::is_byte_codec(m->chunk_compression)) {
    return Status::InvalidArgument(tname(*m) + ": chunk compression must be none, lz4 or zstd, got " +
                                   std::string(compression_name(m->chunk_compression)));
  }
  if (spec.chunk_target_bytes == 0) return Status::InvalidArgument(tname(*m) + ": chunk_target_bytes must be > 0");
  m->chunk_target_bytes = spec.chunk_target_bytes;
  if (spec.compression_level != 0) {
    bool sample_codec = codec::is_byte_codec(m->sample_compression);
    bool chunk_codec = codec::is_byte_codec(m->chunk_compression);
    if (!sample_codec && !chunk_codec) {
      return Status::InvalidArgument(tname(*m) + ": compression_level " + std::to_string(spec.compression_level) +
                                     " needs lz4 or zstd sample or chunk compression; it has sample compression " +
                                     std::string(compression_name(m->sample_compression)) + " and chunk compression " +
                                     std::string(compression_name(m->chunk_compression)));
    }
    for (Compression c : {m->sample_compression, m->chunk_compression}) {
      if (!codec::is_byte_codec(c)) continue;
      Status st = codec::check_level(c, spec.compression_level);
      if (!st.ok()) return st.WithContext(tname(*m));
    }
  }
  m->compression_level = spec.compression_level;
  if (dtype_is_bytes_like(m->dtype)) m->rank = 1;
  return Status::OK();
}

Status check_sample_shape(const TensorMeta& m, DType dtype, const Shape& s) {
  if (dtype != m.dtype) {
    return Status::InvalidArgument(tname(m) + " holds " + std::string(dtype_name(m.dtype)) + " samples, got " +
                                   std::string(dtype_name(dtype)));
  }
  Status limits = check_shape_limits(s);
  if (!limits.ok()) return limits.WithContext(tname(m));
  if (shape_numel(s) == 0) return Status::OK();
  if (m.rank >= 0 && static_cast<int>(s.size()) != m.rank) {
    return Status::InvalidArgument(tname(m) + " holds samples of rank " + std::to_string(m.rank) + ", got shape " +
                                   shape_to_string(s));
  }
  const std::string& h = m.htype;
  if (h == "image" && s.size() != 2 && s.size() != 3) {
    return Status::InvalidArgument(tname(m) + ": images need shape (H, W) or (H, W, C), got " + shape_to_string(s));
  }
  if (h == "embedding" && s.size() != 1) {
    return Status::InvalidArgument(tname(m) + ": embeddings need a 1-d shape, got " + shape_to_string(s));
  }
  if (h == "class_label" && s.size() > 1) {
    return Status::InvalidArgument(tname(m) + ": class labels need a scalar or 1-d shape, got " + shape_to_string(s));
  }
  if (h == "bbox" && (s.size() != 2 || s[1] != 4)) {
    return Status::InvalidArgument(tname(m) + ": boxes need shape (n, 4), got " + shape_to_string(s));
  }
  if (h == "edge_feature" && s.empty()) {
    return Status::InvalidArgument(tname(m) + ": edge features need shape (degree,) or (degree, d), got a scalar");
  }
  if (codec::is_image_codec(m.sample_compression)) {
    Status st = codec::check_image(m.sample_compression, dtype, s);
    if (!st.ok()) return st.WithContext(tname(m));
  }
  return Status::OK();
}

namespace {

// Class labels index class_names when the tensor has them.
template <typename T>
Status check_labels(const TensorMeta& m, const Array& v) {
  const T* p = static_cast<const T*>(v.data());
  int64_t n = static_cast<int64_t>(m.class_names.size());
  for (int64_t i = 0; i < v.numel(); ++i) {
    if (static_cast<int64_t>(p[i]) < 0 || static_cast<int64_t>(p[i]) >= n ||
        (std::is_same_v<T, uint64_t> && static_cast<uint64_t>(p[i]) >= static_cast<uint64_t>(n))) {
      return Status::InvalidArgument(tname(m) + ": class label " + std::to_string(p[i]) + " is not an index of its " +
                                     std::to_string(n) + " class_names (expected 0 to " + std::to_string(n - 1) + ")");
    }
  }
  return Status::OK();
}

}  // namespace

Status check_sample(const TensorMeta& m, const Array& v) {
  GTN_RETURN_IF_ERROR(check_sample_shape(m, v.dtype(), v.shape()));
  if (v.numel() == 0) return Status::OK();
  if (m.htype == "json" && !nlohmann::json::accept(v.as_string_view())) {
    return Status::InvalidArgument(tname(m) + ": sample is not valid JSON");
  }
  if (m.htype == "neighbors") {
    // Row ids of this dataset: never negative (whether they are below its length is
    // checked where the graph is read, since rows may be appended later).
    for (int64_t i = 0; i < v.numel(); ++i) {
      int64_t id = v.dtype() == DType::kInt32 ? static_cast<const int32_t*>(v.data())[i]
                                              : static_cast<const int64_t*>(v.data())[i];
      if (id < 0) {
        return Status::InvalidArgument(tname(m) + ": neighbour ids are row numbers and must be >= 0, got " +
                                       std::to_string(id) + " at position " + std::to_string(i));
      }
    }
  }
  if (m.htype == "class_label" && !m.class_names.empty()) {
    switch (v.dtype()) {
      case DType::kInt8: return check_labels<int8_t>(m, v);
      case DType::kInt16: return check_labels<int16_t>(m, v);
      case DType::kInt32: return check_labels<int32_t>(m, v);
      case DType::kInt64: return check_labels<int64_t>(m, v);
      case DType::kUInt8: return check_labels<uint8_t>(m, v);
      case DType::kUInt16: return check_labels<uint16_t>(m, v);
      case DType::kUInt32: return check_labels<uint32_t>(m, v);
      case DType::kUInt64: return check_labels<uint64_t>(m, v);
      default: break;
    }
  }
  return Status::OK();
}

Status encode_sample(const TensorMeta& m, const Array& v, std::string* out) {
  std::string_view raw = v.as_string_view();
  if (v.numel() == 0 || m.sample_compression == Compression::kNone) {
    out->assign(raw.data(), raw.size());
    return Status::OK();
  }
  if (codec::is_image_codec(m.sample_compression)) {
    GTN_ASSIGN_OR_RETURN(*out, codec::encode_image(m.sample_compression, v.dtype(), v.data(), v.shape()));
    return Status::OK();
  }
  GTN_ASSIGN_OR_RETURN(*out, codec::compress(m.sample_compression, raw, m.compression_level));
  return Status::OK();
}

Status check_decodable(Compression compression, DType dtype, const Shape& shape, std::string_view stored) {
  size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  bool ok;
  if (nbytes == 0 || compression == Compression::kNone) {
    ok = stored.size() == nbytes;
  } else if (codec::is_image_codec(compression)) {
    ok = codec::check_image(compression, dtype, shape).ok();
  } else {
    ok = codec::plausible_size(compression, stored, nbytes);
  }
  if (!ok) {
    return Status::Corruption(std::to_string(stored.size()) + " stored bytes cannot hold a " +
                              std::string(compression_name(compression)) + " sample of shape " + shape_to_string(shape));
  }
  return Status::OK();
}

Status decode_sample(Compression compression, DType dtype, const Shape& shape, std::string_view stored, void* out) {
  size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (nbytes == 0 || compression == Compression::kNone) {
    if (stored.size() != nbytes) {
      return Status::Corruption("sample holds " + std::to_string(stored.size()) + " bytes, its shape " +
                                shape_to_string(shape) + " needs " + std::to_string(nbytes));
    }
    if (nbytes) std::memcpy(out, stored.data(), nbytes);
    return Status::OK();
  }
  if (codec::is_image_codec(compression)) {
    return codec::decode_image(compression, dtype, stored, shape, out);
  }
  return codec::decompress(compression, stored, out, nbytes);
}

}  // namespace gtn::store
