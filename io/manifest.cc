// export.json (Labelbox's TFRecord export manifest): load with validation, build from .tfrecord paths,
// write. Every problem is a DataError naming export.json and the offending key.
#include "io/manifest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "io/file_checks.h"
#include "io/json_input.h"
#include "io/tfrecord.h"

namespace fcn {
namespace {

namespace fs = std::filesystem;

const char* kSchemaHint =
    "HINT: export.json must look like {\"tfrecord_paths\": [\"a.tfrecord\", ...], \"legend\": {\"Class name\": "
    "1}}, where each legend value is the class's pixel value (0..255) in the label PNGs.";

DataError manifest_error(const std::string& path, const std::string& problem, const char* hint = kSchemaHint,
                         DataError::Kind kind = DataError::Kind::kInvalid) {
  return DataError(kind, path, -1, -1, path + ": " + problem + "\n" + hint);
}

// "a string", "an array", ... for messages.
std::string describe_type(const nlohmann::json& value) {
  std::string name = value.type_name();
  if (value.is_null()) return name;
  bool vowel = name[0] == 'a' || name[0] == 'o';
  return (vowel ? "an " : "a ") + name;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// file:///abs/path or file://localhost/abs/path -> /abs/path, with %XX escapes decoded.
bool file_uri_to_path(const std::string& uri, std::string* path) {
  std::string rest = uri.substr(7);  // after "file://"
  if (rest.rfind("localhost/", 0) == 0) rest = rest.substr(9);
  if (rest.empty() || rest[0] != '/') return false;  // file://host/... names another machine
  std::string decoded;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && hex_value(rest[i + 1]) >= 0 && hex_value(rest[i + 2]) >= 0) {
      decoded += char(hex_value(rest[i + 1]) * 16 + hex_value(rest[i + 2]));
      i += 2;
    } else {
      decoded += rest[i];
    }
  }
  *path = decoded;
  return true;
}

std::string resolve_path(const std::string& export_json, const fs::path& base, const std::string& entry,
                         size_t index) {
  const std::string key = "tfrecord_paths[" + std::to_string(index) + "]";
  if (entry.empty()) throw manifest_error(export_json, key + " is an empty string");
  if (entry.rfind("file://", 0) == 0) {
    std::string local;
    if (!file_uri_to_path(entry, &local)) {
      throw manifest_error(export_json, key + " = \"" + entry + "\" is a file:// URI without a local absolute path",
                           "HINT: use file:///absolute/path or a plain path (relative paths resolve against the "
                           "folder of export.json).");
    }
    return local;
  }
  size_t scheme_end = entry.find("://");
  if (scheme_end != std::string::npos) {
    std::string scheme = entry.substr(0, scheme_end);
    throw DataError(
        DataError::Kind::kUnsupported, export_json, -1, -1,
        export_json + ": " + key + " = \"" + entry + "\": reading " + scheme +
            ":// URIs is not supported yet (only local files)\n"
            "HINT: download the files first (for gs://: gsutil -m cp 'gs://bucket/path/*.tfrecord' ./data/; for "
            "http(s)://: curl -O URL) and point tfrecord_paths at the local copies (paths relative to "
            "export.json work).");
  }
  fs::path p(entry);
  if (p.is_relative()) p = base / p;
  return p.lexically_normal().string();
}

}  // namespace

