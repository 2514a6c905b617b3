// Checks fcn.cu's reader, decoder and training resize against TensorFlow itself, through the committed
// fixture tests/fixtures/tf_export (written by scripts/reference/make_tf_export.py with TensorFlow 2.21):
// two TFRecord files framed by tf.io.TFRecordWriter (and GZIP and ZLIB copies of the first),
// tf.train.Example records in the seed's schema, and TensorFlow's own bilinear resizes to 512x512 (TF1
// legacy mapping in expected/, TF2 half-pixel in expected_half/). The same comparisons run on the
// `fcn inspect` binary (env FCN_BIN) as a subprocess.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "io/example.h"
#include "io/image_codec.h"
#include "io/loader.h"
#include "io/manifest.h"
#include "io/tfrecord.h"
#include "kernels/cpu/reference.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixture = fs::path(FCN_SOURCE_DIR) / "tests" / "fixtures" / "tf_export";

json load_expected() { return json::parse(fcn::read_file((kFixture / "expected.json").string())); }

// Decodes a PNG of the fixture to `channels` (3: image, 1: label or gray).
fcn::DecodedImage read_png(const fs::path& path, int channels) {
  const std::string bytes = fcn::read_file(path.string());
  fcn::DecodedImage image;
  std::string error;
  INFO(path.string() << ": " << error);
  REQUIRE(fcn::decode_image(bytes.data(), bytes.size(), channels, int64_t(1) << 30, &image, &error));
  return image;
}

// Decodes one of the fixture's expected PNGs to `channels` (3: image, 1: label): [size, size, channels].
std::vector<uint8_t> read_expected_png(const fs::path& path, int channels, int size) {
  const fcn::DecodedImage image = read_png(path, channels);
  INFO(path.string());
  REQUIRE(image.height == size);
  REQUIRE(image.width == size);
  return image.pixels;
}

// Round half up and clamp, as make_tf_export.py and `fcn inspect --dump` turn floats into PNG bytes.
uint8_t to_byte(float v) { return uint8_t(std::floor(std::clamp(v, 0.0f, 255.0f) + 0.5f)); }

struct Difference {
  int max_abs = 0;
  int64_t differing = 0;  // elements that differ at all
  int64_t total = 0;
};

Difference compare_bytes(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
  Difference d;
  REQUIRE(got.size() == want.size());
  d.total = int64_t(got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const int diff = std::abs(int(got[i]) - int(want[i]));
    d.max_abs = std::max(d.max_abs, diff);
    d.differing += diff != 0;
  }
  return d;
}

// Tolerance for every resize comparison below: at most 1 gray level, on at most 1% of the values.
// fcn.cu follows TensorFlow's float32 formula and order of operations, so the floats agree to an ulp or
// two; they may still differ that much (the compiler may fuse a multiply-add into one FMA, TF's Eigen
// code vectorises differently), and a float sitting within an ulp of an x.5 boundary then rounds to the
// neighbouring byte. Anything larger than 1 level, or off-by-one on many pixels (truncating instead of
// rounding, a half-pixel shift, a wrong tap), is a real difference.
constexpr int kMaxLevels = 1;
constexpr double kMaxDifferingFraction = 0.01;

// Checks each comparison against the tolerance and collects one line per file; report() prints them all
// in one warning, so every run says how many values differ at all (0 when fcn.cu is bit-exact with TF).
class DiffReport {
 public:
  void check(const Difference& d, const std::string& what) {
    INFO(what << ": " << d.differing << " of " << d.total << " values differ, max " << d.max_abs);
    CHECK(d.max_abs <= kMaxLevels);
    CHECK(double(d.differing) <= kMaxDifferingFraction * double(d.total));
    lines_ << "  " << what << ": " << d.differing << " of " << d.total << " differ, max " << d.max_abs << "\n";
    differing_ += d.differing;
    total_ += d.total;
  }
  void report(const std::string& title) {
    WARN(title << ": " << differing_ << " of " << total_ << " values differ from TensorFlow\n" << lines_.str());
  }

 private:
  std::ostringstream lines_;
  int64_t differing_ = 0;
  int64_t total_ = 0;
};

const json& record_entry(const json& expected, int64_t index) {
  const json& entry = expected["records"][size_t(index)];
  REQUIRE(entry["index"].get<int64_t>() == index);
  return entry;
}

