// Feeds any bytes, as an export.json, to load_manifest: the JSON parse under the shared limits
// (io/json_input.h), the schema checks, path resolution (relative, absolute, file:// URIs, refused
// schemes) and the duplicate-file check.
// Asserts beyond "no crash": a failure is only a DataError whose message and file() name the export.json;
// a loaded manifest names its source, lists at least one path, none of them empty, and at least one
// legend class, sorted by pixel value, each value in 0..255 and used once.
#include <string>

#include "io/manifest.h"
#include "io/tfrecord.h"
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fcn::fuzz::require;
  const fcn::fuzz::InputFile file(data, size);
  const std::string& path = file.path();
  fcn::Manifest manifest;
  const auto error =
      fcn::fuzz::failure_of<fcn::DataError>("load_manifest", path, [&] { manifest = fcn::load_manifest(path); });
  if (error) {
    require(error->file() == path, "load_manifest: DataError::file() is " + error->file());
    return 0;
  }
  require(manifest.source == path, "load_manifest: the manifest's source is " + manifest.source);
  require(!manifest.tfrecord_paths.empty() && !manifest.legend.empty(),
          "load_manifest: a manifest without paths or classes");
  for (const std::string& p : manifest.tfrecord_paths) require(!p.empty(), "load_manifest: an empty path");
  for (size_t i = 0; i < manifest.legend.size(); ++i) {
    const int value = manifest.legend[i].value;
    require(value >= 0 && value <= 255, "load_manifest: a legend value of " + std::to_string(value));
    require(i == 0 || manifest.legend[i - 1].value < value, "load_manifest: the legend is not sorted, or a value repeats");
  }
  return 0;
}
