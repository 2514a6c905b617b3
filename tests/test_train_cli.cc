// fcn train and fcn predict from the outside: bad command-line input gives a clear message and a
// non-zero exit; a short run writes metrics, logs, checkpoints; predict writes its PNGs.
#include <catch2/catch.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/trainer.h"
#include "io/image_codec.h"
#include "tests/cli_runner.h"
#include "tests/tiny_export.h"

using fcn::test::run_fcn;

namespace {
std::string tiny_train_args(const std::string& dir, int channels = 4) {
  return "train --export " + dir + "/export.json --device cpu --threads 1 --size 16 --batch 2 --channels " +
         std::to_string(channels) + " --quiet --eval-every 2 --save-every 2 --run-dir " + dir + "/run";
}
}  // namespace

TEST_CASE("fcn train refuses bad input with a clear message", "[cli]") {
  const std::string dir = fcn::test::temp_dir("cli_bad");
  fcn::test::write_tiny_export(dir, 6);

  auto missing = run_fcn("train --export " + dir + "/nope/export.json --steps 1");
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.output, Catch::Contains("nope/export.json"));

  auto device = run_fcn(tiny_train_args(dir) + " --steps 1 --device tpu");
  CHECK(device.exit_code != 0);
  CHECK_THAT(device.output, Catch::Contains("--device"));

  auto kernels = run_fcn(tiny_train_args(dir) + " --steps 1 --conv-kernels v9");
  CHECK(kernels.exit_code != 0);
  CHECK_THAT(kernels.output, Catch::Contains("--conv-kernels 'v9'"));
  CHECK_THAT(kernels.output, Catch::Contains("HINT"));

  auto negative = run_fcn(tiny_train_args(dir) + " --steps -3");
  CHECK(negative.exit_code != 0);
  CHECK_THAT(negative.output, Catch::Contains("--steps"));

  std::ofstream(dir + "/junk.safetensors") << "this is not a checkpoint";
  auto junk = run_fcn(tiny_train_args(dir) + " --steps 2 --resume " + dir + "/junk.safetensors");
  CHECK(junk.exit_code != 0);
  CHECK_THAT(junk.output, Catch::Contains("junk.safetensors"));

  auto first = run_fcn(tiny_train_args(dir) + " --steps 2");
  REQUIRE(first.exit_code == 0);
  auto other_shape =
      run_fcn(tiny_train_args(dir, 8) + " --steps 4 --resume " + dir + "/run/latest.safetensors");
  CHECK(other_shape.exit_code != 0);
  CHECK_THAT(other_shape.output, Catch::Contains("model"));
  CHECK_THAT(other_shape.output, Catch::Contains("HINT"));

  // A well-formed --conv-kernels on the CPU runs, with a note that only the CUDA backend has versions.
  std::filesystem::remove_all(dir + "/run");
  auto cpu_kernels = run_fcn(tiny_train_args(dir) + " --steps 1 --conv-kernels v2");
  CHECK(cpu_kernels.exit_code == 0);
  CHECK_THAT(cpu_kernels.output, Catch::Contains("--conv-kernels v2 applies to the CUDA backend only"));
}

