// tf.train.Example (the seed's schema) <-> Sample: protobuf parse, feature checks, image and label decode.
// Every way a record can be wrong becomes a DataError(kInvalid) naming the file, record, offset and
// feature, so one bad record never crashes a run or slips through as garbage.
#include "io/example.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "io/image_codec.h"
#include "io/tfrecord.h"
#include "proto/example.pb.h"

namespace fcn {
namespace {

const char* kInvalidHint =
    "HINT: this record does not follow the Labelbox segmentation schema (see docs/FORMATS.md). Re-export "
    "the dataset, check it with `fcn inspect`, or pass --skip-corrupted to skip bad records.";

[[noreturn]] void invalid(const ExampleContext& where, const std::string& problem,
                          const char* hint = kInvalidHint) {
  throw DataError(DataError::Kind::kInvalid, where.file, where.record_index, where.offset,
                  "invalid record " + std::to_string(where.record_index) + " at byte offset " +
                      std::to_string(where.offset) + " in " + where.file + ": " + problem + "\n" + hint);
}

const char* kind_name(tensorflow::Feature::KindCase kind) {
  switch (kind) {
    case tensorflow::Feature::kBytesList: return "bytes_list";
    case tensorflow::Feature::kFloatList: return "float_list";
    case tensorflow::Feature::kInt64List: return "int64_list";
    default: return "empty (no list set)";
  }
}

const tensorflow::Feature& find_feature(const tensorflow::Features& features, const std::string& key,
                                        tensorflow::Feature::KindCase expected, const ExampleContext& where) {
  auto it = features.feature().find(key);
  if (it == features.feature().end()) invalid(where, "missing feature '" + key + "'");
  if (it->second.kind_case() != expected) {
    invalid(where, "feature '" + key + "' is " + kind_name(it->second.kind_case()) + ", expected " +
                       kind_name(expected));
  }
  return it->second;
}

const std::string& bytes_feature(const tensorflow::Features& features, const std::string& key,
                                 const ExampleContext& where) {
  const auto& list = find_feature(features, key, tensorflow::Feature::kBytesList, where).bytes_list();
  if (list.value_size() != 1) {
    invalid(where, "feature '" + key + "' holds " + std::to_string(list.value_size()) +
                       " values, expected exactly 1");
  }
  return list.value(0);
}

int64_t int64_feature(const tensorflow::Features& features, const std::string& key,
                      const ExampleContext& where) {
  const auto& list = find_feature(features, key, tensorflow::Feature::kInt64List, where).int64_list();
  if (list.value_size() != 1) {
    invalid(where, "feature '" + key + "' holds " + std::to_string(list.value_size()) +
                       " values, expected exactly 1");
  }
  return list.value(0);
}

std::string size_text(int64_t width, int64_t height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

// Decodes `bytes` (feature `key`) after checking its header size against the pixel limit.
DecodedImage decode_feature_image(const std::string& bytes, const std::string& key, int channels,
                                  const ExampleContext& where, const DecodeLimits& limits) {
  int width = 0, height = 0, stored_channels = 0;
  if (peek_image_size(bytes.data(), bytes.size(), &width, &height, &stored_channels) &&
      int64_t(width) * height > limits.max_pixels) {
    invalid(where,
            "feature '" + key + "' is a " + size_text(width, height) + " image (" +
                std::to_string(int64_t(width) * height) + " pixels), over the limit of " +
                std::to_string(limits.max_pixels) + " pixels",
            "HINT: downscale the images of the export, or raise --max-pixels if this size is intended.");
  }
  DecodedImage image;
  std::string error;
  if (!decode_image(bytes.data(), bytes.size(), channels, limits.max_pixels, &image, &error)) {
    invalid(where, "feature '" + key + "' cannot be decoded: " + error);
  }
  return image;
}

}  // namespace

Sample decode_example(const std::string& serialized, const ExampleContext& where, const DecodeLimits& limits) {
  tensorflow::Example example;
  if (!example.ParseFromString(serialized)) {
    invalid(where, "the payload (" + std::to_string(serialized.size()) +
                       " bytes) is not a valid tf.train.Example protobuf");
  }
  const tensorflow::Features& features = example.features();

  Sample sample;
  sample.record_index = where.record_index;
  const std::string& image_bytes = bytes_feature(features, "image/encoded", where);
  sample.filename = bytes_feature(features, "image/filename", where);
  sample.id = bytes_feature(features, "image/ID", where);
  sample.format = bytes_feature(features, "image/format", where);
  bytes_feature(features, "image/colorspace", where);                    // read by the seed, unused here
  bytes_feature(features, "image/segmentation/class/format", where);     // read by the seed, unused here
  const std::string& label_bytes = bytes_feature(features, "image/segmentation/class/encoded", where);
  const int64_t height = int64_feature(features, "image/height", where);
  const int64_t width = int64_feature(features, "image/width", where);
  const int64_t channels = int64_feature(features, "image/channels", where);
  if (channels < 1 || channels > 4) {
    invalid(where, "feature 'image/channels' is " + std::to_string(channels) + ", expected 1..4");
  }
  sample.channels = int(channels);

  DecodedImage image = decode_feature_image(image_bytes, "image/encoded", 3, where, limits);
  if (image.height != height || image.width != width) {
    invalid(where, "feature 'image/encoded' decodes to " + size_text(image.width, image.height) +
                       " (width x height) but image/width x image/height say " + size_text(width, height));
  }

  // Labels: class values are the raw samples of a gray PNG. A paletted or RGB label PNG is expanded to RGB
  // by stb_image (the palette is applied), and its first (red) channel is taken as the class value.
  if (image_is_16_bit(label_bytes.data(), label_bytes.size())) {
    invalid(where, "the label 'image/segmentation/class/encoded' is a 16-bit PNG; class values must be 8-bit",
            "HINT: re-export the labels as 8-bit PNGs (one byte per pixel holding the legend value).");
  }
  int label_source_channels = 1;
  peek_image_size(label_bytes.data(), label_bytes.size(), nullptr, nullptr, &label_source_channels);
  const bool label_has_color = label_source_channels >= 3;
  DecodedImage label = decode_feature_image(label_bytes, "image/segmentation/class/encoded",
                                            label_has_color ? 3 : 1, where, limits);
  if (label.height != image.height || label.width != image.width) {
    invalid(where, "the label 'image/segmentation/class/encoded' is " + size_text(label.width, label.height) +
                       " but the image is " + size_text(image.width, image.height));
  }

  sample.height = image.height;
  sample.width = image.width;
  sample.rgb = std::move(image.pixels);
  if (label_has_color) {
    const size_t pixels = size_t(label.width) * size_t(label.height);
    sample.label.resize(pixels);
    for (size_t i = 0; i < pixels; ++i) sample.label[i] = label.pixels[3 * i];
  } else {
    sample.label = std::move(label.pixels);
  }
  return sample;
}

std::string encode_example(const ExampleFields& fields) {
  tensorflow::Example example;
  auto& map = *example.mutable_features()->mutable_feature();
  auto put_bytes = [&](const char* key, const std::string& value) {
    map[key].mutable_bytes_list()->add_value(value);
  };
  auto put_int64 = [&](const char* key, int64_t value) { map[key].mutable_int64_list()->add_value(value); };
  put_bytes("image/encoded", fields.image_encoded);
  put_bytes("image/filename", fields.filename);
  put_bytes("image/ID", fields.id);
  put_bytes("image/format", fields.image_format);
  put_bytes("image/colorspace", "RGB");
  put_bytes("image/segmentation/class/format", "png");
  put_bytes("image/segmentation/class/encoded", fields.label_encoded);
  put_int64("image/height", fields.height);
  put_int64("image/width", fields.width);
  put_int64("image/channels", fields.channels);

  // Deterministic serialization (map entries sorted by key) so the same fields give the same bytes.
  std::string serialized;
  {
    google::protobuf::io::StringOutputStream stream(&serialized);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    example.SerializeToCodedStream(&coded);
  }
  return serialized;
}

}  // namespace fcn
