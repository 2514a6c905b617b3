// [train_checks] Every training setting outside its range is refused up front, naming the flag and range.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

#include "engine/train_checks.h"
#include "tests/cli_runner.h"
#include "tests/tiny_export.h"

using namespace fcn;

TEST_CASE("check_train_options accepts the defaults and names each setting outside its range", "[train_checks]") {
  TrainOptions defaults;
  CHECK_NOTHROW(check_train_options(defaults));
  struct Case {
    std::function<void(TrainOptions&)> change;
    const char* message;
  };
  const Case cases[] = {
      {[](TrainOptions& o) { o.settings.adam.lr = NAN; }, "--lr must be a finite number > 0, got nan"},
      {[](TrainOptions& o) { o.settings.adam.lr = 0; }, "--lr must be a finite number > 0, got 0"},
      {[](TrainOptions& o) { o.settings.adam.lr = -1; }, "--lr must be a finite number > 0, got -1"},
      {[](TrainOptions& o) { o.settings.adam.beta1 = 1.5f; }, "--beta1 must be a finite number >= 0 and < 1, got 1.5"},
      {[](TrainOptions& o) { o.settings.adam.beta2 = 1; }, "--beta2 must be a finite number >= 0 and < 1, got 1"},
      {[](TrainOptions& o) { o.settings.adam.eps = 0; }, "--eps must be a finite number > 0"},
      {[](TrainOptions& o) { o.settings.weight_decay = -1; }, "--weight-decay must be a finite number >= 0"},
      {[](TrainOptions& o) { o.settings.weight_decay = INFINITY; }, "--weight-decay must be a finite number"},
      {[](TrainOptions& o) { o.settings.test_fraction = 2; }, "--test-fraction must be a finite number >= 0 and < 1"},
      {[](TrainOptions& o) { o.settings.shuffle_buffer = -3; }, "--shuffle-buffer must be 1..16777216, got -3"},
      {[](TrainOptions& o) { o.threads = -1; }, "--threads must be 0..1024 (0: all cores), got -1"},
      {[](TrainOptions& o) { o.threads = 100000; }, "--threads must be 0..1024"},  // was std::bad_alloc
      {[](TrainOptions& o) { o.loader_threads = 0; }, "--loader-threads must be 1..256, got 0"},
      {[](TrainOptions& o) { o.prefetch = 0; }, "--prefetch must be 1..1024, got 0"},
      {[](TrainOptions& o) { o.cache_mb = -5; }, "--cache-mb must be 0.."},
      {[](TrainOptions& o) { o.eval_every = -1; }, "--eval-every must be 0.."},
      {[](TrainOptions& o) { o.steps = -1; }, "--steps must be 0.."},
      {[](TrainOptions& o) { o.settings.batch = 0; }, "--batch must be 1..1048576, got 0"},
      {[](TrainOptions& o) { o.settings.model.channels = 5000; }, "--channels must be 1..4096, got 5000"},
      {[](TrainOptions& o) { o.settings.model.kernel = 4; }, "--kernel must be odd, got 4"},
      {[](TrainOptions& o) { o.settings.model.layers = 0; }, "--layers must be 1..64, got 0"},
      {[](TrainOptions& o) { o.max_skipped = 1.5; }, "--max-skipped must be a finite number >= 0 and <= 1, got 1.5"},
  };
  for (const Case& c : cases) {
    TrainOptions o;
    c.change(o);
    INFO(c.message);
    CHECK_THROWS_WITH(check_train_options(o), Catch::StartsWith(c.message));
  }
}

TEST_CASE("model_config_problem is empty for valid models and names the field otherwise", "[train_checks]") {
  ModelConfig m;
  CHECK(model_config_problem(m).empty());
  m.classes = 256;
  CHECK(model_config_problem(m) == "the number of classes must be 1..255, got 256");
  m.classes = 1;
  m.kernel = ModelLimits::kMaxKernel + 2;
  CHECK(model_config_problem(m) == "--kernel must be 1..31, got 33");
}

TEST_CASE("command-line range errors read like the project's own", "[train_checks][cli]") {
  const auto size = fcn::test::run_fcn("train --export none.json --size 0");
  CHECK(size.exit_code != 0);
  CHECK_THAT(size.output, Catch::Contains("--size: must be at least 1, got 0"));
  CHECK_THAT(size.output, !Catch::Contains("179769"));  // CLI11's own check printed DBL_MAX in full
  const auto batch = fcn::test::run_fcn("train --export none.json --batch 99999999999999999999");
  CHECK_THAT(batch.output, Catch::Contains("--batch: is too large"));
  const std::string dir = fcn::test::temp_dir("train_checks_cli");
  fcn::test::write_tiny_export(dir, 4);
  const auto lr = fcn::test::run_fcn("train --export " + dir + "/export.json --lr nan --device cpu --run-dir " + dir +
                                     "/run");
  CHECK(lr.exit_code != 0);
  CHECK_THAT(lr.output, Catch::Contains("--lr must be a finite number > 0, got nan"));
  CHECK_FALSE(std::filesystem::exists(dir + "/run"));  // refused before anything was written
}

TEST_CASE("legend_warnings: value 0 and values no label of the first batch holds", "[train]") {
  // Two 2x3 labels: values {0, 1} and {0, 1, 4}.
  std::vector<uint8_t> bytes = {0, 1, 1, 0, 0, 0, /*second*/ 4, 0, 1, 1, 1, 0};
  fcn::RawBatch batch;
  batch.count = 2;
  batch.info.resize(2);
  for (int i = 0; i < 2; ++i) {
    batch.info[size_t(i)].height = 2;
    batch.info[size_t(i)].width = 3;
    batch.info[size_t(i)].label_offset = size_t(6 * i);
  }
  batch.bytes = bytes.data();
  batch.used_bytes = bytes.size();

  CHECK(fcn::legend_warnings({"car", "truck"}, {1, 4}, batch, "e.json").empty());
  const auto warnings = fcn::legend_warnings({"unlabeled", "car", "bus"}, {0, 1, 9}, batch, "e.json");
  REQUIRE(warnings.size() == 2);
  CHECK_THAT(warnings[0], Catch::Contains("legend class \"unlabeled\" (pixel value 0) is value 0, which Labelbox "
                                          "reserves for unlabeled pixels"));
  CHECK_THAT(warnings[1], Catch::Contains("legend class \"bus\" (pixel value 9) appears in no label of the first 2 "
                                          "training records (their labels hold the values 0, 1, 4)"));
  CHECK_THAT(warnings[1], Catch::Contains("HINT: compare the legend with the label values `fcn inspect e.json`"));
}
