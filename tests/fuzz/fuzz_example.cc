// Feeds any bytes, as the payload of a TFRecord record, to decode_example: the tf.train.Example parse, the
// feature checks and the decode of the image and label (PNG, JPEG, GIF, BMP) under a pixel limit of
// kMaxPixels (small, so that each run stays fast).
// Asserts beyond "no crash": a failure is only a DataError whose message names the file of the
// ExampleContext and whose record() and offset() are the context's; a decoded sample is within the pixel
// limit and its buffers hold exactly height x width x 3 RGB bytes and height x width class values.
#include <string>

#include "io/example.h"
#include "io/tfrecord.h"
#include "tests/fuzz/harness.h"

namespace {

constexpr int64_t kMaxPixels = 256 * 256;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string serialized(reinterpret_cast<const char*>(data), size);
  const fcn::ExampleContext where{"fuzz/shard-00007.tfrecord", 7, 1234};
  fcn::DecodeLimits limits;
  limits.max_pixels = kMaxPixels;
  fcn::Sample sample;
  const auto error = fcn::fuzz::failure_of<fcn::DataError>(
      "decode_example", where.file, [&] { sample = fcn::decode_example(serialized, where, limits); });
  if (error) {
    fcn::fuzz::require(error->file() == where.file && error->record() == where.record_index &&
                           error->offset() == where.offset,
                       std::string("decode_example: the DataError names another place: ") + error->what());
    return 0;
  }
  const int64_t pixels = int64_t(sample.height) * sample.width;
  fcn::fuzz::require(sample.height > 0 && sample.width > 0 && pixels <= kMaxPixels,
                     "decode_example: a " + std::to_string(sample.width) + "x" + std::to_string(sample.height) +
                         " sample (limit " + std::to_string(kMaxPixels) + " pixels)");
  fcn::fuzz::require(sample.rgb.size() == size_t(pixels) * 3 && sample.label.size() == size_t(pixels),
                     "decode_example: buffers of " + std::to_string(sample.rgb.size()) + " RGB bytes and " +
                         std::to_string(sample.label.size()) + " labels for " + std::to_string(pixels) + " pixels");
  fcn::fuzz::require(sample.record_index == where.record_index, "decode_example: the sample's record index");
  return 0;
}
