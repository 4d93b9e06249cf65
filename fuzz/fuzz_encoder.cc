// Feeds arbitrary bytes to the position and shape encoder decoders and looks up every
// sample they describe; what decodes must encode back to the same bytes.
#include <cstdint>
#include <string>

#include "gtn/store/sample_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gtn::store;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ByteReader in(bytes);
  PositionEncoder pos;
  ShapeEncoder shapes;
  if (!PositionEncoder::decode(&in, &pos).ok()) return 0;
  size_t pos_end = in.position();
  bool shapes_ok = ShapeEncoder::decode(&in, &shapes).ok();
  uint32_t n = std::min<uint32_t>(pos.num_samples(), 4096);
  uint64_t prev_end = 0;
  for (uint32_t j = 0; j < n; ++j) {
    uint64_t off, len;
    pos.locate(j, &off, &len);
    if (off != prev_end) __builtin_trap();  // samples are back to back
    prev_end = off + len;
  }
  std::string again;
  pos.encode(&again);
  if (again != bytes.substr(0, pos_end)) __builtin_trap();
  if (shapes_ok) {
    uint32_t m = std::min<uint32_t>(shapes.num_samples(), 4096);
    for (uint32_t j = 0; j < m; ++j) (void)gtn::shape_numel(shapes.shape(j));
    std::string s;
    shapes.encode(&s);
    if (s != bytes.substr(pos_end, in.position() - pos_end)) __builtin_trap();
  }
  return 0;
}
