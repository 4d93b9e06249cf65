#include "gtn/ingest/image_file.h"

#include <png.h>
#include <turbojpeg.h>

#include "gtn/codec/image_codec.h"
#include "gtn/ingest/file_util.h"

namespace gtn::ingest {
namespace {

bool has_jpeg_magic(std::string_view b) { return b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF"; }
bool has_png_magic(std::string_view b) { return b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1A\n"; }

Result<Shape> jpeg_shape(std::string_view bytes) {
  tjhandle h = tjInitDecompress();
  if (!h) return Status::Internal("cannot create a TurboJPEG decompressor");
  int w = 0, ht = 0, subsamp = 0, colorspace = 0;
  int rc = tjDecompressHeader3(h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &w, &ht,
                               &subsamp, &colorspace);
  std::string err = rc != 0 ? tjGetErrorStr2(h) : "";
  tjDestroy(h);
  if (rc != 0) return Status::InvalidArgument("JPEG header does not parse: " + err);
  return Shape{ht, w, colorspace == TJCS_GRAY ? 1 : 3};
}

Result<Shape> png_shape(std::string_view bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    std::string msg = image.message;
    png_image_free(&image);
    return Status::InvalidArgument("PNG header does not parse: " + msg);
  }
  Shape shape{static_cast<int64_t>(image.height), static_cast<int64_t>(image.width),
              static_cast<int64_t>(PNG_IMAGE_SAMPLE_CHANNELS(image.format))};
  png_image_free(&image);
  return shape;
}

}  // namespace

Result<ImageFile> probe_image(std::string bytes) {
  ImageFile image;
  if (has_jpeg_magic(bytes)) {
    image.format = Compression::kJpeg;
    GTN_ASSIGN_OR_RETURN(image.shape, jpeg_shape(bytes));
  } else if (has_png_magic(bytes)) {
    image.format = Compression::kPng;
    GTN_ASSIGN_OR_RETURN(image.shape, png_shape(bytes));
  } else {
    return Status::InvalidArgument("not a JPEG or PNG image (unrecognised magic bytes)");
  }
  GTN_RETURN_IF_ERROR(codec::check_image(image.format, DType::kUInt8, image.shape));
  image.bytes = std::move(bytes);
  return image;
}

Result<ImageFile> read_image_file(const std::string& path) {
  GTN_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  Result<ImageFile> image = probe_image(std::move(bytes));
  if (!image.ok()) return image.status().WithContext(path);
  return image;
}

Result<Array> decode_image_file(const ImageFile& image) {
  Array pixels = Array::Zeros(DType::kUInt8, image.shape);
  Status st = codec::decode_image(image.format, image.bytes, image.shape, static_cast<uint8_t*>(pixels.mutable_data()));
  if (!st.ok()) return Status::InvalidArgument(st.message());
  return pixels;
}

}  // namespace gtn::ingest
