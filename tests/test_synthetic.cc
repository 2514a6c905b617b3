// Tests of the synthetic cars dataset (io/synthetic.h): cars cover a sensible share of each image, no
// threshold on a single colour channel (or luma) separates car from background, rendering is
// deterministic per seed, and the written export reads back through the real readers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <unistd.h>

#include "io/example.h"
#include "tests/cli_runner.h"
#include "io/loader.h"
#include "io/manifest.h"
#include "io/synthetic.h"
#include "io/tfrecord.h"

namespace fcn {
namespace {

// Best IoU with the car pixels that any rule "value >= t" or "value < t" (t = 0..256) on one channel reaches,
// from per-value histograms of car and background pixels.
double best_threshold_iou(const std::array<int64_t, 256>& car, const std::array<int64_t, 256>& background) {
  int64_t car_total = 0, bg_total = 0;
  for (int v = 0; v < 256; ++v) {
    car_total += car[size_t(v)];
    bg_total += background[size_t(v)];
  }
  double best = 0.0;
  int64_t car_below = 0, bg_below = 0;  // pixels with value < t
  for (int t = 0; t <= 256; ++t) {
    if (t > 0) {
      car_below += car[size_t(t - 1)];
      bg_below += background[size_t(t - 1)];
    }
    // rule "value >= t": tp = car above, fp = background above, fn = car below
    int64_t tp = car_total - car_below, fp = bg_total - bg_below, fn = car_below;
    if (tp + fp + fn > 0) best = std::max(best, double(tp) / double(tp + fp + fn));
    // rule "value < t"
    tp = car_below, fp = bg_below, fn = car_total - car_below;
    if (tp + fp + fn > 0) best = std::max(best, double(tp) / double(tp + fp + fn));
  }
  return best;
}

}  // namespace

TEST_CASE("synthetic: car share per image and no single-channel threshold finds the cars", "[synthetic]") {
  // Channels: R, G, B, luma (0.299 R + 0.587 G + 0.114 B). Histograms pooled over 8 images.
  std::array<std::array<int64_t, 256>, 4> car{}, background{};
  double fraction_sum = 0.0;
  const int images = 8;
  for (int i = 0; i < images; ++i) {
    SyntheticImage im = render_synthetic_image(11, i);
    REQUIRE(im.width >= 320);
    REQUIRE(im.width <= 1280);
    REQUIRE(im.height >= 240);
    REQUIRE(im.height <= 720);
    REQUIRE(im.rgb.size() == size_t(im.height) * im.width * 3);
    REQUIRE(im.label.size() == size_t(im.height) * im.width);
    double fraction = im.car_fraction();
    INFO("image " << i << " car fraction " << fraction);
    // Stated range per image: 4% .. 55% (target 12-38% before cars leave the frame or get occluded).
    CHECK(fraction >= 0.04);
    CHECK(fraction <= 0.55);
    fraction_sum += fraction;
    int64_t bad_labels = 0;
    for (size_t p = 0; p < im.label.size(); ++p) {
      bad_labels += im.label[p] > 1;
      const uint8_t* px = &im.rgb[3 * p];
      int luma = int(0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2] + 0.5);
      auto& hist = im.label[p] ? car : background;
      for (int c = 0; c < 3; ++c) ++hist[size_t(c)][px[c]];
      ++hist[3][size_t(std::min(luma, 255))];
    }
    CHECK(bad_labels == 0);  // labels are 0 or 1
  }
  double mean_fraction = fraction_sum / images;
  CHECK(mean_fraction >= 0.10);  // stated range of the mean: 10% .. 40%
  CHECK(mean_fraction <= 0.40);
  const char* names[4] = {"R", "G", "B", "luma"};
  for (int c = 0; c < 4; ++c) {
    double iou = best_threshold_iou(car[size_t(c)], background[size_t(c)]);
    INFO("channel " << names[c] << " best threshold IoU " << iou);
    // Bound: 0.6. The trivial rule "everything is car" scores the car share (~0.2); the network must
    // reach 0.85 on the same kind of data, so colour alone must stay well below that. Observed for these
    // 8 images: R 0.48, G 0.49, B 0.29, luma 0.43 (dark-channel paint overlaps shadows and asphalt).
    CHECK(iou < 0.6);
  }
}