TEST_CASE("fcn train writes metrics, TensorBoard logs and checkpoints, and fcn predict writes PNGs", "[cli]") {
  const std::string dir = fcn::test::temp_dir("cli_run");
  fcn::test::write_tiny_export(dir, 8);
  auto run = run_fcn(tiny_train_args(dir) + " --steps 4");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("test IoU"));

  std::ifstream metrics(dir + "/run/metrics.jsonl");
  int train_lines = 0, test_lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::json::parse(line);
    REQUIRE(j.contains("step"));
    REQUIRE(j.contains("loss"));
    if (j["split"] == "train") ++train_lines;
    if (j["split"] == "test") {
      ++test_lines;
      CHECK(j.contains("iou"));
      CHECK(j.contains("pixel_accuracy"));
    }
  }
  CHECK(train_lines == 4);
  CHECK(test_lines == 2);  // steps 2 and 4
  CHECK(std::filesystem::exists(dir + "/run/checkpoints/step-0000002.safetensors"));
  CHECK(std::filesystem::exists(dir + "/run/latest.safetensors"));
  CHECK(std::filesystem::exists(dir + "/run/progress.png"));
  int event_files = 0;
  for (const char* split : {"train", "test"}) {
    for (auto& e : std::filesystem::directory_iterator(dir + "/run/" + split)) {
      event_files += e.path().filename().string().find("tfevents") != std::string::npos;
    }
  }
  CHECK(event_files == 2);

  // predict at the image's own size
  std::vector<uint8_t> rgb(size_t(21) * 13 * 3, 90);
  fcn::write_file(dir + "/photo.png", fcn::encode_png(rgb.data(), 21, 13, 3));
  auto predict = run_fcn("predict --device cpu --checkpoint " + dir + "/run/latest.safetensors --out " + dir +
                         "/pred --input " + dir + "/photo.png");
  INFO(predict.output);
  REQUIRE(predict.exit_code == 0);
  for (const char* kind : {"probability", "overlay"}) {
    const std::string bytes = fcn::read_file(dir + "/pred/photo." + kind + ".png");
    int w = 0, h = 0, c = 0;
    REQUIRE(fcn::peek_image_size(bytes.data(), bytes.size(), &w, &h, &c));
    CHECK(w == 13);
    CHECK(h == 21);
  }
  // Two inputs with one stem: both written, under the names printed.
  std::filesystem::create_directories(dir + "/other");
  fcn::write_file(dir + "/other/photo.png", fcn::encode_png(rgb.data(), 21, 13, 3));
  auto two = run_fcn("predict --device cpu --checkpoint " + dir + "/run/latest.safetensors --out " + dir +
                     "/pred2 --input " + dir + "/photo.png " + dir + "/other/photo.png");
  REQUIRE(two.exit_code == 0);
  for (const char* name : {"photo.probability.png", "photo.overlay.png", "photo-2.probability.png",
                           "photo-2.overlay.png"}) {
    CHECK(std::filesystem::exists(dir + "/pred2/" + name));
    CHECK_THAT(two.output, Catch::Contains(dir + "/pred2/" + name));
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/pred2")) {
    CHECK(entry.path().extension() == ".png");  // no temporary left behind
  }

  auto bad_input = run_fcn("predict --device cpu --checkpoint " + dir + "/run/latest.safetensors --out " + dir +
                           "/pred --input " + dir + "/export.json");
  CHECK(bad_input.exit_code != 0);
  CHECK_THAT(bad_input.output, Catch::Contains("export.json"));
}

TEST_CASE("Ctrl-C or SIGTERM during training saves the last completed step and exits 128 + signal", "[cli]") {
  const int signal_number = GENERATE(SIGINT, SIGTERM);  // exit 130 and 143, as shells report them
  INFO("signal " << signal_number);
  const std::string dir = fcn::test::temp_dir("cli_interrupt_" + std::to_string(signal_number));
  fcn::test::write_tiny_export(dir, 8);
  const std::string binary = fcn::test::fcn_binary();
  const std::string export_path = dir + "/export.json", run_dir = dir + "/run";
  std::vector<std::string> args = {binary, "train", "--export", export_path, "--device", "cpu", "--threads", "1",
                                   "--size", "16", "--batch", "2", "--channels", "4", "--quiet", "--steps",
                                   "1000000", "--eval-every", "0", "--save-every", "0", "--run-dir", run_dir};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
  // Wait until a few steps are logged, then interrupt.
  auto count_train_lines = [&] {
    std::ifstream in(run_dir + "/metrics.jsonl");
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find("\"train\"") != std::string::npos;
    return n;
  };
  for (int i = 0; i < 600 && count_train_lines() < 3; ++i) usleep(100000);
  REQUIRE(count_train_lines() >= 3);
  kill(pid, signal_number);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + signal_number);
  // The checkpoint holds exactly the steps that were logged.
  auto checkpoint = fcn::load_checkpoint(run_dir + "/latest.safetensors");
  CHECK(checkpoint.step == count_train_lines());
}

