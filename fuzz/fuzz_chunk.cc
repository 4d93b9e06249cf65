// Feeds arbitrary bytes to the chunk file parser, then reads every sample the parsed
// header describes (decompressing and decoding small ones) as a reader would.
#include <cstdint>
#include <string>

#include "gtn/codec/compression.h"
#include "gtn/store/chunk_format.h"
#include "gtn/store/tensor_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gtn;
  using namespace gtn::store;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)chunk_checksums(bytes);
  ChunkHeader h;
  if (!parse_chunk(bytes, &h).ok()) return 0;
  std::string_view region = bytes.substr(h.data_offset, h.stored_data_bytes);
  (void)verify_blocks(h, reinterpret_cast<const uint8_t*>(region.data()), 0, region.size());
  std::string raw;
  if (h.chunk_compression != Compression::kNone) {
    if (h.raw_data_bytes > (1u << 20)) return 0;
    raw.resize(h.raw_data_bytes);
    if (!codec::decompress(h.chunk_compression, region, raw.data(), raw.size()).ok()) return 0;
    region = raw;
  }
  uint32_t n = std::min<uint32_t>(h.num_samples, 4096);
  std::string out;
  for (uint32_t j = 0; j < n; ++j) {
    uint64_t off, len;
    h.positions.locate(j, &off, &len);
    Shape shape = h.shapes.shape(j);
    if (h.is_tile()) break;  // a tile holds only part of its sample's bytes
    if (off > region.size() || len > region.size() - off) __builtin_trap();  // parse_chunk guarantees this
    size_t need = static_cast<size_t>(shape_numel(shape)) * dtype_size(h.dtype);
    if (need > (1u << 20)) continue;
    out.assign(need, '\0');
    (void)decode_sample(h.sample_compression, h.dtype, shape, region.substr(off, len), out.data());
  }
  return 0;
}