// Value -> pixel count, from a decoded label [n].
std::map<std::string, int64_t> class_counts(const std::vector<uint8_t>& label) {
  std::map<std::string, int64_t> counts;
  for (uint8_t v : label) counts[std::to_string(v)] += 1;
  return counts;
}

void check_sample(const json& entry, const fcn::Sample& s) {
  INFO("record " << entry["index"].get<int>());
  CHECK(s.id == entry["id"].get<std::string>());
  CHECK(s.filename == entry["filename"].get<std::string>());
  CHECK(s.format == entry["format"].get<std::string>());
  CHECK(s.width == entry["width"].get<int>());
  CHECK(s.height == entry["height"].get<int>());
  CHECK(s.channels == entry["channels"].get<int>());
  CHECK(s.rgb.size() == size_t(s.width) * s.height * 3);
  REQUIRE(s.label.size() == size_t(s.width) * s.height);
  const auto counts = class_counts(s.label);
  for (const auto& [value, count] : entry["class_pixels"].items()) {
    INFO("class value " << value);
    CHECK(counts.count(value) == 1);
    if (counts.count(value) == 1) CHECK(counts.at(value) == count.get<int64_t>());
  }
  CHECK(counts.size() == entry["class_pixels"].size());  // no value outside 0, 1, 2
}

fs::path fcn_binary() {
  const char* env = std::getenv("FCN_BIN");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path(FCN_BINARY_DIR) / "fcn";
}

// A word for /bin/sh: single-quoted, embedded single quotes escaped.
std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char ch : word) {
    if (ch == '\'') {
      quoted += "'\\''";
    } else {
      quoted += ch;
    }
  }
  quoted += '\'';
  return quoted;
}

struct RunResult {
  int exit_code = -1;
  std::string stderr_text;
};

// Runs the fcn binary with `args` (already quoted), stdout to `stdout_path`, stderr captured.
RunResult run_fcn(const std::vector<std::string>& args, const fs::path& stdout_path) {
  const fs::path stderr_path = stdout_path.string() + ".stderr";
  std::string line = shell_quote(fcn_binary().string());
  for (const std::string& arg : args) {
    line += ' ';
    line += arg;
  }
  line += " > ";
  line += shell_quote(stdout_path.string());
  line += " 2> ";
  line += shell_quote(stderr_path.string());
  const int status = std::system(line.c_str());
  RunResult result;
  result.exit_code = status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
  if (fs::exists(stderr_path)) result.stderr_text = fcn::read_file(stderr_path.string());
  return result;
}

fs::path fresh_temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("fcn_test_tf_fixture_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("tf_export: load_manifest and index_export find the records TensorFlow wrote", "[reference]") {
  const json expected = load_expected();
  const fcn::Manifest manifest = fcn::load_manifest((kFixture / "export.json").string());
  REQUIRE(manifest.tfrecord_paths.size() == 2);
  CHECK(fs::equivalent(manifest.tfrecord_paths[0], kFixture / "part-0.tfrecord"));
  CHECK(fs::equivalent(manifest.tfrecord_paths[1], kFixture / "part-1.tfrecord"));
  REQUIRE(manifest.legend.size() == 2);
  CHECK(manifest.legend[0].name == "car");
  CHECK(manifest.legend[0].value == 1);
  CHECK(manifest.legend[1].name == "person");
  CHECK(manifest.legend[1].value == 2);

  const std::vector<fcn::RecordRef> refs = fcn::index_export(manifest);
  REQUIRE(refs.size() == expected["records"].size());
  for (size_t i = 0; i < refs.size(); ++i) {
    const json& entry = record_entry(expected, int64_t(i));
    INFO("record " << i);
    CHECK(refs[i].record_index == int64_t(i));
    CHECK(fs::path(manifest.tfrecord_paths[size_t(refs[i].file_index)]).filename() ==
          entry["file"].get<std::string>());
    CHECK(refs[i].location.offset == entry["offset"].get<uint64_t>());
    CHECK(refs[i].location.payload_length == entry["payload_length"].get<uint64_t>());
  }
}

