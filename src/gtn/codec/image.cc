// The public image encoder (include/gtn/image.h) over image_codec.h.
#include "gtn/image.h"

#include "gtn/codec/image_codec.h"

namespace gtn {

Result<std::string> encode_image(const Array& image, Compression format, int jpeg_quality) {
  if (!codec::is_image_codec(format)) {
    return Status::InvalidArgument("cannot encode an image as " + std::string(compression_name(format)) +
                                   "; expected png or jpeg");
  }
  if (jpeg_quality < 1 || jpeg_quality > 100) {
    return Status::InvalidArgument("JPEG quality " + std::to_string(jpeg_quality) + " is not in 1..100");
  }
  if (image.dtype() != DType::kUInt8) {
    return Status::InvalidArgument(std::string(compression_name(format)) + " files are written from uint8 images, got " +
                                   std::string(dtype_name(image.dtype())) + "; write a .npy file instead");
  }
  GTN_RETURN_IF_ERROR(codec::check_image(format, image.dtype(), image.shape()));
  return codec::encode_image(format, image.data_as<uint8_t>(), image.shape(), jpeg_quality);
}

}  // namespace gtn
