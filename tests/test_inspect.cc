// fcn inspect, run as a subprocess on a small export written here: --json fields, --dump at the original
// size and through the training resize, and bad records (exit 1, or skipped with --skip-corrupted).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/example.h"
#include "io/image_codec.h"
#include "io/manifest.h"
#include "io/tfrecord.h"
#include "io_test_util.h"
#include "kernels/cpu/reference.h"

using namespace fcn;
using namespace fcn::test;

namespace {

std::string fcn_binary() {
  const char* env = std::getenv("FCN_BIN");
  return env != nullptr ? env : FCN_BINARY_DIR "/fcn";
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult run_fcn(const std::string& args, const TempDir& dir) {
  const std::string err_path = dir.file("stderr.txt");
  const std::string command = "'" + fcn_binary() + "' " + args + " 2>'" + err_path + "'";
  RunResult result;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  result.err.assign(std::istreambuf_iterator<char>(err), {});
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The small export: a.tfrecord holds records 0 and 1, b.tfrecord record 2. Legend {"Model 3": 1, "Road": 2}.
struct SmallExport {
  std::vector<ExampleFields> fields;
  std::vector<std::vector<uint8_t>> labels;  // [h, w] each
  std::vector<uint64_t> offsets;             // within its file
  std::vector<std::string> files;
  std::string json_path;

  explicit SmallExport(const TempDir& dir) {
    const int sizes[3][2] = {{6, 5}, {4, 7}, {9, 9}};  // height, width
    for (int i = 0; i < 3; ++i) {
      const int h = sizes[i][0], w = sizes[i][1];
      ExampleFields f = valid_fields(h, w, i);
      std::vector<uint8_t> label = box_label(h, w, 0, 2, 0, w, 1);  // class 1: top two rows
      for (int x = 0; x < w; ++x) label[size_t(h - 1) * w + x] = 2;  // class 2: bottom row
      f.label_encoded = encode_png(label.data(), h, w, 1);
      if (i == 1) {
        std::vector<uint8_t> rgb = pattern_rgb(h, w, i);
        f.image_encoded = encode_jpeg(rgb.data(), h, w, 3, 90);
        f.image_format = "jpeg";
      }
      fields.push_back(f);
      labels.push_back(label);
    }
    files = {dir.file("a.tfrecord"), dir.file("b.tfrecord")};
    TfRecordWriter a(files[0]);
    std::string r0 = encode_example(fields[0]), r1 = encode_example(fields[1]);
    a.write(r0);
    a.write(r1);
    a.close();
    TfRecordWriter b(files[1]);
    b.write(encode_example(fields[2]));
    b.close();
    offsets = {0, r0.size() + 16, 0};
    Manifest m;
    m.tfrecord_paths = {"a.tfrecord", "b.tfrecord"};
    m.legend = {{"Model 3", 1}, {"Road", 2}};
    json_path = dir.file("export.json");
    write_manifest(json_path, m);
  }
};

DecodedImage decode_png_file(const std::string& path, int channels) {
  std::string bytes = read_file(path);
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(bytes.data(), bytes.size(), channels, 1 << 20, &image, &error));
  return image;
}

}  // namespace

TEST_CASE("inspect --json lists every record with its place and class pixels", "[io][inspect]") {
  TempDir dir("inspect_json");
  SmallExport exp(dir);
  RunResult r = run_fcn("inspect --json '" + exp.json_path + "'", dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);
  const int file_of[3] = {0, 0, 1};
  for (int i = 0; i < 3; ++i) {
    nlohmann::json rec = nlohmann::json::parse(lines[size_t(i)]);
    CHECK(rec["index"] == i);
    CHECK(rec["file"] == exp.files[size_t(file_of[i])]);
    CHECK(rec["offset"] == exp.offsets[size_t(i)]);
    CHECK(rec["id"] == exp.fields[size_t(i)].id);
    CHECK(rec["filename"] == exp.fields[size_t(i)].filename);
    CHECK(rec["format"] == exp.fields[size_t(i)].image_format);
    CHECK(rec["width"] == exp.fields[size_t(i)].width);
    CHECK(rec["height"] == exp.fields[size_t(i)].height);
    CHECK(rec["channels"] == 3);
    const int64_t w = exp.fields[size_t(i)].width, h = exp.fields[size_t(i)].height;
    CHECK(rec["class_pixels"]["Model 3"] == 2 * w);
    CHECK(rec["class_pixels"]["Road"] == w);
    CHECK(rec["other_pixels"] == (h - 3) * w);
  }
  CHECK(r.err.find("3 records in 2 files") != std::string::npos);  // the summary goes to stderr with --json

  RunResult text = run_fcn("inspect '" + exp.files[0] + "' '" + exp.files[1] + "'", dir);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("summary: 3 records in 2 files") != std::string::npos);
  CHECK(text.out.find("formats: jpeg=1 png=2") != std::string::npos);
  CHECK(text.out.find("width 5..9, height 4..9") != std::string::npos);

