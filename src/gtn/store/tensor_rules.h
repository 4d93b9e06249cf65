// What each htype means: its default dtype, which dtypes, ranks and compressions it
// accepts, and how one sample is checked and turned into stored bytes and back.
#pragma once

#include <string>
#include <string_view>

#include "gtn/dataset.h"
#include "gtn/store/manifest.h"

namespace gtn::store {

// The spec a tensor was made from, as its metadata keeps it (resolve_spec's inverse).
TensorSpec spec_of(const TensorMeta& m);

// Fills `meta` from `spec` (htype defaults, validation): InvalidArgument on a bad spec.
Status resolve_spec(const TensorSpec& spec, TensorMeta* meta);

// Checks one sample against the tensor: exact dtype, rank (fixed by the first non-empty
// sample), htype shape rules, JSON validity, image codec limits. Samples with no elements
// are empty samples and always accepted when the dtype matches.
// Class labels must index class_names when the tensor has them.
Status check_sample(const TensorMeta& meta, const Array& value);
// The part of check_sample that needs only the dtype and shape (no bytes).
Status check_sample_shape(const TensorMeta& meta, DType dtype, const Shape& shape);

// The rank a non-empty sample fixes for the tensor (-1 for empty samples).
inline int rank_fixed_by(const Array& value) { return value.numel() == 0 ? -1 : static_cast<int>(value.ndim()); }

// The stored bytes of a checked sample under the tensor's sample compression. Empty
// samples are stored as zero bytes whatever the compression.
Status encode_sample(const TensorMeta& meta, const Array& value, std::string* out);

// Corruption unless `stored` can decode to a sample of `shape` (checked before allocating
// the output, so a damaged header cannot make a reader allocate an absurd buffer).
Status check_decodable(Compression compression, DType dtype, const Shape& shape, std::string_view stored);

// Decodes stored sample bytes into the numel(shape) * dtype_size bytes at `out`.
Status decode_sample(Compression compression, DType dtype, const Shape& shape, std::string_view stored, void* out);

}  // namespace gtn::store