TEST_CASE("tf_export: read_sample and the sequential reader decode every field TensorFlow wrote",
          "[reference]") {
  const json expected = load_expected();
  const fcn::Manifest manifest = fcn::load_manifest((kFixture / "export.json").string());
  const std::vector<fcn::RecordRef> refs = fcn::index_export(manifest);
  REQUIRE(refs.size() == expected["records"].size());

  SECTION("random access: read_sample") {
    for (const fcn::RecordRef& ref : refs) {
      const fcn::Sample s = fcn::read_sample(manifest, ref, fcn::DecodeLimits{});
      CHECK(s.record_index == ref.record_index);
      check_sample(record_entry(expected, ref.record_index), s);
    }
  }
  SECTION("sequential: TfRecordReader::next + decode_example, file after file") {
    int64_t index = 0;
    std::string payload;
    for (const std::string& path : manifest.tfrecord_paths) {
      fcn::TfRecordReader reader(path);
      while (true) {
        const uint64_t offset = reader.offset();
        if (!reader.next(payload)) break;
        const json& entry = record_entry(expected, index);
        CHECK(offset == entry["offset"].get<uint64_t>());
        CHECK(payload.size() == entry["payload_length"].get<size_t>());
        const fcn::Sample s = fcn::decode_example(payload, fcn::ExampleContext{path, index, int64_t(offset)});
        check_sample(entry, s);
        ++index;
      }
    }
    CHECK(index == int64_t(expected["records"].size()));
  }
}

TEST_CASE("tf_export: the GZIP and ZLIB copies TensorFlow wrote hold exactly the records of part-0",
          "[reference]") {
  const json expected = load_expected();
  REQUIRE(expected["compressed"].size() == 2);
  for (const json& copy : expected["compressed"]) {
    const fs::path path = kFixture / copy["file"].get<std::string>();
    const fs::path plain_path = kFixture / copy["records_of"].get<std::string>();
    fcn::TfRecordCompression compression = fcn::TfRecordCompression::kAuto;
    REQUIRE(fcn::parse_tfrecord_compression(copy["compression"].get<std::string>(), &compression));
    INFO(path.string());

    // The plain file's records, payload bytes and locations.
    std::vector<std::string> want;
    fcn::TfRecordReader plain(plain_path.string());
    std::string payload;
    while (plain.next(payload)) want.push_back(payload);
    REQUIRE(want.size() == 4);
    const std::vector<fcn::RecordLocation> plain_index = fcn::index_tfrecord(plain_path.string());

    for (fcn::TfRecordCompression asked : {fcn::TfRecordCompression::kAuto, compression}) {
      INFO("compression asked: " << fcn::compression_name(asked));
      fcn::TfRecordReader reader(path.string(), asked);
      CHECK(reader.compression() == compression);
      std::vector<std::string> got;
      while (reader.next(payload)) got.push_back(payload);
      CHECK(got == want);  // byte for byte

      const std::vector<fcn::RecordLocation> index = fcn::index_tfrecord(path.string(), asked);
      REQUIRE(index.size() == plain_index.size());
      for (size_t i = 0; i < index.size(); ++i) {
        CHECK(index[i].offset == plain_index[i].offset);  // offsets of the decompressed stream
        CHECK(index[i].payload_length == plain_index[i].payload_length);
      }
      for (size_t i = index.size(); i-- > 0;) {  // random access, backwards
        reader.read_at(index[i], int64_t(i), payload);
        CHECK(payload == want[i]);
      }
    }
    // And the records decode to the samples TensorFlow wrote.
    fcn::TfRecordReader reader(path.string());
    int64_t index = 0;
    while (true) {
      const uint64_t offset = reader.offset();
      if (!reader.next(payload)) break;
      const fcn::Sample s = fcn::decode_example(payload, fcn::ExampleContext{path.string(), index, int64_t(offset)});
      check_sample(record_entry(expected, index), s);
      ++index;
    }
    CHECK(index == 4);
  }
}

