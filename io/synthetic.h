// The synthetic "cars" dataset: photo-like scenes written as a Labelbox-style export (export.json plus
// TFRecord shards of tf.train.Example records in the seed's schema), so the whole pipeline can be run and
// tested without the original data. See docs/DATA.md for what the scenes look like and why.
//
// Scenes: side views of cars (painted body, tinted windows, wheels) of many hues, sizes and positions,
// some partly hidden by other cars, poles or bushes, on textured road / grass / gravel / sky backgrounds,
// with sensor noise. The label is 1 on visible car pixels and 0 elsewhere.
// The cue that separates car from background (smooth, saturated paint versus grainy, greyish ground and
// sky) is visible in a 5x5 window at 128x128, but no threshold on one colour channel finds the cars.
// Everything is a pure function of (seed, image index): same seed, same bytes.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fcn {

struct SyntheticOptions {
  int64_t images = 160;   // records in the export
  int shards = 4;         // .tfrecord files; image i goes to shard i * shards / images (export order kept)
  uint64_t seed = 1;
  int jpeg_quality = 90;  // for the images stored as JPEG (about half)
};

struct SyntheticImage {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> rgb;    // [height, width, 3]
  std::vector<uint8_t> label;  // [height, width], 1 on car pixels, 0 elsewhere
  bool store_as_jpeg = false;  // how write_synthetic_dataset stores it (the label is always PNG)
  double car_fraction() const; // share of label pixels that are car
};

// Renders image `index` of the dataset for `seed`. Sizes vary from about 320x240 to 1280x720.
SyntheticImage render_synthetic_image(uint64_t seed, int64_t index);

struct SyntheticDatasetSummary {
  int64_t images = 0;
  int64_t png_images = 0;
  int64_t jpeg_images = 0;
  int shards = 0;
  int64_t bytes_written = 0;       // all .tfrecord bytes
  double mean_car_fraction = 0.0;  // over images
  std::string export_json;         // path of the written export.json
};

// Called after each image: (images done, images total).
using SyntheticProgress = std::function<void(int64_t done, int64_t total)>;

// Writes dir/export.json (legend {"Model 3": 1}, shard paths relative to dir) and the shards
// dir/synthetic-0000i-of-0000K.tfrecord. The folder is created if missing; existing files with those
// names are overwritten (the caller decides whether that is allowed). Throws DataError(kIo) on I/O errors.
SyntheticDatasetSummary write_synthetic_dataset(const std::string& dir, const SyntheticOptions& options,
                                                const SyntheticProgress& progress = {});

}  // namespace fcn
