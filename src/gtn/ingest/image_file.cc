#include "gtn/ingest/image_file.h"

#include <cstring>

#include "gtn/ingest/file_util.h"

namespace gtn::ingest {
namespace {

template <typename T>
void convert(const T* in, int cin, T* out, int cout, size_t pixels) {
  constexpr uint64_t kMax = sizeof(T) == 1 ? 0xFF : 0xFFFF;
  for (size_t p = 0; p < pixels; ++p, in += cin, out += cout) {
    uint64_t r, g, b, a = kMax;
    if (cin <= 2) {
      r = g = b = in[0];
      if (cin == 2) a = in[1];
    } else {
      r = in[0];
      g = in[1];
      b = in[2];
      if (cin == 4) a = in[3];
    }
    if (cout <= 2) {
      // Pillow's ITU-R 601-2 luma: (19595 R + 38470 G + 7471 B + 0x8000) >> 16; grey stays grey.
      out[0] = static_cast<T>(cin <= 2 ? r : (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
      if (cout == 2) out[1] = static_cast<T>(a);
    } else {
      out[0] = static_cast<T>(r);
      out[1] = static_cast<T>(g);
      out[2] = static_cast<T>(b);
      if (cout == 4) out[3] = static_cast<T>(a);
    }
  }
}

}  // namespace

Result<ImageFile> probe_image(std::string bytes) {
  ImageFile image;
  GTN_ASSIGN_OR_RETURN(image.header, codec::probe_image(bytes));
  GTN_RETURN_IF_ERROR(codec::check_image(image.header.format, image.header.dtype, image.header.shape));
  image.bytes = std::move(bytes);
  return image;
}

Result<ImageFile> read_image_file(const std::string& path) {
  GTN_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return probe_image(std::move(bytes));
}

Result<Array> decode_image_file(const ImageFile& image) {
  Array pixels = Array::Zeros(image.header.dtype, image.header.shape);
  Status st = codec::decode_image(image.header.format, image.header.dtype, image.bytes, image.header.shape,
                                  pixels.mutable_data());
  if (!st.ok()) return Status::InvalidArgument(st.message());
  return pixels;
}

int mode_channels(ImageMode mode, int decoded) {
  switch (mode) {
    case ImageMode::kKeep: return decoded;
    case ImageMode::kL: return 1;
    case ImageMode::kLA: return 2;
    case ImageMode::kRGB: return 3;
    case ImageMode::kRGBA: return 4;
  }
  return decoded;
}

Array convert_channels(const Array& pixels, int channels) {
  const Shape& s = pixels.shape();
  int cin = s.size() == 3 ? static_cast<int>(s[2]) : 1;
  Array out = Array::Zeros(pixels.dtype(), {s[0], s[1], channels});
  auto n = static_cast<size_t>(s[0] * s[1]);
  if (pixels.dtype() == DType::kUInt16) {
    convert(pixels.data_as<uint16_t>(), cin, static_cast<uint16_t*>(out.mutable_data()), channels, n);
  } else {
    convert(pixels.data_as<uint8_t>(), cin, static_cast<uint8_t*>(out.mutable_data()), channels, n);
  }
  return out;
}

}  // namespace gtn::ingest
