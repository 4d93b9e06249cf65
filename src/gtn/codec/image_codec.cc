#include "gtn/codec/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <limits>
#include <memory>

namespace gtn::codec {
namespace {

struct ImageDims {
  int height = 0, width = 0, channels = 1;
};

ImageDims dims_of(const Shape& shape) {
  ImageDims d;
  d.height = static_cast<int>(shape[0]);
  d.width = static_cast<int>(shape[1]);
  d.channels = shape.size() == 3 ? static_cast<int>(shape[2]) : 1;
  return d;
}

// One TurboJPEG handle per thread and direction: creating them costs more than a small decode.
struct TjHandle {
  explicit TjHandle(bool compress) : h(compress ? tjInitCompress() : tjInitDecompress()) {}
  ~TjHandle() { if (h) tjDestroy(h); }
  tjhandle h;
};

tjhandle compressor() {
  thread_local TjHandle handle(true);
  return handle.h;
}
tjhandle decompressor() {
  thread_local TjHandle handle(false);
  return handle.h;
}

Result<std::string> encode_jpeg(const uint8_t* pixels, const ImageDims& d, int quality) {
  tjhandle h = compressor();
  if (!h) return Status::Internal("cannot create a TurboJPEG compressor");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  int pf = d.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  int subsamp = d.channels == 1 ? TJSAMP_GRAY : TJSAMP_420;
  int rc = tjCompress2(h, pixels, d.width, 0, d.height, pf, &buf, &size, subsamp, quality, TJFLAG_ACCURATEDCT);
  if (rc != 0) {
    if (buf) tjFree(buf);
    return Status::Internal(std::string("JPEG encoding failed: ") + tjGetErrorStr2(h));
  }
  std::string out(reinterpret_cast<const char*>(buf), size);
  tjFree(buf);
  return out;
}

Status decode_jpeg(std::string_view encoded, const ImageDims& d, uint8_t* out) {
  tjhandle h = decompressor();
  if (!h) return Status::Internal("cannot create a TurboJPEG decompressor");
  if (encoded.size() > std::numeric_limits<unsigned long>::max()) return Status::Corruption("JPEG too large");
  int w = 0, ht = 0, subsamp = 0, colorspace = 0;
  auto* src = reinterpret_cast<const unsigned char*>(encoded.data());
  if (tjDecompressHeader3(h, src, encoded.size(), &w, &ht, &subsamp, &colorspace) != 0) {
    return Status::Corruption(std::string("not a JPEG image: ") + tjGetErrorStr2(h));
  }
  if (w != d.width || ht != d.height) {
    return Status::Corruption("JPEG image is " + std::to_string(ht) + "x" + std::to_string(w) +
                              ", expected " + std::to_string(d.height) + "x" + std::to_string(d.width));
  }
  int pf = d.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  if (tjDecompress2(h, src, encoded.size(), out, d.width, 0, d.height, pf, TJFLAG_ACCURATEDCT) != 0) {
    return Status::Corruption(std::string("JPEG does not decode: ") + tjGetErrorStr2(h));
  }
  return Status::OK();
}

png_uint_32 png_format(int channels) {
  switch (channels) {
    case 1: return PNG_FORMAT_GRAY;
    case 2: return PNG_FORMAT_GA;
    case 3: return PNG_FORMAT_RGB;
    default: return PNG_FORMAT_RGBA;
  }
}

Result<std::string> encode_png(const uint8_t* pixels, const ImageDims& d) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(d.width);
  image.height = static_cast<png_uint_32>(d.height);
  image.format = png_format(d.channels);
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, nullptr)) {
    std::string msg = image.message;
    png_image_free(&image);
    return Status::Internal("PNG encoding failed: " + msg);
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, pixels, 0, nullptr)) {
    std::string msg = image.message;
    png_image_free(&image);
    return Status::Internal("PNG encoding failed: " + msg);
  }
  out.resize(size);
  return out;
}

Status decode_png(std::string_view encoded, const ImageDims& d, uint8_t* out) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, encoded.data(), encoded.size())) {
    std::string msg = image.message;
    png_image_free(&image);
    return Status::Corruption("not a PNG image: " + msg);
  }
  if (image.width != static_cast<png_uint_32>(d.width) || image.height != static_cast<png_uint_32>(d.height)) {
    std::string got = std::to_string(image.height) + "x" + std::to_string(image.width);
    png_image_free(&image);
    return Status::Corruption("PNG image is " + got + ", expected " + std::to_string(d.height) + "x" +
                              std::to_string(d.width));
  }
  image.format = png_format(d.channels);
  if (!png_image_finish_read(&image, nullptr, out, 0, nullptr)) {
    std::string msg = image.message;
    png_image_free(&image);
    return Status::Corruption("PNG does not decode: " + msg);
  }
  return Status::OK();
}

}  // namespace

Status check_image(Compression codec, DType dtype, const Shape& shape) {
  std::string what = std::string(compression_name(codec));
  if (dtype != DType::kUInt8) {
    return Status::InvalidArgument(what + " compression needs uint8 images, got " + std::string(dtype_name(dtype)));
  }
  if (shape.size() != 2 && shape.size() != 3) {
    return Status::InvalidArgument(what + " compression needs an image of shape (H, W) or (H, W, C), got " +
                                   shape_to_string(shape));
  }
  if (shape[0] < 1 || shape[1] < 1 || shape[0] > 65535 || shape[1] > 65535) {
    return Status::InvalidArgument(what + " compression needs 1 <= H, W <= 65535, got " + shape_to_string(shape));
  }
  int64_t c = shape.size() == 3 ? shape[2] : 1;
  bool ok = codec == Compression::kJpeg ? (c == 1 || c == 3) : (c >= 1 && c <= 4);
  if (!ok) {
    return Status::InvalidArgument(what + " compression cannot store " + std::to_string(c) +
                                   " channels; expected " + (codec == Compression::kJpeg ? "1 or 3" : "1 to 4"));
  }
  return Status::OK();
}

Result<std::string> encode_image(Compression codec, const uint8_t* pixels, const Shape& shape, int jpeg_quality) {
  if (!is_image_codec(codec)) return Status::InvalidArgument("encode_image: not an image codec");
  if (shape.size() < 2) return Status::InvalidArgument("encode_image: shape must be (H, W) or (H, W, C)");
  ImageDims d = dims_of(shape);
  return codec == Compression::kJpeg ? encode_jpeg(pixels, d, jpeg_quality) : encode_png(pixels, d);
}

Status decode_image(Compression codec, std::string_view encoded, const Shape& shape, uint8_t* out) {
  if (!is_image_codec(codec)) return Status::InvalidArgument("decode_image: not an image codec");
  GTN_RETURN_IF_ERROR(check_image(codec, DType::kUInt8, shape));
  ImageDims d = dims_of(shape);
  return codec == Compression::kJpeg ? decode_jpeg(encoded, d, out) : decode_png(encoded, d, out);
}

}  // namespace gtn::codec
