// export.json: {"tfrecord_paths": [...], "legend": {"Model 3": 1}}. Relative paths resolve against the
// folder of export.json; absolute paths and file:// URIs work; gs:// and http(s):// are refused clearly.
#pragma once
#include <string>
#include <vector>

namespace fcn {

struct LegendClass {
  std::string name;
  int value = 0;  // pixel value of this class in the label PNG (0..255)
};

struct Manifest {
  std::string source;                      // the export.json path (or "" when built from .tfrecord paths)
  std::vector<std::string> tfrecord_paths; // resolved local paths, in export order
  std::vector<LegendClass> legend;         // sorted by pixel value
};

Manifest load_manifest(const std::string& export_json_path);  // throws DataError
// A manifest from .tfrecord files given directly (fcn inspect a.tfrecord b.tfrecord), legend {"class": 1}.
Manifest manifest_from_tfrecords(const std::vector<std::string>& paths);
void write_manifest(const std::string& path, const Manifest& manifest);  // paths written as given

}  // namespace fcn
