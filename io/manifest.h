// export.json: {"tfrecord_paths": [...], "legend": {"Model 3": 1}}. Relative paths resolve against the
// folder of export.json; absolute paths and file:// URIs work; gs:// and http(s):// are refused clearly.
#pragma once
#include <string>
#include <vector>

#include "io/tfrecord_compression.h"

namespace fcn {

struct LegendClass {
  std::string name;
  int value = 0;  // pixel value of this class in the label PNG (0..255)
};

struct Manifest {
  std::string source;                      // the export.json path (or "" when built from .tfrecord paths)
  std::vector<std::string> tfrecord_paths; // resolved local paths, in export order
  std::vector<LegendClass> legend;         // sorted by pixel value
  TfRecordCompression compression = TfRecordCompression::kAuto;  // how the files are stored (--compression)
};

Manifest load_manifest(const std::string& export_json_path);  // throws DataError
// A manifest from .tfrecord files given directly (fcn inspect a.tfrecord b.tfrecord), legend {"class": 1}.
Manifest manifest_from_tfrecords(const std::vector<std::string>& paths);
void write_manifest(const std::string& path, const Manifest& manifest);  // paths written as given

// A legend written on the command line, "car=1" or "car=1,person=2": names non-empty, values integers
// 0..255, no value twice; sorted by value. Throws std::invalid_argument naming the bad part.
std::vector<LegendClass> parse_legend_text(const std::string& text);

// What --export names: an export.json, or one .tfrecord file (a path not ending in .json), whose legend
// must then come from legend_text (a .tfrecord holds none; "" is an error that says how to give one).
// A legend_text with an export.json is an error too: the export's own legend is the one its labels use.
Manifest open_export(const std::string& path, const std::string& legend_text);

}  // namespace fcn
