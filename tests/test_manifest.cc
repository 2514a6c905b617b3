// export.json: path resolution (relative, absolute, file://), refusal of remote URIs, and a clear
// DataError naming export.json for every malformed input.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/file_checks.h"
#include "io/image_codec.h"
#include "io/manifest.h"
#include "io/tfrecord.h"
#include "io_test_util.h"

using namespace fcn;
using fcn::test::TempDir;

namespace {

std::string write_json(const TempDir& dir, const std::string& text) {
  std::string path = dir.file("export.json");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

// Expects load_manifest to throw `kind` with a message naming the file and containing `needle`.
void expect_manifest_error(const std::string& path, DataError::Kind kind, const std::string& needle) {
  try {
    load_manifest(path);
    FAIL("loaded without error; expected: " << needle);
  } catch (const DataError& e) {
    std::string message = e.what();
    INFO(message);
    CHECK(e.kind() == kind);
    CHECK(e.file() == path);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find(needle) != std::string::npos);
    CHECK(message.find("\nHINT: ") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("manifest: paths resolve against export.json's folder, legend sorted by value", "[io][manifest]") {
  TempDir dir("manifest_ok");
  std::string path = write_json(dir, R"({
    "tfrecord_paths": ["a.tfrecord", "sub/../b.tfrecord", "/abs/c.tfrecord", "file:///abs/with%20space.tfrecord",
                       "file://localhost/abs/d.tfrecord"],
    "legend": {"Road": 7, "Model 3": 1, "Sky": 0}
  })");
  Manifest m = load_manifest(path);
  CHECK(m.source == path);
  REQUIRE(m.tfrecord_paths.size() == 5);
  CHECK(m.tfrecord_paths[0] == dir.file("a.tfrecord"));
  CHECK(m.tfrecord_paths[1] == dir.file("b.tfrecord"));
  CHECK(m.tfrecord_paths[2] == "/abs/c.tfrecord");
  CHECK(m.tfrecord_paths[3] == "/abs/with space.tfrecord");
  CHECK(m.tfrecord_paths[4] == "/abs/d.tfrecord");
  REQUIRE(m.legend.size() == 3);
  CHECK((m.legend[0].name == "Sky" && m.legend[0].value == 0));
  CHECK((m.legend[1].name == "Model 3" && m.legend[1].value == 1));
  CHECK((m.legend[2].name == "Road" && m.legend[2].value == 7));
}

TEST_CASE("manifest: remote URIs are refused with a download hint", "[io][manifest]") {
  TempDir dir("manifest_remote");
  for (const std::string uri : {"gs://labelbox-exports/x.tfrecord", "https://example.com/x.tfrecord",
                                "http://example.com/x.tfrecord", "s3://bucket/x.tfrecord"}) {
    std::string path = write_json(dir, R"({"tfrecord_paths": ["ok.tfrecord", ")" + uri + R"("], "legend": {"a": 1}})");
    expect_manifest_error(path, DataError::Kind::kUnsupported, "tfrecord_paths[1] = \"" + uri + "\"");
    expect_manifest_error(path, DataError::Kind::kUnsupported, "not supported yet");
    expect_manifest_error(path, DataError::Kind::kUnsupported, "gsutil");
  }
}

TEST_CASE("manifest: malformed export.json gives a clear DataError", "[io][manifest]") {
  TempDir dir("manifest_bad");
  struct Case {
    const char* json;
    const char* needle;
  };
  const Case cases[] = {
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": 1})", "not valid JSON"},
      {"", "not valid JSON"},
      {R"([1, 2])", "not a JSON object"},
      {R"({"legend": {"a": 1}})", "missing key \"tfrecord_paths\""},
      {R"({"tfrecord_paths": ["a.tfrecord"]})", "missing key \"legend\""},
      {R"({"tfrecord_paths": "a.tfrecord", "legend": {"a": 1}})", "\"tfrecord_paths\" is a string"},
      {R"({"tfrecord_paths": ["a.tfrecord", 3], "legend": {"a": 1}})", "tfrecord_paths[1] is a number"},
      {R"({"tfrecord_paths": [], "legend": {"a": 1}})", "\"tfrecord_paths\" is empty"},
      {R"({"tfrecord_paths": [""], "legend": {"a": 1}})", "tfrecord_paths[0] is an empty string"},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": [1]})", "\"legend\" is an array"},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {}})", "\"legend\" is empty"},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": "1"}})", "legend[\"a\"] is \"1\""},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": 1.5}})", "legend[\"a\"] is 1.5"},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": 256}})", "outside 0..255"},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": -1}})", "outside 0..255"},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": 1, "b": 1}})", "both use pixel value 1"},
      {R"({"tfrecord_paths": ["file://otherhost/a.tfrecord"], "legend": {"a": 1}})", "without a local absolute path"},
      // The same file twice, however spelled: its records would land in both splits.
      {R"({"tfrecord_paths": ["a.tfrecord", "./a.tfrecord"], "legend": {"a": 1}})", "are the same file"},
      {R"({"tfrecord_paths": ["a.tfrecord", "b.tfrecord", "sub/../b.tfrecord"], "legend": {"a": 1}})",
       "tfrecord_paths[2] and tfrecord_paths[1] are the same file"},
      // Hostile JSON: a number past double's range, and a value nested too deep to describe or recurse into.
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": 1e400}})", "a number out of range"},
      {R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": [[[[1]]]]}})", "legend[\"a\"] is an array of 1 values"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    expect_manifest_error(write_json(dir, c.json), DataError::Kind::kInvalid, c.needle);
  }
  expect_manifest_error(dir.file("missing.json"), DataError::Kind::kIo, "cannot open");
  // 100,000 levels deep: refused while parsing, before anything could recurse over it (a crash before).
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_manifest_error(write_json(dir, R"({"tfrecord_paths": ["a.tfrecord"], "legend": {"a": )" + deep + "}}"),
                        DataError::Kind::kInvalid, "nested deeper than 64 levels");
  // A file reached through a symbolic link is the same file too.
  std::ofstream(dir.file("real.tfrecord")) << "";
  std::filesystem::create_symlink(dir.file("real.tfrecord"), dir.file("link.tfrecord"));
  expect_manifest_error(write_json(dir, R"({"tfrecord_paths": ["real.tfrecord", "link.tfrecord"], "legend": {"a": 1}})"),
                        DataError::Kind::kInvalid, "are the same file");
}