TEST_CASE("synthetic: rendering is deterministic for a seed and differs across seeds and images", "[synthetic]") {
  SyntheticImage a = render_synthetic_image(5, 3);
  SyntheticImage b = render_synthetic_image(5, 3);
  CHECK(a.rgb == b.rgb);
  CHECK(a.label == b.label);
  CHECK(a.store_as_jpeg == b.store_as_jpeg);
  SyntheticImage other_seed = render_synthetic_image(6, 3);
  SyntheticImage other_index = render_synthetic_image(5, 4);
  CHECK((other_seed.rgb != a.rgb || other_seed.width != a.width));
  CHECK((other_index.rgb != a.rgb || other_index.width != a.width));
  CHECK(other_index.store_as_jpeg != a.store_as_jpeg);  // PNG and JPEG alternate
}

TEST_CASE("synthetic: write_synthetic_dataset writes an export the pipeline reads", "[synthetic]") {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("fcn_synthetic_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  SyntheticOptions options;
  options.images = 5;
  options.shards = 2;
  options.seed = 3;
  int64_t progress_calls = 0;
  SyntheticDatasetSummary summary =
      write_synthetic_dataset(dir.string(), options, [&](int64_t done, int64_t total) {
        ++progress_calls;
        CHECK(total == 5);
        CHECK(done == progress_calls);
      });
  CHECK(summary.images == 5);
  CHECK(summary.png_images + summary.jpeg_images == 5);
  CHECK(summary.png_images >= 2);
  CHECK(summary.jpeg_images >= 2);
  CHECK(summary.shards == 2);
  CHECK(summary.bytes_written > 0);

  Manifest manifest = load_manifest(summary.export_json);
  REQUIRE(manifest.legend.size() == 1);
  CHECK(manifest.legend[0].name == "Model 3");
  CHECK(manifest.legend[0].value == 1);
  REQUIRE(manifest.tfrecord_paths.size() == 2);
  std::vector<RecordRef> refs = index_export(manifest);
  REQUIRE(refs.size() == 5);
  for (const RecordRef& ref : refs) {
    Sample s = read_sample(manifest, ref, DecodeLimits{});
    SyntheticImage truth = render_synthetic_image(3, ref.record_index);
    CHECK(s.height == truth.height);
    CHECK(s.width == truth.width);
    CHECK(s.label == truth.label);  // the label PNG is lossless
    CHECK(s.format == (truth.store_as_jpeg ? "jpeg" : "png"));
    if (!truth.store_as_jpeg) CHECK(s.rgb == truth.rgb);
    CHECK(s.id == "synthetic-3-" + std::to_string(ref.record_index));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("fcn make-dataset and fcn bench loader on the command line", "[synthetic][loader]") {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("fcn_make_dataset_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  const std::string out = dir.string();
  test::CliResult made = test::run_fcn("make-dataset --out " + out + " --images 4 --shards 2 --seed 9");
  INFO(made.output);
  REQUIRE(made.exit_code == 0);
  CHECK(made.output.find("wrote 4 images (2 PNG, 2 JPEG) in 2 shards") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "export.json"));
  CHECK(std::filesystem::exists(dir / "synthetic-00001-of-00002.tfrecord"));

  test::CliResult refused = test::run_fcn("make-dataset --out " + out + " --images 2");
  CHECK(refused.exit_code == 1);  // the folder is not empty
  CHECK(refused.output.find("HINT") != std::string::npos);
  test::CliResult forced = test::run_fcn("make-dataset --out " + out + " --images 4 --shards 2 --seed 9 --force --quiet");
  CHECK(forced.exit_code == 0);

  test::CliResult bench =
      test::run_fcn("bench loader --export " + (dir / "export.json").string() + " --threads 1,2 --batches 2 --size 32");
  INFO(bench.output);
  CHECK(bench.exit_code == 0);
  CHECK(bench.output.find("| 2 | on |") != std::string::npos);  // one row per thread count and cache setting
  test::CliResult bad_threads = test::run_fcn("bench loader --export " + (dir / "export.json").string() + " --threads x");
  CHECK(bad_threads.exit_code != 0);
  std::filesystem::remove_all(dir);
}

}  // namespace fcn
