// EventWriter and the histogram bucketing: write an events file, read it back with TfRecordReader (CRCs
// checked) and the generated tensorflow::Event class, and compare every field with what was written.
// Also leaves a small complete run in <build>/test_output/tensorboard_sample_run for
// scripts/reference/check_tensorboard_logs.py.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "io/events.h"
#include "io/image_codec.h"
#include "io/tfrecord.h"
#include "proto/event.pb.h"
#include "tests/event_files.h"

namespace fs = std::filesystem;
using fcn::EventWriter;

namespace {

using fcn::test::read_events;

// A fresh, empty directory under the system temp dir, removed when the test ends.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) {
    path = fs::temp_directory_path() / ("fcn_test_events_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string local_hostname() {
  char name[256] = {};
  REQUIRE(gethostname(name, sizeof(name) - 1) == 0);
  return name;
}

// Checks a histogram against the values it was made of: each entry j covers
// [bucket_limit[j-1], bucket_limit[j]) (entry 0 from -DBL_MAX) and must count exactly the values there.
void check_histogram_matches(const std::vector<double>& limits, const std::vector<double>& counts,
                             const std::vector<float>& values) {
  REQUIRE(limits.size() == counts.size());
  REQUIRE(!limits.empty());
  for (size_t j = 0; j < limits.size(); ++j) {
    double left = j == 0 ? -DBL_MAX : limits[j - 1];
    double right = limits[j];
    REQUIRE(left < right);
    double inside = 0;
    for (float v : values) {
      if (std::isfinite(v) && v >= left && v < right) inside += 1;
    }
    INFO("entry " << j << " [" << left << ", " << right << ")");
    CHECK(counts[j] == inside);
    // Compact: no two empty entries in a row, none at either end.
    if (counts[j] == 0.0) {
      CHECK(j > 0);
      CHECK(j + 1 < counts.size());
      if (j > 0) CHECK(counts[j - 1] > 0.0);
    }
  }
}

}  // namespace

TEST_CASE("default_histogram_bucket_limits is TensorFlow's default bucketing", "[events]") {
  const std::vector<double>& limits = fcn::default_histogram_bucket_limits();
  // Positive edges: 1e-12 * 1.1^k < 1e20 gives k = 0..773 (774 edges); mirrored, plus 0 and +-DBL_MAX.
  REQUIRE(limits.size() == 2 * 774 + 3);
  CHECK(limits.front() == -DBL_MAX);
  CHECK(limits.back() == DBL_MAX);
  const size_t zero = limits.size() / 2;
  CHECK(limits[zero] == 0.0);
  CHECK(limits[zero + 1] == 1.0e-12);
  CHECK(limits[zero + 2] == 1.0e-12 * 1.1);
  CHECK(limits[limits.size() - 2] < 1.0e20);
  CHECK(limits[limits.size() - 2] * 1.1 >= 1.0e20);
  for (size_t i = 1; i < limits.size(); ++i) REQUIRE(limits[i - 1] < limits[i]);
  for (size_t i = 0; i < limits.size(); ++i) REQUIRE(limits[i] == -limits[limits.size() - 1 - i]);
}

TEST_CASE("histogram_bucket_index agrees with a binary search over the limits", "[events]") {
  const std::vector<double>& limits = fcn::default_histogram_bucket_limits();
  auto upper_bound_index = [&](double v) {
    size_t b = std::upper_bound(limits.begin(), limits.end(), v) - limits.begin();
    return std::min(b, limits.size() - 1);  // TensorFlow's last bucket also takes what lies beyond DBL_MAX
  };
  std::vector<double> probes = {0.0, -0.0, DBL_MAX, -DBL_MAX, 1e-320, -1e-320, 1e30, -1e30, 1.0, -1.0};
  for (double limit : limits) {  // every edge exactly, and its neighbours on both sides
    probes.push_back(limit);
    probes.push_back(std::nextafter(limit, INFINITY));
    probes.push_back(std::nextafter(limit, -INFINITY));
    probes.push_back(static_cast<float>(limit));  // float values near edges, as add_histogram sees them
  }
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> exponent(-15.0, 25.0);
  for (int i = 0; i < 20000; ++i) {
    double magnitude = std::pow(10.0, exponent(rng));
    probes.push_back(i % 2 ? magnitude : -magnitude);
  }
  for (double v : probes) {
    INFO("v = " << v);
    REQUIRE(fcn::histogram_bucket_index(v) == upper_bound_index(v));
  }
  CHECK(fcn::histogram_bucket_index(INFINITY) == limits.size() - 1);
  CHECK(fcn::histogram_bucket_index(-INFINITY) == 0);
}