Manifest load_manifest(const std::string& export_json_path) {
  if (regular_file_problem(export_json_path) == "is a directory") {
    throw manifest_error(export_json_path, "is a directory, not an export.json",
                         ("HINT: pass " + (fs::path(export_json_path) / "export.json").string() +
                          " (the export's manifest inside it).")
                             .c_str(),
                         DataError::Kind::kIo);
  }
  std::ifstream in(export_json_path, std::ios::binary);
  if (!in) {
    throw manifest_error(export_json_path, std::string("cannot open: ") + std::strerror(errno),
                         "HINT: pass the path of the export.json that Labelbox produced (or .tfrecord files).",
                         DataError::Kind::kIo);
  }
  std::stringstream text;
  text << in.rdbuf();

  nlohmann::json root;
  try {
    root = parse_json_input<nlohmann::json>(text.str());
  } catch (const JsonInputError& e) {
    throw manifest_error(export_json_path, std::string(e.what()) +
                                               (e.byte() >= 0 ? " at byte " + std::to_string(e.byte()) : ""));
  }
  if (!root.is_object()) throw manifest_error(export_json_path, "the top level is not a JSON object");

  Manifest manifest;
  manifest.source = export_json_path;

  auto paths_it = root.find("tfrecord_paths");
  if (paths_it == root.end()) throw manifest_error(export_json_path, "missing key \"tfrecord_paths\"");
  if (!paths_it->is_array()) {
    throw manifest_error(export_json_path, "\"tfrecord_paths\" is " + describe_type(*paths_it) +
                                               ", expected an array of strings");
  }
  if (paths_it->empty()) {
    throw manifest_error(export_json_path, "\"tfrecord_paths\" is empty: the export holds no records");
  }
  const fs::path base = fs::path(export_json_path).parent_path();
  for (size_t i = 0; i < paths_it->size(); ++i) {
    const auto& entry = (*paths_it)[i];
    if (!entry.is_string()) {
      throw manifest_error(export_json_path, "tfrecord_paths[" + std::to_string(i) + "] is " +
                                                 describe_type(entry) + ", expected a string");
    }
    manifest.tfrecord_paths.push_back(resolve_path(export_json_path, base, entry.get<std::string>(), i));
  }
  // One file listed twice would put the same records in both splits (and twice in one).
  std::map<std::string, size_t> first_listed;  // canonical path -> index
  for (size_t i = 0; i < manifest.tfrecord_paths.size(); ++i) {
    std::error_code error;
    fs::path canonical = fs::weakly_canonical(manifest.tfrecord_paths[i], error);
    if (error) canonical = manifest.tfrecord_paths[i];
    const auto [it, inserted] = first_listed.emplace(canonical.string(), i);
    if (!inserted) {
      throw manifest_error(export_json_path,
                           "tfrecord_paths[" + std::to_string(i) + "] and tfrecord_paths[" + std::to_string(it->second) +
                               "] are the same file, " + canonical.string(),
                           "HINT: list each .tfrecord file once: one listed twice would put its records in both the "
                           "test and the training split.");
    }
  }

  auto legend_it = root.find("legend");
  if (legend_it == root.end()) throw manifest_error(export_json_path, "missing key \"legend\"");
  if (!legend_it->is_object()) {
    throw manifest_error(export_json_path,
                         "\"legend\" is " + describe_type(*legend_it) + ", expected an object");
  }
  if (legend_it->empty()) throw manifest_error(export_json_path, "\"legend\" is empty: there is no class to learn");
  for (const auto& [name, value] : legend_it->items()) {
    const std::string key = "legend[\"" + name + "\"]";
    double number = 0;
    if (value.is_number_integer()) {
      number = double(value.get<int64_t>());
    } else if (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>()) {
      number = value.get<double>();
    } else {
      throw manifest_error(export_json_path, key + " is " + describe_json_value(value) + ", expected an integer 0..255");
    }
    if (number < 0 || number > 255) {
      throw manifest_error(export_json_path, key + " = " + describe_json_value(value) + " is outside 0..255 (label PNGs are 8-bit)");
    }
    manifest.legend.push_back(LegendClass{name, int(number)});
  }
  std::sort(manifest.legend.begin(), manifest.legend.end(),
            [](const LegendClass& a, const LegendClass& b) { return a.value < b.value; });
  for (size_t i = 1; i < manifest.legend.size(); ++i) {
    if (manifest.legend[i].value == manifest.legend[i - 1].value) {
      throw manifest_error(export_json_path, "legend classes \"" + manifest.legend[i - 1].name + "\" and \"" +
                                                 manifest.legend[i].name + "\" both use pixel value " +
                                                 std::to_string(manifest.legend[i].value));
    }
  }
  return manifest;
}

