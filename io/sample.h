// Sample: one decoded training example, as io/example produces it from a tf.train.Example record.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fcn {

struct Sample {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> rgb;    // [height, width, 3] RGB, row-major
  std::vector<uint8_t> label;  // [height, width] class pixel values (legend values), row-major
  std::string id;              // image/ID
  std::string filename;        // image/filename
  std::string format;          // image/format as stored ("png", "jpeg", ...)
  int channels = 3;            // image/channels as stored (the decoded rgb always has 3)
  int64_t record_index = -1;   // position of the record in export order, from 0
};

}  // namespace fcn