TEST_CASE("compute_histogram counts every value in the right bucket, compactly", "[events]") {
  SECTION("hand-picked values, including a value exactly on an edge and zero") {
    std::vector<float> values = {0.0f, 1.0f, 1.0f, -2.5f, 3.0e5f, 1.0e-12f, -1.0e-13f, 0.7f};
    fcn::HistogramSummary h = fcn::compute_histogram(values.data(), values.size());
    CHECK(h.num == 8);
    CHECK(h.nonfinite == 0);
    CHECK(h.min == -2.5);
    CHECK(h.max == 3.0e5);
    double sum = 0, sum_squares = 0;
    for (float v : values) sum += double(v), sum_squares += double(v) * double(v);
    CHECK(h.sum == sum);  // same order of double additions: exact
    CHECK(h.sum_squares == sum_squares);
    check_histogram_matches(h.bucket_limit, h.bucket, values);
  }
  SECTION("random normal values") {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> values(5000);
    for (float& v : values) v = normal(rng);
    fcn::HistogramSummary h = fcn::compute_histogram(values.data(), values.size());
    double total = 0;
    for (double c : h.bucket) total += c;
    CHECK(total == 5000);
    check_histogram_matches(h.bucket_limit, h.bucket, values);
  }
  SECTION("non-finite values are left out and counted") {
    std::vector<float> values = {1.0f, NAN, INFINITY, -INFINITY, 2.0f};
    fcn::HistogramSummary h = fcn::compute_histogram(values.data(), values.size());
    CHECK(h.nonfinite == 3);
    CHECK(h.num == 2);
    CHECK(h.sum == 3.0);
    CHECK(h.min == 1.0);
    CHECK(h.max == 2.0);
  }
  SECTION("no values: one empty bucket ending at DBL_MAX") {
    fcn::HistogramSummary h = fcn::compute_histogram(nullptr, 0);
    CHECK(h.num == 0);
    CHECK(h.min == 0);
    CHECK(h.max == 0);
    CHECK(h.bucket_limit == std::vector<double>{DBL_MAX});
    CHECK(h.bucket == std::vector<double>{0.0});
  }
}

TEST_CASE("event_file_name follows TensorBoard's pattern", "[events]") {
  CHECK(fcn::event_file_name(1764400000, "node7") == "events.out.tfevents.1764400000.node7");
  CHECK(fcn::event_file_name(42, "h") == "events.out.tfevents.0000000042.h");  // zero padded to 10 digits
}