Manifest manifest_from_tfrecords(const std::vector<std::string>& paths) {
  Manifest manifest;
  manifest.tfrecord_paths = paths;
  manifest.legend.push_back(LegendClass{"class", 1});
  return manifest;
}

std::vector<LegendClass> parse_legend_text(const std::string& text) {
  std::vector<LegendClass> legend;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(start, end - start);
    const size_t equals = part.rfind('=');
    const std::string name = equals == std::string::npos ? "" : part.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : part.substr(equals + 1);
    int number = -1;
    const auto [rest, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (name.empty() || value.empty() || error != std::errc() || rest != value.data() + value.size() ||
        number < 0 || number > 255) {
      throw std::invalid_argument("--legend \"" + text + "\": \"" + part +
                                  "\" is not NAME=VALUE with VALUE an integer 0..255\nHINT: e.g. --legend car=1 "
                                  "or --legend car=1,person=2, VALUE being the class's pixel value in the label PNGs");
    }
    legend.push_back(LegendClass{name, number});
    start = end + 1;
  }
  std::sort(legend.begin(), legend.end(), [](const LegendClass& a, const LegendClass& b) { return a.value < b.value; });
  for (size_t i = 1; i < legend.size(); ++i) {
    if (legend[i].value == legend[i - 1].value) {
      throw std::invalid_argument("--legend \"" + text + "\": \"" + legend[i - 1].name + "\" and \"" + legend[i].name +
                                  "\" both use pixel value " + std::to_string(legend[i].value));
    }
  }
  return legend;
}

Manifest open_export(const std::string& path, const std::string& legend_text) {
  const bool json = fs::path(path).extension() == ".json" || regular_file_problem(path) == "is a directory";
  if (json) {
    if (!legend_text.empty()) {
      throw std::invalid_argument("--legend is for a .tfrecord given as --export; " + path +
                                  " has its own legend\nHINT: drop --legend, or edit the export's legend");
    }
    return load_manifest(path);
  }
  if (const std::string problem = regular_file_problem(path); !problem.empty()) {
    throw DataError(DataError::Kind::kIo, path, -1, -1,
                    path + " " + problem + "\nHINT: pass the export.json of the export, or one of its .tfrecord files");
  }
  if (legend_text.empty()) {
    throw DataError(DataError::Kind::kInvalid, path, -1, -1,
                    path + " is a TFRecord file, which holds no legend: training needs the pixel value of each "
                           "class in its label masks\nHINT: pass --legend NAME=VALUE (e.g. --legend car=1; "
                           "`fcn inspect " + path + "` counts the label values), or write an export.json: "
                           "{\"tfrecord_paths\": [\"" + fs::path(path).filename().string() +
                           "\"], \"legend\": {\"car\": 1}}");
  }
  Manifest manifest = manifest_from_tfrecords({path});
  manifest.source = path;
  manifest.legend = parse_legend_text(legend_text);
  return manifest;
}

void write_manifest(const std::string& path, const Manifest& manifest) {
  nlohmann::ordered_json root;
  root["tfrecord_paths"] = manifest.tfrecord_paths;
  nlohmann::ordered_json legend = nlohmann::ordered_json::object();
  for (const LegendClass& c : manifest.legend) legend[c.name] = c.value;
  root["legend"] = legend;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw DataError(DataError::Kind::kIo, path, -1, -1,
                    "cannot create " + path + ": " + std::strerror(errno) +
                        "\nHINT: check that the folder exists and is writable.");
  }
  out << root.dump(2) << "\n";
  out.close();
  if (!out) {
    throw DataError(DataError::Kind::kIo, path, -1, -1,
                    "cannot write " + path + "\nHINT: check free disk space and permissions.");
  }
}

}  // namespace fcn
