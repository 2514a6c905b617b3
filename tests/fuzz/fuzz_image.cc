// Feeds any bytes to decode_image, to 1 and to 3 channels, under a pixel limit of kMaxPixels, and to
// peek_image_size and image_is_16_bit. JPEG goes to libjpeg-turbo, PNG, GIF and BMP to stb_image.
// Asserts beyond "no crash": nothing throws (these functions report failure by their result); a failure
// comes with a message; a decoded image is within the limit, has the channels asked for and exactly
// height x width x channels bytes, the size peek_image_size reads from the header, and the same size at
// 1 and 3 channels; and the same bytes with the limit one pixel under the image's size are refused.
#include <string>

#include "io/image_codec.h"
#include "tests/fuzz/harness.h"

namespace {

using fcn::fuzz::require;

constexpr int64_t kMaxPixels = 512 * 512;

// Decodes under `max_pixels`; returns whether it succeeded. Any exception is a finding.
bool decode(const uint8_t* data, size_t size, int channels, int64_t max_pixels, fcn::DecodedImage* image,
            std::string* error) {
  bool ok = false;
  fcn::fuzz::failure_of<fcn::fuzz::NeverThrown>(
      "decode_image", "", [&] { ok = fcn::decode_image(data, size, channels, max_pixels, image, error); });
  if (fcn::fuzz::verbose()) {
    const std::string outcome = ok ? std::to_string(image->width) + "x" + std::to_string(image->height) : *error;
    fcn::fuzz::report(channels == 1 ? "  1 channel" : "  3 channels", outcome.c_str());
  }
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int peek_width = 0, peek_height = 0, peek_channels = 0;
  bool peeked = false;
  fcn::fuzz::failure_of<fcn::fuzz::NeverThrown>("peek_image_size", "", [&] {
    peeked = fcn::peek_image_size(data, size, &peek_width, &peek_height, &peek_channels);
    fcn::image_is_16_bit(data, size);
  });
  fcn::DecodedImage decoded[2];
  bool ok[2] = {false, false};
  const int channel_counts[2] = {1, 3};
  for (int i = 0; i < 2; ++i) {
    const int channels = channel_counts[i];
    const std::string asked = " (" + std::to_string(channels) + " channels)";
    std::string error;
    fcn::DecodedImage& image = decoded[i];
    ok[i] = decode(data, size, channels, kMaxPixels, &image, &error);
    if (!ok[i]) {
      require(!error.empty(), "decode_image failed without a message" + asked);
      continue;
    }
    const int64_t pixels = int64_t(image.width) * image.height;
    require(image.width > 0 && image.height > 0 && pixels <= kMaxPixels,
            "decode_image gave " + std::to_string(image.width) + "x" + std::to_string(image.height) + asked);
    require(image.channels == channels && image.pixels.size() == size_t(pixels) * size_t(channels),
            "decode_image gave " + std::to_string(image.pixels.size()) + " bytes of " +
                std::to_string(image.channels) + " channels for " + std::to_string(pixels) + " pixels" + asked);
    require(peeked && peek_width == image.width && peek_height == image.height,
            "decode_image gave " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                ", peek_image_size " + (peeked ? std::to_string(peek_width) + "x" + std::to_string(peek_height)
                                               : std::string("nothing")) + asked);
    fcn::DecodedImage small;
    std::string small_error;
    require(!decode(data, size, channels, pixels - 1, &small, &small_error),
            "decode_image decoded " + std::to_string(pixels) + " pixels under a limit of " +
                std::to_string(pixels - 1) + asked);
  }
  if (ok[0] && ok[1]) {
    require(decoded[0].width == decoded[1].width && decoded[0].height == decoded[1].height,
            "decode_image gives other sizes at 1 and 3 channels");
  }
  return 0;
}
