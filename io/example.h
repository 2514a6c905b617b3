// tf.train.Example (the seed's schema) <-> Sample. Parsing validates every feature the seed reads and
// throws DataError naming the file, record index and byte offset, never crashing on bad bytes.
#pragma once
#include <cstdint>
#include <string>

#include "io/sample.h"

namespace fcn {

struct ExampleContext {  // where the record came from, for error messages
  std::string file;
  int64_t record_index = -1;
  int64_t offset = -1;
};

struct DecodeLimits {
  int64_t max_pixels = 64ll * 1000 * 1000;  // refuse decoded images larger than this (width * height)
};

// Parses the serialized Example and decodes image/encoded (to RGB) and
// image/segmentation/class/encoded (to one channel). Checks sizes against image/height, image/width.
Sample decode_example(const std::string& serialized, const ExampleContext& where,
                      const DecodeLimits& limits = {});

// Everything the seed's schema holds, for the writer side (make-dataset, tests).
struct ExampleFields {
  std::string image_encoded;  // PNG or JPEG bytes
  std::string image_format;   // "png" or "jpeg"
  std::string label_encoded;  // PNG of class values
  std::string filename;
  std::string id;
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 3;
};
std::string encode_example(const ExampleFields& fields);  // serialized tf.train.Example

}  // namespace fcn
