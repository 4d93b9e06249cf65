#include "gtn/codec/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <csetjmp>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

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

bool has_jpeg_magic(std::string_view b) { return b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF"; }
bool has_png_magic(std::string_view b) { return b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1A\n"; }

// What a file that is neither JPEG nor PNG looks like, for error messages.
std::string describe_magic(std::string_view b) {
  if (b.empty()) return "an empty file";
  if (b.size() >= 4 && b.substr(0, 4) == std::string_view("\0\0\1\0", 4)) return "an ICO (Windows icon) file";
  if (b.substr(0, 3) == "GIF") return "a GIF file";
  if (b.substr(0, 2) == "BM") return "a BMP file";
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return "a WebP file";
  if (b.size() >= 4 && (b.substr(0, 4) == "II*\0" || b.substr(0, 4) == "MM\0*")) return "a TIFF file";
  return "unrecognised magic bytes";
}

// One TurboJPEG handle per thread and direction: creating them costs more than a small decode.
// A handle that failed on bad bytes keeps state from them (libjpeg-turbo 2.1 then fails the
// next good image with "Bogus Huffman table definition"), so a failure replaces it.
struct TjHandle {
  explicit TjHandle(bool compress) : compress(compress), h(make()) {}
  ~TjHandle() { if (h) tjDestroy(h); }
  tjhandle make() const { return compress ? tjInitCompress() : tjInitDecompress(); }
  void reset() {
    if (h) tjDestroy(h);
    h = make();
  }
  bool compress;
  tjhandle h;
};

TjHandle& compressor_handle() {
  thread_local TjHandle handle(true);
  return handle;
}
TjHandle& decompressor_handle() {
  thread_local TjHandle handle(false);
  return handle;
}
tjhandle compressor() { return compressor_handle().h; }
tjhandle decompressor() { return decompressor_handle().h; }

// The error of the last call on `handle`, after which the handle is replaced.
std::string tj_error_and_reset(TjHandle& handle) {
  std::string error = tjGetErrorStr2(handle.h);
  handle.reset();
  return error;
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
    return Status::Internal("JPEG encoding failed: " + tj_error_and_reset(compressor_handle()));
  }
  std::string out(reinterpret_cast<const char*>(buf), size);
  tjFree(buf);
  return out;
}

Result<ImageHeader> jpeg_header(std::string_view encoded) {
  tjhandle h = decompressor();
  if (!h) return Status::Internal("cannot create a TurboJPEG decompressor");
  int w = 0, ht = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(h, reinterpret_cast<const unsigned char*>(encoded.data()), encoded.size(), &w, &ht,
                          &subsamp, &colorspace) != 0) {
    return Status::InvalidArgument("JPEG header does not parse: " + tj_error_and_reset(decompressor_handle()));
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    return Status::InvalidArgument("CMYK JPEG images are not supported; convert them to RGB first");
  }
  ImageHeader header;
  header.format = Compression::kJpeg;
  header.shape = {ht, w, colorspace == TJCS_GRAY ? 1 : 3};
  return header;
}

Status decode_jpeg(std::string_view encoded, const ImageDims& d, uint8_t* out) {
  tjhandle h = decompressor();
  if (!h) return Status::Internal("cannot create a TurboJPEG decompressor");
  if (encoded.size() > std::numeric_limits<unsigned long>::max()) return Status::Corruption("JPEG too large");
  int w = 0, ht = 0, subsamp = 0, colorspace = 0;
  auto* src = reinterpret_cast<const unsigned char*>(encoded.data());
  if (tjDecompressHeader3(h, src, encoded.size(), &w, &ht, &subsamp, &colorspace) != 0) {
    return Status::Corruption("not a JPEG image: " + tj_error_and_reset(decompressor_handle()));
  }
  if (w != d.width || ht != d.height) {
    return Status::Corruption("JPEG image is " + std::to_string(ht) + "x" + std::to_string(w) +
                              ", expected " + std::to_string(d.height) + "x" + std::to_string(d.width));
  }
  int pf = d.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  if (tjDecompress2(h, src, encoded.size(), out, d.width, 0, d.height, pf, TJFLAG_ACCURATEDCT) != 0) {
    return Status::Corruption("JPEG does not decode: " + tj_error_and_reset(decompressor_handle()));
  }
  return Status::OK();
}

// --- PNG through libpng's low-level API: exact samples, no gamma handling ---

struct PngIo {
  std::string_view data;
  size_t pos = 0;
  char error[256] = {0};
};