  RunResult limited = run_fcn("inspect --json --limit 2 '" + exp.json_path + "'", dir);
  REQUIRE(limited.exit_code == 0);
  std::vector<std::string> first_two = lines_of(limited.out);
  REQUIRE(first_two.size() == 2);  // records 0 and 1, crossing no file boundary yet
  CHECK(nlohmann::json::parse(first_two[1])["index"] == 1);
}

TEST_CASE("inspect --dump writes the image and the first class's target", "[io][inspect]") {
  TempDir dir("inspect_dump");
  SmallExport exp(dir);
  const std::string out_dir = dir.file("dump");

  SECTION("original size") {
    RunResult r = run_fcn("inspect '" + exp.json_path + "' --dump '" + out_dir + "'", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    for (int i : {0, 2}) {  // the PNG records: the dumped image equals the source pixels
      const auto& f = exp.fields[size_t(i)];
      DecodedImage image = decode_png_file(out_dir + "/" + std::to_string(i) + ".image.png", 3);
      CHECK(image.pixels == pattern_rgb(int(f.height), int(f.width), i));
    }
    for (int i = 0; i < 3; ++i) {
      DecodedImage label = decode_png_file(out_dir + "/" + std::to_string(i) + ".label.png", 1);
      REQUIRE(label.pixels.size() == exp.labels[size_t(i)].size());
      for (size_t p = 0; p < label.pixels.size(); ++p) {
        CHECK(label.pixels[p] == (exp.labels[size_t(i)][p] == 1 ? 255 : 0));  // legend's first class is 1
      }
    }
  }
  SECTION("resized with the training resize, both mappings") {
    for (const std::string mapping : {"legacy", "half-pixel"}) {
      RunResult r = run_fcn("inspect '" + exp.json_path + "' --dump '" + out_dir + "' --size 4 --mapping " + mapping, dir);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const ResizeMapping m = mapping == "legacy" ? ResizeMapping::kLegacy : ResizeMapping::kHalfPixel;
      const int i = 2;
      const auto& f = exp.fields[size_t(i)];
      std::vector<uint8_t> rgb = pattern_rgb(int(f.height), int(f.width), i);
      std::vector<float> expected_image(4 * 4 * 3), expected_target(4 * 4);
      resize_image_ref(expected_image.data(), rgb.data(), int(f.height), int(f.width), 4, m);
      const int class_value = 1;
      resize_targets_ref(expected_target.data(), exp.labels[size_t(i)].data(), int(f.height), int(f.width), 4,
                         &class_value, 1, m, false);
      DecodedImage image = decode_png_file(out_dir + "/2.image.png", 3);
      DecodedImage label = decode_png_file(out_dir + "/2.label.png", 1);
      REQUIRE((image.width == 4 && image.height == 4 && label.width == 4 && label.height == 4));
      // Rounded to the nearest byte: within 0.5 of the float value (plus float slack).
      for (size_t p = 0; p < expected_image.size(); ++p) CHECK(std::abs(image.pixels[p] - expected_image[p]) <= 0.5001f);
      for (size_t p = 0; p < expected_target.size(); ++p) {
        CHECK(std::abs(label.pixels[p] - 255.0f * expected_target[p]) <= 0.5001f);
      }
    }
  }
}

TEST_CASE("inspect: a bad record stops it, --skip-corrupted skips and counts", "[io][inspect]") {
  TempDir dir("inspect_bad");
  SmallExport exp(dir);
  {  // flip a payload byte of record 1 (inside a.tfrecord)
    std::fstream file(exp.files[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(std::streamoff(exp.offsets[1] + 12 + 20));
    char c = 0;
    file.seekg(std::streamoff(exp.offsets[1] + 12 + 20));
    file.get(c);
    file.seekp(std::streamoff(exp.offsets[1] + 12 + 20));
    file.put(char(c ^ 0x10));
  }
  RunResult r = run_fcn("inspect --json '" + exp.json_path + "'", dir);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("corrupted record 1 at byte offset " + std::to_string(exp.offsets[1])) != std::string::npos);
  CHECK(r.err.find("HINT:") != std::string::npos);

  RunResult skip = run_fcn("inspect --json --skip-corrupted '" + exp.json_path + "'", dir);
  INFO(skip.err);
  REQUIRE(skip.exit_code == 0);
  std::vector<std::string> lines = lines_of(skip.out);
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["index"] == 0);
  CHECK(nlohmann::json::parse(lines[1])["index"] == 2);
  CHECK(skip.err.find("1 bad record skipped") != std::string::npos);

  // A file cut inside record 1's payload: record 0 is still listed with --skip-corrupted.
  std::string cut = read_file(exp.files[0]).substr(0, exp.offsets[1] + 30);
  write_file(exp.files[0], cut);
  RunResult truncated = run_fcn("inspect --json --skip-corrupted '" + exp.json_path + "'", dir);
  INFO(truncated.err);
  REQUIRE(truncated.exit_code == 0);
  CHECK(lines_of(truncated.out).size() == 2);  // records 0 (a.tfrecord) and 1 (b.tfrecord, renumbered)
  CHECK(truncated.err.find("truncated record 1") != std::string::npos);

  // Both at once in a.tfrecord: record 0's payload damaged and the file cut inside record 1. The index
  // pass fails; the sequential recovery steps over record 0 (reported when read) and stops at the cut.
  std::string both = read_file(exp.files[0]);
  both[12 + 20] = char(both[12 + 20] ^ 0x01);
  write_file(exp.files[0], both);
  RunResult damaged = run_fcn("inspect --json --skip-corrupted '" + exp.json_path + "'", dir);
  INFO(damaged.err);
  REQUIRE(damaged.exit_code == 0);
  REQUIRE(lines_of(damaged.out).size() == 1);  // only b.tfrecord's record
  CHECK(nlohmann::json::parse(lines_of(damaged.out)[0])["file"] == exp.files[1]);
  CHECK(damaged.err.find("corrupted record 0 at byte offset 0") != std::string::npos);
  CHECK(damaged.err.find("2 bad records skipped") != std::string::npos);
}

TEST_CASE("inspect DIR names the directory and suggests the export.json inside it", "[io][inspect]") {
  TempDir dir("inspect_dir");
  SmallExport exp(dir);
  RunResult r = run_fcn("inspect '" + dir.path.string() + "'", dir);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("is a directory") && Catch::Contains("HINT: pass " + exp.json_path));
  TempDir empty("inspect_empty_dir");
  RunResult e = run_fcn("inspect '" + empty.path.string() + "'", empty);
  CHECK(e.exit_code != 0);
  CHECK_THAT(e.err, Catch::Contains("HINT: pass its export.json or its .tfrecord files"));
}