TEST_CASE("tf_export: JPEG pixels are exactly TensorFlow's decode_image, and the cuts it refuses are refused",
          "[reference]") {
  const json expected = load_expected();
  const fcn::Manifest manifest = fcn::load_manifest((kFixture / "export.json").string());
  const std::vector<fcn::RecordRef> refs = fcn::index_export(manifest);
  int jpeg_records = 0;
  for (const fcn::RecordRef& ref : refs) {
    const json& entry = record_entry(expected, ref.record_index);
    if (!entry.contains("decoded_image")) continue;
    ++jpeg_records;
    INFO("record " << ref.record_index);
    const fcn::Sample s = fcn::read_sample(manifest, ref, fcn::DecodeLimits{});
    const fcn::DecodedImage want = read_png(kFixture / entry["decoded_image"].get<std::string>(), 3);
    REQUIRE(want.width == s.width);
    REQUIRE(want.height == s.height);
    const Difference d = compare_bytes(s.rgb, want.pixels);
    INFO(d.differing << " of " << d.total << " values differ, max " << d.max_abs);
    CHECK(d.differing == 0);
  }
  CHECK(jpeg_records == 1);

  REQUIRE(expected["jpeg_variants"].size() >= 5);
  for (const json& v : expected["jpeg_variants"]) {
    const std::string bytes = fcn::read_file((kFixture / v["file"].get<std::string>()).string());
    for (const auto& [key, channels] : {std::pair{"rgb", 3}, std::pair{"gray", 1}}) {
      INFO(v["name"].get<std::string>() << ", channels " << channels);
      fcn::DecodedImage got;
      std::string error;
      REQUIRE(fcn::decode_image(bytes.data(), bytes.size(), channels, int64_t(1) << 20, &got, &error));
      CHECK(got.width == v["width"].get<int>());
      CHECK(got.height == v["height"].get<int>());
      CHECK(got.source_channels == v["channels"].get<int>());
      const fcn::DecodedImage want = read_png(kFixture / v[key].get<std::string>(), channels);
      const Difference d = compare_bytes(got.pixels, want.pixels);
      INFO(d.differing << " of " << d.total << " values differ, max " << d.max_abs);
      CHECK(d.differing == 0);
    }
  }

  REQUIRE(expected["jpeg_refused"].size() == 2);
  for (const json& file : expected["jpeg_refused"]) {
    const std::string bytes = fcn::read_file((kFixture / file.get<std::string>()).string());
    fcn::DecodedImage got;
    std::string error;
    INFO(file.get<std::string>());
    CHECK_FALSE(fcn::decode_image(bytes.data(), bytes.size(), 3, int64_t(1) << 20, &got, &error));
    INFO(error);
    CHECK(error.find("the data ends before the image is complete") != std::string::npos);
  }
}

TEST_CASE("tf_export: resize_image_ref and resize_targets_ref match TensorFlow's bilinear resize",
          "[reference]") {
  const json expected = load_expected();
  const int size = expected["size"].get<int>();
  const int class_value = expected["first_class_value"].get<int>();
  const fcn::Manifest manifest = fcn::load_manifest((kFixture / "export.json").string());
  const std::vector<fcn::RecordRef> refs = fcn::index_export(manifest);

  struct Case {
    fcn::ResizeMapping mapping;
    const char* folder;
  };
  DiffReport diffs;
  for (const Case c : {Case{fcn::ResizeMapping::kLegacy, "expected"},
                       Case{fcn::ResizeMapping::kHalfPixel, "expected_half"}}) {
    for (const fcn::RecordRef& ref : refs) {
      const json& entry = record_entry(expected, ref.record_index);
      const fcn::Sample s = fcn::read_sample(manifest, ref, fcn::DecodeLimits{});
      const std::string stem = std::to_string(ref.record_index);
      const std::string name = std::string(c.folder) + "/" + stem;

      if (entry["expected_image"].get<bool>()) {  // every record, the JPEG one too
        std::vector<float> image(size_t(size) * size * 3);  // [size, size, 3]
        fcn::resize_image_ref(image.data(), s.rgb.data(), s.height, s.width, size, c.mapping);
        std::vector<uint8_t> got(image.size());
        std::transform(image.begin(), image.end(), got.begin(), to_byte);
        const auto want = read_expected_png(kFixture / c.folder / (stem + ".image.png"), 3, size);
        diffs.check(compare_bytes(got, want), name + ".image.png");
      }
      std::vector<float> target(size_t(size) * size);  // [size, size, 1]
      fcn::resize_targets_ref(target.data(), s.label.data(), s.height, s.width, size, &class_value, 1,
                              c.mapping, /*nearest=*/false);
      std::vector<uint8_t> got(target.size());
      std::transform(target.begin(), target.end(), got.begin(), [](float t) { return to_byte(255.0f * t); });
      const auto want = read_expected_png(kFixture / c.folder / (stem + ".label.png"), 1, size);
      diffs.check(compare_bytes(got, want), name + ".label.png");
    }
  }
  diffs.report("resize_image_ref (.image.png) and resize_targets_ref (.label.png)");
}