void png_read_bytes(png_structp png, png_bytep out, png_size_t n) {
  auto* io = static_cast<PngIo*>(png_get_io_ptr(png));
  if (n > io->data.size() - io->pos) png_error(png, "the PNG data is truncated");
  std::memcpy(out, io->data.data() + io->pos, n);
  io->pos += n;
}

void png_on_error(png_structp png, png_const_charp message) {
  auto* io = static_cast<PngIo*>(png_get_error_ptr(png));
  std::snprintf(io->error, sizeof(io->error), "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngIo io;
  ~PngReader() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

// Sets up the transforms that give the "as decoded" form and returns its header.
// Called between setjmp and the pixel read; errors longjmp out.
void png_prepare(PngReader& r, ImageHeader* header) {
  png_set_read_fn(r.png, &r.io, png_read_bytes);
  png_read_info(r.png, r.info);
  png_uint_32 w = png_get_image_width(r.png, r.info);
  png_uint_32 h = png_get_image_height(r.png, r.info);
  int depth = png_get_bit_depth(r.png, r.info);
  int color = png_get_color_type(r.png, r.info);
  header->bit_depth = depth;
  header->png_color_type = color;
  int channels = 1;
  switch (color) {
    case PNG_COLOR_TYPE_GRAY:
      if (depth < 8) png_set_expand_gray_1_2_4_to_8(r.png);
      channels = 1;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: channels = 2; break;
    case PNG_COLOR_TYPE_RGB: channels = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    case PNG_COLOR_TYPE_PALETTE:
      png_set_palette_to_rgb(r.png);
      channels = 3;
      if (png_get_valid(r.png, r.info, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(r.png);
        channels = 4;
      }
      break;
    default: png_error(r.png, "unknown PNG colour type");
  }
  if (depth == 16) {
    uint16_t one = 1;
    uint8_t first;
    std::memcpy(&first, &one, 1);
    if (first == 1) png_set_swap(r.png);  // PNG is big-endian; samples come back native
  }
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  header->format = Compression::kPng;
  header->dtype = depth == 16 ? DType::kUInt16 : DType::kUInt8;
  header->shape = {static_cast<int64_t>(h), static_cast<int64_t>(w), channels};
}

bool png_start(PngReader& r, std::string_view bytes) {
  r.io.data = bytes;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r.io, png_on_error, png_on_warning);
  if (!r.png) return false;
  r.info = png_create_info_struct(r.png);
  return r.info != nullptr;
}

Result<ImageHeader> png_header(std::string_view bytes) {
  PngReader r;
  if (!png_start(r, bytes)) return Status::Internal("cannot create a libpng reader");
  ImageHeader header;
  if (setjmp(png_jmpbuf(r.png))) {
    return Status::InvalidArgument(std::string("PNG header does not parse: ") + r.io.error);
  }
  png_prepare(r, &header);
  return header;
}

Status decode_png(std::string_view encoded, DType dtype, const ImageDims& d, void* out) {
  PngReader r;
  if (!png_start(r, encoded)) return Status::Internal("cannot create a libpng reader");
  ImageHeader header;
  std::vector<png_bytep> rows(static_cast<size_t>(d.height));
  if (setjmp(png_jmpbuf(r.png))) return Status::Corruption(std::string("PNG does not decode: ") + r.io.error);
  png_prepare(r, &header);
  if (header.shape[0] != d.height || header.shape[1] != d.width) {
    return Status::Corruption("PNG image is " + std::to_string(header.shape[0]) + "x" + std::to_string(header.shape[1]) +
                              ", expected " + std::to_string(d.height) + "x" + std::to_string(d.width));
  }
  if (header.shape[2] != d.channels || header.dtype != dtype) {
    return Status::Corruption("PNG image decodes to " + std::to_string(header.shape[2]) + " channel(s) of " +
                              std::string(dtype_name(header.dtype)) + ", expected " + std::to_string(d.channels) +
                              " of " + std::string(dtype_name(dtype)));
  }
  size_t row_bytes = static_cast<size_t>(d.width) * static_cast<size_t>(d.channels) * dtype_size(dtype);
  if (png_get_rowbytes(r.png, r.info) != row_bytes) return Status::Corruption("PNG row size does not match its header");
  for (int y = 0; y < d.height; ++y) rows[static_cast<size_t>(y)] = static_cast<png_bytep>(out) + row_bytes * y;
  png_read_image(r.png, rows.data());
  png_read_end(r.png, nullptr);
  return Status::OK();
}

png_uint_32 png_simple_format(int channels) {
  switch (channels) {
    case 1: return PNG_FORMAT_GRAY;
    case 2: return PNG_FORMAT_GA;
    case 3: return PNG_FORMAT_RGB;
    default: return PNG_FORMAT_RGBA;
  }
}

Result<std::string> encode_png8(const uint8_t* pixels, const ImageDims& d) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(d.width);
  image.height = static_cast<png_uint_32>(d.height);
  image.format = png_simple_format(d.channels);
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

struct PngWriter {
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngIo io;  // for the error message
  std::string out;
  ~PngWriter() { png_destroy_write_struct(&png, info ? &info : nullptr); }
};

void png_write_bytes(png_structp png, png_bytep data, png_size_t n) {
  auto* w = static_cast<PngWriter*>(png_get_io_ptr(png));
  w->out.append(reinterpret_cast<const char*>(data), n);
}
void png_flush_nothing(png_structp) {}

// 16-bit PNG (the simplified API would treat 16-bit samples as linear light and convert).
Result<std::string> encode_png16(const uint16_t* pixels, const ImageDims& d) {
  PngWriter w;
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w.io, png_on_error, png_on_warning);
  if (!w.png) return Status::Internal("cannot create a libpng writer");
  w.info = png_create_info_struct(w.png);
  if (!w.info) return Status::Internal("cannot create a libpng writer");
  size_t row_elems = static_cast<size_t>(d.width) * static_cast<size_t>(d.channels);
  std::vector<png_bytep> rows(static_cast<size_t>(d.height));
  if (setjmp(png_jmpbuf(w.png))) return Status::Internal(std::string("PNG encoding failed: ") + w.io.error);
  static const int kColor[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGB_ALPHA};
  png_set_write_fn(w.png, &w, png_write_bytes, png_flush_nothing);
  png_set_IHDR(w.png, w.info, static_cast<png_uint_32>(d.width), static_cast<png_uint_32>(d.height), 16,
               kColor[d.channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(w.png, w.info);
  uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  if (first == 1) png_set_swap(w.png);
  for (int y = 0; y < d.height; ++y) {
    rows[static_cast<size_t>(y)] = reinterpret_cast<png_bytep>(const_cast<uint16_t*>(pixels + row_elems * y));
  }
  png_write_image(w.png, rows.data());
  png_write_end(w.png, nullptr);
  return std::move(w.out);
}

}  // namespace

Status check_image(Compression codec, DType dtype, const Shape& shape) {
  std::string what = std::string(compression_name(codec));
  bool dtype_ok = dtype == DType::kUInt8 || (codec == Compression::kPng && dtype == DType::kUInt16);
  if (!dtype_ok) {
    return Status::InvalidArgument(what + " compression needs " +
                                   (codec == Compression::kPng ? "uint8 or uint16" : "uint8") + " images, got " +
                                   std::string(dtype_name(dtype)));
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

Result<ImageHeader> probe_image(std::string_view bytes) {
  if (has_jpeg_magic(bytes)) return jpeg_header(bytes);
  if (has_png_magic(bytes)) return png_header(bytes);
  return Status::InvalidArgument("not a JPEG or PNG image: " + describe_magic(bytes));
}

Result<std::string> encode_image(Compression codec, const uint8_t* pixels, const Shape& shape, int jpeg_quality) {
  return encode_image(codec, DType::kUInt8, pixels, shape, jpeg_quality);
}

Result<std::string> encode_image(Compression codec, DType dtype, const void* pixels, const Shape& shape,
                                 int jpeg_quality) {
  if (!is_image_codec(codec)) return Status::InvalidArgument("encode_image: not an image codec");
  GTN_RETURN_IF_ERROR(check_image(codec, dtype, shape));
  ImageDims d = dims_of(shape);
  if (codec == Compression::kJpeg) return encode_jpeg(static_cast<const uint8_t*>(pixels), d, jpeg_quality);
  if (dtype == DType::kUInt16) return encode_png16(static_cast<const uint16_t*>(pixels), d);
  return encode_png8(static_cast<const uint8_t*>(pixels), d);
}

Status decode_image(Compression codec, std::string_view encoded, const Shape& shape, uint8_t* out) {
  return decode_image(codec, DType::kUInt8, encoded, shape, out);
}

Status decode_image(Compression codec, DType dtype, std::string_view encoded, const Shape& shape, void* out) {
  if (!is_image_codec(codec)) return Status::InvalidArgument("decode_image: not an image codec");
  GTN_RETURN_IF_ERROR(check_image(codec, dtype, shape));
  ImageDims d = dims_of(shape);
  if (codec == Compression::kJpeg) return decode_jpeg(encoded, d, static_cast<uint8_t*>(out));
  if (!has_png_magic(encoded)) return Status::Corruption("not a PNG image: " + describe_magic(encoded));
  return decode_png(encoded, dtype, d, out);
}

}  // namespace gtn::codec