TEST_CASE("manifest: write_manifest round trips, manifest_from_tfrecords", "[io][manifest]") {
  TempDir dir("manifest_write");
  Manifest m;
  m.tfrecord_paths = {"one.tfrecord", dir.file("two.tfrecord")};
  m.legend = {{"Model 3", 1}, {"Road", 200}};
  std::string path = dir.file("export.json");
  write_manifest(path, m);
  Manifest back = load_manifest(path);
  REQUIRE(back.tfrecord_paths.size() == 2);
  CHECK(back.tfrecord_paths[0] == dir.file("one.tfrecord"));  // relative: resolved on load
  CHECK(back.tfrecord_paths[1] == dir.file("two.tfrecord"));
  REQUIRE(back.legend.size() == 2);
  CHECK((back.legend[1].name == "Road" && back.legend[1].value == 200));
  CHECK_THROWS_AS(write_manifest(dir.file("no/folder/export.json"), m), DataError);

  Manifest direct = manifest_from_tfrecords({"x.tfrecord", "/y.tfrecord"});
  CHECK(direct.source.empty());
  CHECK(direct.tfrecord_paths == std::vector<std::string>{"x.tfrecord", "/y.tfrecord"});
  REQUIRE(direct.legend.size() == 1);
  CHECK((direct.legend[0].name == "class" && direct.legend[0].value == 1));
}

TEST_CASE("parse_legend_text reads NAME=VALUE lists and refuses the rest by name", "[io][manifest]") {
  std::vector<LegendClass> two = parse_legend_text("person=2,car=1");
  REQUIRE(two.size() == 2);
  CHECK((two[0].name == "car" && two[0].value == 1));  // sorted by value
  CHECK((two[1].name == "person" && two[1].value == 2));
  CHECK(parse_legend_text("a=b=7")[0].name == "a=b");  // the value follows the last '='
  for (const char* bad : {"", "car", "car=", "=1", "car=256", "car=-1", "car=1x", "car=1,", "car=99999999999"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_legend_text(bad), Catch::Contains("is not NAME=VALUE") && Catch::Contains("HINT"));
  }
  CHECK_THROWS_WITH(parse_legend_text("car=1,bus=1"), Catch::Contains("both use pixel value 1"));
}

TEST_CASE("open_export: an export.json, or one .tfrecord with a --legend", "[io][manifest]") {
  TempDir dir("open_export");
  Manifest m;
  m.tfrecord_paths = {"one.tfrecord"};
  m.legend = {{"car", 1}};
  write_manifest(dir.file("export.json"), m);
  write_file(dir.file("one.tfrecord"), "");

  CHECK(open_export(dir.file("export.json"), "").legend.size() == 1);
  CHECK_THROWS_WITH(open_export(dir.file("export.json"), "car=1"), Catch::Contains("has its own legend"));

  Manifest direct = open_export(dir.file("one.tfrecord"), "car=1,person=2");
  CHECK(direct.source == dir.file("one.tfrecord"));
  CHECK(direct.tfrecord_paths == std::vector<std::string>{dir.file("one.tfrecord")});
  CHECK(direct.legend.size() == 2);
  CHECK_THROWS_WITH(open_export(dir.file("one.tfrecord"), ""),
                    Catch::Contains("holds no legend") && Catch::Contains("--legend NAME=VALUE") &&
                        Catch::Contains("\"tfrecord_paths\": [\"one.tfrecord\"]"));
  CHECK_THROWS_WITH(open_export(dir.file("none.tfrecord"), "car=1"), Catch::Contains("none.tfrecord does not exist"));
  CHECK_THROWS_WITH(open_export(dir.path.string(), ""), Catch::Contains("is a directory"));
}

TEST_CASE("a directory where a file is expected is named as a directory, with the file to pass", "[io][manifest]") {
  TempDir dir("manifest_directory");
  CHECK(regular_file_problem(dir.path.string()) == "is a directory");
  CHECK(regular_file_problem(dir.file("nothing")) == "does not exist");
  CHECK(regular_file_problem(write_json(dir, "{}")).empty());
  expect_manifest_error(dir.path.string(), DataError::Kind::kIo, "is a directory, not an export.json");
  expect_manifest_error(dir.path.string(), DataError::Kind::kIo, "/export.json");
  CHECK_THROWS_WITH(read_file(dir.path.string()), Catch::Contains("is a directory"));  // was std::bad_alloc
}
