// Seeds of manifest (export.json) and kernel_plan (--conv-kernels): the accepted forms, and the refused
// ones the tests name: bad JSON, wrong types, refused URI schemes, a file listed twice, legend values
// outside 0..255 or repeated, deep nesting, numbers past double's range; plans malformed or past int.
#include <string>
#include <vector>

#include "tests/fuzz/seeds/seeds.h"

namespace fcn::seeds {
namespace {

std::string manifest(const std::string& paths, const std::string& legend) {
  return "{\"tfrecord_paths\": " + paths + ", \"legend\": " + legend + "}\n";
}

}  // namespace

void write_text_seeds(const SeedWriter& out) {
  const std::string one = "[\"train-00000-of-00002.tfrecord\"]";
  const std::string car = "{\"car\": 1}";
  const std::vector<std::pair<std::string, std::string>> manifests = {
      {"valid_minimal.json", manifest(one, car)},
      {"valid_paths_of_every_kind.json",
       manifest("[\"a.tfrecord\", \"sub/../b.tfrecord\", \"/data/c.tfrecord\", \"file:///data/d%20e.tfrecord\", "
                "\"file://localhost/data/f.tfrecord\"]",
                "{\"Model 3\": 1, \"background\": 0, \"tree\": 2.0, \"sky\": 255}")},
      {"valid_extra_keys.json", "{\"version\": 2, \"legend\": {\"car\": 1}, \"tfrecord_paths\": [\"x.tfrecord\"], "
                                "\"media\": {\"count\": 3, \"list\": [1, 2, null, true]}}"},
      {"valid_unicode_class.json", manifest(one, "{\"caf\\u00e9 \\ud83d\\ude97\": 7}")},
      {"broken_not_json.json", "{\"tfrecord_paths\": [\"a.tfrecord\",], \"legend\": "},
      {"broken_top_level_array.json", "[" + one + "]"},
      {"broken_missing_legend.json", "{\"tfrecord_paths\": " + one + "}"},
      {"broken_paths_not_array.json", manifest("\"a.tfrecord\"", car)},
      {"broken_paths_empty.json", manifest("[]", car)},
      {"broken_path_number.json", manifest("[\"a.tfrecord\", 7]", car)},
      {"broken_path_empty_string.json", manifest("[\"\"]", car)},
      {"broken_gs_uri.json", manifest("[\"gs://bucket/a.tfrecord\"]", car)},
      {"broken_file_uri_of_a_host.json", manifest("[\"file://server/a.tfrecord\"]", car)},
      {"broken_same_file_twice.json", manifest("[\"a.tfrecord\", \"./a.tfrecord\"]", car)},
      {"broken_legend_256.json", manifest(one, "{\"car\": 256}")},
      {"broken_legend_fraction.json", manifest(one, "{\"car\": 1.5}")},
      {"broken_legend_string.json", manifest(one, "{\"car\": \"1\"}")},
      {"broken_legend_repeated_value.json", manifest(one, "{\"car\": 1, \"truck\": 1}")},
      {"broken_legend_empty.json", manifest(one, "{}")},
      {"broken_number_past_double.json", manifest(one, "{\"car\": 1e400}")},
      {"broken_deep_nesting.json", manifest(one, "{\"car\": " + std::string(100, '[') + std::string(100, ']') + "}")},
      {"broken_invalid_utf8.json", manifest("[\"a\xff.tfrecord\"]", car)},
  };
  for (const auto& [name, bytes] : manifests) out.put("manifest", name, bytes);

  const std::vector<std::pair<std::string, std::string>> plans = {
      {"valid_auto", "auto"},
      {"valid_v1", "v1"},
      {"valid_v4", "v4"},
      {"valid_plan", "3x3:3>64=3,3,4;3x3:64>64=3,3,3;1x1:64>1=3,3,3"},
      {"valid_one_layer", "31x31:4096>255=1,2,4"},
      {"broken_v5", "v5"},
      {"broken_two_versions", "3x3:3>64=3,3"},
      {"broken_trailing_semicolon", "3x3:3>64=3,3,3;"},
      {"broken_layer_twice", "3x3:3>64=3,3,3;3x3:3>64=2,2,2"},
      {"broken_not_square", "3x5:3>64=3,3,3"},
      {"broken_past_int", "4294967299x4294967299:3>64=3,3,3"},
      {"broken_space", "3x3:3> 64=3,3,3"},
      {"broken_empty", ""},
  };
  for (const auto& [name, bytes] : plans) out.put("kernel_plan", name, bytes);
}

}  // namespace fcn::seeds