TEST_CASE("tf_export: fcn inspect --json lists what TensorFlow wrote", "[reference]") {
  const json expected = load_expected();
  const fs::path bin = fcn_binary();
  INFO("fcn binary: " << bin.string() << " (set FCN_BIN, or build the fcn target)");
  REQUIRE(fs::exists(bin));
  const fs::path dir = fresh_temp_dir("json");
  const fs::path out = dir / "inspect.jsonl";
  const RunResult run = run_fcn({"inspect", "--json", shell_quote((kFixture / "export.json").string())}, out);
  INFO("stderr: " << run.stderr_text);
  REQUIRE(run.exit_code == 0);

  // One JSON object per record per line; class pixels keyed by legend name, background as other_pixels.
  std::istringstream lines(fcn::read_file(out.string()));
  std::string line;
  int64_t index = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const json got = json::parse(line);
    const json& entry = record_entry(expected, index);
    INFO("record " << index << ": " << line);
    CHECK(got["index"].get<int64_t>() == index);
    CHECK(fs::path(got["file"].get<std::string>()).filename() == entry["file"].get<std::string>());
    CHECK(got["offset"].get<uint64_t>() == entry["offset"].get<uint64_t>());
    for (const char* key : {"id", "filename", "format"}) CHECK(got[key] == entry[key]);
    for (const char* key : {"width", "height", "channels"}) CHECK(got[key] == entry[key]);
    CHECK(got["class_pixels"]["car"] == entry["class_pixels"]["1"]);
    CHECK(got["class_pixels"]["person"] == entry["class_pixels"]["2"]);
    CHECK(got["other_pixels"] == entry["class_pixels"]["0"]);
    ++index;
  }
  CHECK(index == int64_t(expected["records"].size()));
  fs::remove_all(dir);
}

TEST_CASE("tf_export: fcn inspect --dump --size 512 writes TensorFlow's resized images", "[reference]") {
  const json expected = load_expected();
  const int size = expected["size"].get<int>();
  const fs::path bin = fcn_binary();
  INFO("fcn binary: " << bin.string() << " (set FCN_BIN, or build the fcn target)");
  REQUIRE(fs::exists(bin));

  struct Case {
    const char* mapping;
    const char* folder;
  };
  DiffReport diffs;
  for (const Case c : {Case{"legacy", "expected"}, Case{"half-pixel", "expected_half"}}) {
    const fs::path dir = fresh_temp_dir(c.mapping);
    const fs::path dump = dir / "dump";
    const std::vector<std::string> args = {"inspect", shell_quote((kFixture / "export.json").string()),
                                           "--dump", shell_quote(dump.string()), "--size", std::to_string(size),
                                           "--mapping", c.mapping};
    INFO("fcn inspect ... --mapping " << c.mapping);
    const RunResult run = run_fcn(args, dir / "stdout.txt");
    INFO("stderr: " << run.stderr_text);
    REQUIRE(run.exit_code == 0);
    for (const json& entry : expected["records"]) {
      const std::string stem = std::to_string(entry["index"].get<int>());
      const std::string name = std::string(c.folder) + "/" + stem;
      if (entry["expected_image"].get<bool>()) {
        const auto got = read_expected_png(dump / (stem + ".image.png"), 3, size);
        const auto want = read_expected_png(kFixture / c.folder / (stem + ".image.png"), 3, size);
        diffs.check(compare_bytes(got, want), name + ".image.png");
      }
      const auto got = read_expected_png(dump / (stem + ".label.png"), 1, size);
      const auto want = read_expected_png(kFixture / c.folder / (stem + ".label.png"), 1, size);
      diffs.check(compare_bytes(got, want), name + ".label.png");
    }
    fs::remove_all(dir);
  }
  diffs.report("fcn inspect --dump --size 512 (--mapping legacy: expected/, half-pixel: expected_half/)");
}