TEST_CASE("EventWriter round trip: scalars, images, histogram", "[events]") {
  TempDir dir("round_trip");
  const fs::path log_dir = dir.path / "nested" / "train";  // created with its parents
  const double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  // An RGB image with distinct pixels and a gray one.
  const int h = 7, w = 5;
  std::vector<uint8_t> rgb(h * w * 3), gray(h * w);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 37 + 11);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<uint8_t>(255 - i * 7);
  std::vector<float> histo_values(1000);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-0.3f, 0.9f);
  for (float& v : histo_values) v = uniform(rng);

  std::string path;
  {
    EventWriter writer(log_dir.string());
    path = writer.path();
    for (int step = 0; step < 20; ++step) writer.add_scalar("loss", step, 1.0f / (step + 1));
    writer.add_scalar("learning_rate", 20, 1e-4f);
    writer.add_image("input/0", 21, rgb.data(), h, w, 3);
    writer.add_image("probability/0", 22, gray.data(), h, w, 1);
    CHECK(writer.add_histogram("params/conv1.weight", 23, histo_values.data(), histo_values.size()) == 0);
    writer.flush();
  }  // the destructor closes the file
  const double after = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  // File name: events.out.tfevents.<10 digits>.<hostname>, in the requested directory.
  CHECK(fs::path(path).parent_path() == log_dir);
  std::smatch match;
  const std::string name = fs::path(path).filename().string();
  REQUIRE(std::regex_match(name, match, std::regex(R"(events\.out\.tfevents\.(\d{10})\.(.+))")));
  CHECK(match[2].str() == local_hostname());
  const long long stamp = std::stoll(match[1].str());
  CHECK(stamp >= static_cast<long long>(before));
  CHECK(stamp <= static_cast<long long>(after));

  std::vector<tensorflow::Event> events = read_events(path);
  REQUIRE(events.size() == 1 + 20 + 1 + 2 + 1);

  // Record 0: the version.
  CHECK(events[0].file_version() == "brain.Event:2");
  CHECK(events[0].wall_time() >= before);
  CHECK(events[0].wall_time() <= after);
  CHECK(events[0].step() == 0);
  for (const tensorflow::Event& e : events) {
    CHECK(e.wall_time() >= before);
    CHECK(e.wall_time() <= after);
  }

  for (int step = 0; step < 20; ++step) {
    const tensorflow::Event& e = events[1 + step];
    REQUIRE(e.has_summary());
    REQUIRE(e.summary().value_size() == 1);
    CHECK(e.step() == step);
    CHECK(e.summary().value(0).tag() == "loss");
    CHECK(e.summary().value(0).simple_value() == 1.0f / (step + 1));  // float stored as float: exact
  }
  CHECK(events[21].step() == 20);
  CHECK(events[21].summary().value(0).tag() == "learning_rate");
  CHECK(events[21].summary().value(0).simple_value() == 1e-4f);

  // Images: header fields, and the PNG decodes to the very same pixels (PNG is lossless).
  struct Expected {
    int index;
    const char* tag;
    int64_t step;
    int channels;
    const std::vector<uint8_t>* pixels;
  };
  for (const Expected& x : {Expected{22, "input/0", 21, 3, &rgb}, Expected{23, "probability/0", 22, 1, &gray}}) {
    const tensorflow::Event& e = events[x.index];
    INFO(x.tag);
    CHECK(e.step() == x.step);
    REQUIRE(e.summary().value_size() == 1);
    const tensorflow::Summary::Value& v = e.summary().value(0);
    CHECK(v.tag() == x.tag);
    REQUIRE(v.has_image());
    CHECK(v.image().height() == h);
    CHECK(v.image().width() == w);
    CHECK(v.image().colorspace() == x.channels);
    fcn::DecodedImage decoded;
    std::string error;
    const std::string& png = v.image().encoded_image_string();
    REQUIRE(png.compare(0, 4, "\x89PNG") == 0);
    REQUIRE(fcn::decode_image(png.data(), png.size(), x.channels, 1 << 20, &decoded, &error));
    CHECK(decoded.height == h);
    CHECK(decoded.width == w);
    CHECK(decoded.source_channels == x.channels);
    CHECK(decoded.pixels == *x.pixels);
  }

  // Histogram: totals and the bucket contents.
  const tensorflow::Event& e = events[24];
  CHECK(e.step() == 23);
  const tensorflow::Summary::Value& v = e.summary().value(0);
  CHECK(v.tag() == "params/conv1.weight");
  REQUIRE(v.has_histo());
  const tensorflow::HistogramProto& histo = v.histo();
  double sum = 0, sum_squares = 0;
  float min_value = histo_values[0], max_value = histo_values[0];
  for (float x : histo_values) {
    sum += x;
    sum_squares += double(x) * x;
    min_value = std::min(min_value, x);
    max_value = std::max(max_value, x);
  }
  CHECK(histo.num() == 1000);
  CHECK(histo.min() == min_value);
  CHECK(histo.max() == max_value);
  CHECK(histo.sum() == Approx(sum).epsilon(1e-12));  // both double sums in the same order; slack only for safety
  CHECK(histo.sum_squares() == Approx(sum_squares).epsilon(1e-12));
  std::vector<double> limits(histo.bucket_limit().begin(), histo.bucket_limit().end());
  std::vector<double> counts(histo.bucket().begin(), histo.bucket().end());
  double total = 0;
  for (double c : counts) total += c;
  CHECK(total == 1000);
  check_histogram_matches(limits, counts, histo_values);
}

TEST_CASE("EventWriter: a SessionLog START marks a restart at its step", "[events]") {
  TempDir dir("session_start");
  std::string path;
  {
    fcn::EventWriter writer(dir.path.string());
    writer.add_session_start(5);
    writer.add_scalar("loss", 5, 2.5f);
    path = writer.path();
  }
  std::vector<tensorflow::Event> events = read_events(path);
  REQUIRE(events.size() == 3);  // file_version, START, the scalar
  CHECK(events[1].step() == 5);
  REQUIRE(events[1].has_session_log());
  CHECK(events[1].session_log().status() == tensorflow::SessionLog::START);
  CHECK_FALSE(events[2].has_session_log());
}

TEST_CASE("EventWriter: two writers in one directory get different files", "[events]") {
  TempDir dir("two_writers");
  EventWriter first(dir.path.string());
  EventWriter second(dir.path.string());
  CHECK(first.path() != second.path());
  CHECK(fs::path(second.path()).filename().string().find("tfevents") != std::string::npos);
  first.add_scalar("a", 1, 1.0f);
  second.add_scalar("b", 2, 2.0f);
  first.flush();
  second.flush();
  CHECK(read_events(first.path()).size() == 2);
  CHECK(read_events(second.path()).size() == 2);
}