TEST_CASE("an empty test split reports no IoU, accuracy or loss, and says why", "[cli]") {
  const std::string dir = fcn::test::temp_dir("cli_empty_test_split");
  fcn::test::write_tiny_export(dir, 4);
  const auto run = fcn::test::run_fcn("train --export " + dir + "/export.json --device cpu --threads 1 --size 16 "
                                      "--batch 2 --channels 4 --steps 2 --test-fraction 0 --run-dir " + dir + "/run");
  INFO(run.output);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("not evaluated: the test split holds no images"));
  CHECK_THAT(run.output, !Catch::Contains("IoU 1.0000"));  // what an empty split reported before
  CHECK_THAT(run.output, Catch::Contains("| not evaluated"));
  std::ifstream metrics(dir + "/run/metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) CHECK(line.find("\"test\"") == std::string::npos);
}

TEST_CASE("iou_text prints an IoU, or says it is undefined", "[cli]") {
  CHECK(fcn::iou_text(0.81234) == "0.8123");
  CHECK(fcn::iou_text(std::nan("")).rfind("undefined", 0) == 0);
}

TEST_CASE("fcn train: a diverged run never overwrites the last good checkpoint, nor writes a new one", "[cli]") {
  const std::string dir = fcn::test::temp_dir("cli_diverge");
  fcn::test::write_tiny_export(dir, 8);
  auto good = run_fcn(tiny_train_args(dir) + " --steps 2");
  REQUIRE(good.exit_code == 0);
  const std::string latest = dir + "/run/latest.safetensors";
  const std::string before = fcn::read_file(latest);

  // lr 1e30: Adam moves every weight by ~1e30, so the next forward overflows and the loss is nan.
  auto diverged = run_fcn(tiny_train_args(dir) + " --steps 8 --lr 1e30 --resume " + latest);
  INFO(diverged.output);
  CHECK(diverged.exit_code != 0);
  CHECK_THAT(diverged.output, Catch::Contains("the training loss became nan at step 4"));
  CHECK_THAT(diverged.output, Catch::Contains("the weights after step 3 are not saved"));
  CHECK_THAT(diverged.output, Catch::Contains("the last good checkpoint is " + latest));
  CHECK(fcn::read_file(latest) == before);
  int checkpoints = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/run/checkpoints")) {
    CHECK(entry.path().filename() == "step-0000002.safetensors");
    ++checkpoints;
  }
  CHECK(checkpoints == 1);
  CHECK(fcn::load_checkpoint(latest).step == 2);

  // Diverging before the first checkpoint (due at step 2): nothing is written, and the message says so.
  std::filesystem::remove_all(dir + "/run");
  auto fresh = run_fcn(tiny_train_args(dir) + " --steps 8 --lr 1e30");
  CHECK(fresh.exit_code != 0);
  CHECK_THAT(fresh.output, Catch::Contains("at step 2; the weights after step 1 are not saved (no checkpoint was "
                                           "written before)"));
  CHECK_FALSE(std::filesystem::exists(latest));
}

