// Test helper: writes a tiny Labelbox-style export (export.json + one .tfrecord) of random PNG images
// with blob labels into a folder, for tests that need real records on disk.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "io/example.h"
#include "io/image_codec.h"
#include "io/manifest.h"
#include "io/tfrecord.h"

namespace fcn::test {

// A fresh empty folder under the system temp dir.
inline std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("fcn_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Writes dir/export.json and dir/data.tfrecord with `records` images of varied sizes; returns the
// export.json path. Labels are 1 inside a random rectangle, 0 elsewhere; legend {"car": 1}.
inline std::string write_tiny_export(const std::string& dir, int records, uint64_t seed = 1) {
  SplitMix64 rng(seed);
  TfRecordWriter writer(dir + "/data.tfrecord");
  for (int r = 0; r < records; ++r) {
    const int h = 12 + int(rng.next() % 20), w = 12 + int(rng.next() % 24);
    std::vector<uint8_t> rgb(size_t(h) * w * 3), label(size_t(h) * w, 0);
    const int y0 = int(rng.next() % (h / 2)), x0 = int(rng.next() % (w / 2));
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const bool car = y >= y0 && y < y0 + h / 2 && x >= x0 && x < x0 + w / 2;
        label[size_t(y) * w + x] = car ? 1 : 0;
        for (int c = 0; c < 3; ++c) {
          rgb[(size_t(y) * w + x) * 3 + c] = uint8_t(car ? 150 + c * 30 : rng.next() % 120);
        }
      }
    }
    ExampleFields f;
    f.image_encoded = encode_png(rgb.data(), h, w, 3);
    f.image_format = "png";
    f.label_encoded = encode_png(label.data(), h, w, 1);
    f.filename = "img" + std::to_string(r) + ".png";
    f.id = "id" + std::to_string(r);
    f.height = h;
    f.width = w;
    f.channels = 3;
    writer.write(encode_example(f));
  }
  writer.close();
  Manifest m;
  m.tfrecord_paths = {"data.tfrecord"};
  m.legend = {LegendClass{"car", 1}};
  write_manifest(dir + "/export.json", m);
  return dir + "/export.json";
}

}  // namespace fcn::test