TEST_CASE("EventWriter refuses what it cannot write", "[events]") {
  TempDir dir("errors");
  fs::create_directories(dir.path);
  const fs::path blocker = dir.path / "a_file";
  std::ofstream(blocker) << "not a directory";
  CHECK_THROWS_AS(EventWriter((blocker / "train").string()), fcn::DataError);
  try {
    EventWriter bad((blocker / "train").string());
  } catch (const fcn::DataError& e) {
    CHECK(std::string(e.what()).find("HINT:") != std::string::npos);
  }

  EventWriter writer((dir.path / "ok").string());
  uint8_t pixel[4] = {1, 2, 3, 4};
  CHECK_THROWS_AS(writer.add_image("x", 0, pixel, 0, 1, 3), std::invalid_argument);
  CHECK_THROWS_AS(writer.add_image("x", 0, pixel, 1, 1, 2), std::invalid_argument);
  CHECK_THROWS_AS(writer.add_image("x", 0, nullptr, 1, 1, 3), std::invalid_argument);
  CHECK_THROWS_AS(writer.add_histogram("x", 0, nullptr, 3), std::invalid_argument);
  writer.add_image("ok", 0, pixel, 1, 1, 4);  // RGBA is fine
  writer.flush();
  CHECK(read_events(writer.path()).size() == 2);
}

// Writes <build>/test_output/tensorboard_sample_run the way the trainer lays out a run, so that
// scripts/reference/check_tensorboard_logs.py can be tried on known-good logs:
//   scripts/reference/.venv/bin/python scripts/reference/check_tensorboard_logs.py
//       <build>/test_output/tensorboard_sample_run
TEST_CASE("EventWriter writes a sample run for check_tensorboard_logs.py", "[events]") {
  const fs::path run = fs::path(FCN_BINARY_DIR) / "test_output" / "tensorboard_sample_run";
  fs::remove_all(run);
  fs::create_directories(run);
  std::ofstream metrics(run / "metrics.jsonl");
  const int image_h = 24, image_w = 32;
  const std::vector<std::string> params = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                           "logits.weight", "logits.bias"};
  {
    EventWriter train((run / "train").string());
    EventWriter test((run / "test").string());
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::vector<float> values(200);
    for (int step = 1; step <= 12; ++step) {
      const float loss = 0.7f / std::sqrt(static_cast<float>(step));
      train.add_scalar("loss", step, loss);
      train.add_scalar("learning_rate", step, 1e-4f);
      train.add_scalar("images_per_s", step, 800.0f + step);
      train.add_scalar("step_time_ms", step, 10.0f - 0.1f * step);
      char line[256];
      std::snprintf(line, sizeof(line), R"({"step": %d, "split": "train", "loss": %.9g})", step, loss);
      metrics << line << "\n";
      if (step % 4 == 0) {
        for (const std::string& name : params) {
          for (float& v : values) v = normal(rng);
          train.add_histogram("params/" + name, step, values.data(), values.size());
          for (float& v : values) v = 0.01f * normal(rng);
          train.add_histogram("grads/" + name, step, values.data(), values.size());
        }
        const float test_loss = loss * 1.1f, iou = 0.1f * step / 1.2f, accuracy = 0.5f + 0.03f * step;
        test.add_scalar("loss", step, test_loss);
        test.add_scalar("iou", step, iou);
        test.add_scalar("pixel_accuracy", step, accuracy);
        std::snprintf(line, sizeof(line),
                      R"({"step": %d, "split": "test", "loss": %.9g, "iou": %.9g, "pixel_accuracy": %.9g})",
                      step, test_loss, iou, accuracy);
        metrics << line << "\n";
        std::vector<uint8_t> rgb(image_h * image_w * 3), gray(image_h * image_w);
        for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i + step);
        for (size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<uint8_t>(i * step);
        for (int k = 0; k < 2; ++k) {
          test.add_image("input/" + std::to_string(k), step, rgb.data(), image_h, image_w, 3);
          test.add_image("probability/" + std::to_string(k), step, gray.data(), image_h, image_w, 1);
          test.add_image("prediction/" + std::to_string(k), step, gray.data(), image_h, image_w, 1);
          test.add_image("overlay/" + std::to_string(k), step, rgb.data(), image_h, image_w, 3);
        }
      }
    }
  }
  metrics.close();
  CHECK(read_events(fs::directory_iterator(run / "train")->path().string()).size() == 1 + 12 * 4 + 3 * 12);
  CHECK(read_events(fs::directory_iterator(run / "test")->path().string()).size() == 1 + 3 * (3 + 8));
}