TEST_CASE("fcn train --resume from an earlier checkpoint: each step logged once, the summary counts this run",
          "[cli]") {
  const std::string dir = fcn::test::temp_dir("cli_resume_log");
  fcn::test::write_tiny_export(dir, 8);
  REQUIRE(run_fcn(tiny_train_args(dir) + " --steps 4").exit_code == 0);  // checkpoints at 2 and 4

  auto again = run_fcn(tiny_train_args(dir) + " --steps 6 --resume " + dir + "/run/checkpoints/step-0000002.safetensors");
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  // Steps 3 and 4 ran twice: their train lines and step 4's evaluation were dropped before logging again.
  CHECK_THAT(again.output, Catch::Contains("metrics.jsonl: dropped 3 lines of steps after 2"));
  CHECK_THAT(again.output, Catch::Contains("done: 4 steps (resumed at step 2, now at step 6)"));
  std::map<std::string, std::vector<int64_t>> steps;  // split -> steps, in file order
  std::ifstream metrics(dir + "/run/metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    const nlohmann::json entry = nlohmann::json::parse(line);
    steps[entry["split"].get<std::string>()].push_back(entry["step"].get<int64_t>());
  }
  CHECK(steps["train"] == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(steps["test"] == std::vector<int64_t>{2, 4, 6});

  auto nothing = run_fcn(tiny_train_args(dir) + " --steps 5 --resume " + dir + "/run/latest.safetensors");
  CHECK(nothing.exit_code == 0);
  CHECK_THAT(nothing.output, Catch::Contains("nothing to train: the checkpoint is at step 6 and --steps 5"));
  CHECK_THAT(nothing.output, Catch::Contains("done: 0 steps (resumed at step 6, now at step 6)"));
}

TEST_CASE("fcn train on a compressed .tfrecord given as --export, with --legend and --compression", "[cli]") {
  const std::string dir = fcn::test::temp_dir("cli_tfrecord_export");
  const std::string gz = dir + "/part-0.tfrecord.gz";
  std::filesystem::copy_file(std::string(FCN_SOURCE_DIR) + "/tests/fixtures/tf_export/compressed/part-0.tfrecord.gz",
                             gz);
  const std::string args = "train --export " + gz + " --device cpu --threads 1 --size 8 --batch 2 --channels 2 "
                           "--steps 2 --quiet --test-fraction 0.25 --run-dir " + dir + "/run";
  auto no_legend = run_fcn(args);
  CHECK(no_legend.exit_code != 0);
  CHECK_THAT(no_legend.output, Catch::Contains("holds no legend") && Catch::Contains("HINT: pass --legend"));

  auto trained = run_fcn(args + " --legend car=1,person=2");  // GZIP found from the first bytes
  INFO(trained.output);
  CHECK(trained.exit_code == 0);
  CHECK_THAT(trained.output, Catch::Contains("data: 3 train and 1 test records"));
  CHECK(fcn::load_checkpoint(dir + "/run/latest.safetensors").settings.class_values == std::vector<int>{1, 2});

  auto forced = run_fcn(args + " --legend car=1 --compression none");
  CHECK(forced.exit_code != 0);
  CHECK_THAT(forced.output, Catch::Contains("GZIP-compressed") && Catch::Contains("--compression gzip"));
  auto inspect = run_fcn("inspect --compression zlib " + gz);
  CHECK(inspect.exit_code != 0);
  auto bad_flag = run_fcn(args + " --legend car=1 --compression lz4");
  CHECK(bad_flag.exit_code != 0);
  CHECK_THAT(bad_flag.output, Catch::Contains("--compression"));
}

TEST_CASE("fcn train, inspect and predict: --max-pixels sets the pixel limit its HINT names", "[cli]") {
  const std::string dir = fcn::test::temp_dir("cli_max_pixels");
  fcn::test::write_tiny_export(dir, 6);
  auto train = run_fcn(tiny_train_args(dir) + " --steps 1 --max-pixels 10");
  CHECK(train.exit_code != 0);
  CHECK_THAT(train.output, Catch::Contains("pixels), over the limit of 10 pixels") &&
                               Catch::Contains("raise --max-pixels if this size is intended"));
  auto inspect = run_fcn("inspect --max-pixels 10 " + dir + "/export.json");
  CHECK(inspect.exit_code != 0);
  CHECK_THAT(inspect.output, Catch::Contains("over the limit of 10 pixels"));
  CHECK(run_fcn("inspect " + dir + "/export.json").exit_code == 0);
  auto zero = run_fcn(tiny_train_args(dir) + " --steps 1 --max-pixels 0");
  CHECK(zero.exit_code != 0);
  CHECK_THAT(zero.output, Catch::Contains("--max-pixels"));

  REQUIRE(run_fcn(tiny_train_args(dir) + " --steps 1").exit_code == 0);
  std::vector<uint8_t> rgb(size_t(8) * 8 * 3, 90);
  fcn::write_file(dir + "/photo.png", fcn::encode_png(rgb.data(), 8, 8, 3));
  auto predict = run_fcn("predict --device cpu --max-pixels 10 --checkpoint " + dir + "/run/latest.safetensors --out " +
                         dir + "/pred --input " + dir + "/photo.png");
  CHECK(predict.exit_code != 0);
  CHECK_THAT(predict.output, Catch::Contains("photo.png"));
}
