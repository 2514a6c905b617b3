// fcn make-dataset: writes the synthetic cars dataset (io/synthetic.h) as a Labelbox-style export:
// DIR/export.json and K .tfrecord shards. Refuses a non-empty DIR unless --force.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/cli/commands.h"
#include "io/synthetic.h"
#include "io/tfrecord.h"

namespace fcn::cli {
namespace {

struct MakeDatasetOptions {
  std::string out;
  SyntheticOptions synthetic;
  bool force = false;
  bool quiet = false;
};

void run_make_dataset(const MakeDatasetOptions& opt) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(opt.out, ec) && !fs::is_directory(opt.out, ec)) {
    throw DataError(DataError::Kind::kIo, opt.out, -1, -1,
                    opt.out + " exists and is not a folder\nHINT: pass --out with a new or empty folder");
  }
  if (fs::is_directory(opt.out, ec) && !fs::is_empty(opt.out, ec) && !opt.force) {
    throw DataError(DataError::Kind::kIo, opt.out, -1, -1,
                    opt.out + " is not empty; make-dataset will not overwrite it\n"
                    "HINT: choose another --out folder, or pass --force to overwrite the files it writes");
  }
  const auto start = std::chrono::steady_clock::now();
  const bool live = !opt.quiet;
  int64_t last_percent = -1;
  SyntheticDatasetSummary summary = write_synthetic_dataset(opt.out, opt.synthetic, [&](int64_t done, int64_t total) {
    if (!live) return;
    int64_t percent = done * 100 / total;
    if (percent / 10 != last_percent / 10 || done == total) {  // a line every 10%
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "make-dataset: %lld/%lld images (%lld%%), %.1f s\n", static_cast<long long>(done),
                   static_cast<long long>(total), static_cast<long long>(percent), seconds);
      last_percent = percent;
    }
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %lld images (%lld PNG, %lld JPEG) in %d shards, %.1f MB, cars on %.1f%% of pixels, "
              "seed %llu, %.1f s -> %s\n",
              static_cast<long long>(summary.images), static_cast<long long>(summary.png_images),
              static_cast<long long>(summary.jpeg_images), summary.shards, summary.bytes_written / 1e6,
              100.0 * summary.mean_car_fraction, static_cast<unsigned long long>(opt.synthetic.seed), seconds,
              summary.export_json.c_str());
  std::fflush(stdout);
}

}  // namespace

void add_make_dataset_command(CLI::App& app) {
  auto opt = std::make_shared<MakeDatasetOptions>();
  CLI::App* cmd = app.add_subcommand(
      "make-dataset", "Write the synthetic cars dataset (export.json + .tfrecord shards) into a folder");
  cmd->add_option("--out", opt->out, "output folder (created; must be empty unless --force)")->required();
  cmd->add_option("--images", opt->synthetic.images, "number of images")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--shards", opt->synthetic.shards, "number of .tfrecord files")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", opt->synthetic.seed, "random seed: the same seed writes the same bytes")->capture_default_str();
  cmd->add_option("--jpeg-quality", opt->synthetic.jpeg_quality, "quality of the JPEG-stored half")->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_flag("--force", opt->force, "write into a non-empty folder (overwrites the files it writes)");
  cmd->add_flag("--quiet", opt->quiet, "no progress lines, only the summary");
  cmd->callback([opt] {
    run_make_dataset(*opt);
    run_status() = 0;
  });
}

}  // namespace fcn::cli
