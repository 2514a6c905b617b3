// fcn train --device cuda-emu: the CUDA backend's own code (kernels, staging ring, tuner plans) trains on
// the emulated device. Against the CPU backend for every kernel plan; the same plan twice gives the same
// checkpoint bytes; and stopping after 3 steps and resuming to 5 gives the bytes of 5 straight.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "io/image_codec.h"
#include "tests/cli_runner.h"
#include "tests/tiny_export.h"

#if defined(FCN_HAVE_CUDA_EMULATION)

namespace fcn {
namespace {

using test::run_fcn;

// 5 steps of batch 3 at 24x24 (the images are 12..31 x 12..35, so the resize both up- and downscales),
// 16 hidden channels: every conv version runs all its paths (float4 loads, tails) in seconds.
std::string train_args(const std::string& dir, const std::string& device, const std::string& run, int steps) {
  return "train --export " + dir + "/export.json --device " + device + " --threads 1 --size 24 --batch 3 "
         "--channels 16 --steps " + std::to_string(steps) + " --seed 3 --quiet --eval-every 0 --save-every 0 "
         "--run-dir " + dir + "/" + run;
}

std::vector<double> train_losses(const std::string& run_dir) {
  std::vector<double> losses;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("split", "") == "train") losses.push_back(j.at("loss").get<double>());
  }
  return losses;
}

std::string make_export(const std::string& name) {
  const std::string dir = test::temp_dir(name);
  test::write_tiny_export(dir, 12, 5);
  return dir;
}

}  // namespace

TEST_CASE("fcn train --device cuda-emu matches the CPU backend for every kernel plan", "[cli][emu]") {
  const std::string dir = make_export("emu_plans");
  const auto cpu = run_fcn(train_args(dir, "cpu", "cpu", 5));
  INFO(cpu.output);
  REQUIRE(cpu.exit_code == 0);
  const std::vector<double> cpu_losses = train_losses(dir + "/cpu");
  REQUIRE(cpu_losses.size() == 5);
  const CheckpointState cpu_state = load_checkpoint(dir + "/cpu/latest.safetensors");

  const std::string mixed = "1x1:16>1=4,3,2;3x3:3>16=2,3,4;3x3:16>16=3,4,1";
  for (const std::string& plan : std::vector<std::string>{"v1", "v2", "v3", "v4", mixed}) {
    const std::string run = "emu_" + std::to_string(plan.size()) + plan.substr(0, 2);
    const auto emu = run_fcn(train_args(dir, "cuda-emu", run, 5) + " --conv-kernels '" + plan + "'");
    INFO("plan " << plan << "\n" << emu.output);
    REQUIRE(emu.exit_code == 0);
    CHECK_THAT(emu.output, Catch::Contains("fcn.cu emulated device"));
    const CheckpointState state = load_checkpoint(dir + "/" + run + "/latest.safetensors");
    CHECK(state.step == 5);
    if (plan == mixed) CHECK(state.kernel_plan == mixed);
    else CHECK(state.kernel_plan.find("=" + plan.substr(1) + "," + plan.substr(1) + "," + plan.substr(1)) != std::string::npos);

    // Losses: float32 sums over the batch's 1728 pixels in another order than the CPU's GEMM; the
    // relative difference of such sums is ~1e-6, and the weights (below) move the later losses by less
    // than 1e-5 relative. 1e-4 leaves room and still catches any wrong term (a pixel is ~1e-3 of the sum).
    const std::vector<double> losses = train_losses(dir + "/" + run);
    REQUIRE(losses.size() == cpu_losses.size());
    for (size_t i = 0; i < losses.size(); ++i) {
      INFO("step " << i + 1 << ": emulated " << losses[i] << ", cpu " << cpu_losses[i]);
      CHECK(std::fabs(losses[i] - cpu_losses[i]) <= 1e-4 * std::fabs(cpu_losses[i]));
    }
    // Weights: Adam's step is lr * m / (sqrt(v) + eps), at most ~lr per step in size whatever the gradient,
    // so where a gradient is near zero, rounding can flip its direction: at most 2 * lr * 5 steps = 1e-3
    // apart. Everywhere else the two agree far closer; the bound still catches a wrong kernel (whose
    // steps point the wrong way from step 1 on, and whose losses fail above).
    REQUIRE(state.params.size() == cpu_state.params.size());
    // Away from such flips, the weights agree to float32 rounding of the updates (observed: 1.5e-8 at most
    // over all weights): 99% of them within 1e-6 catches a kernel that is wrong only slightly.
    double worst = 0;
    size_t close = 0;
    for (size_t i = 0; i < state.params.size(); ++i) {
      const double d = std::fabs(double(state.params[i]) - double(cpu_state.params[i]));
      worst = std::max(worst, d);
      close += d <= 1e-6;
    }
    INFO("largest weight difference " << worst << ", " << close << " of " << state.params.size() << " within 1e-6");
    CHECK(worst <= 2 * 1e-4 * 5);
    CHECK(double(close) >= 0.99 * double(state.params.size()));
  }
}

TEST_CASE("fcn train --device cuda-emu is bit-identical run to run and across a resume", "[cli][emu]") {
  const std::string dir = make_export("emu_resume");
  const std::string plan = " --conv-kernels v3";
  const auto first = run_fcn(train_args(dir, "cuda-emu", "a", 5) + plan);
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const auto again = run_fcn(train_args(dir, "cuda-emu", "b", 5) + plan);
  REQUIRE(again.exit_code == 0);
  const std::string straight = read_file(dir + "/a/latest.safetensors");
  REQUIRE(!straight.empty());
  CHECK(read_file(dir + "/b/latest.safetensors") == straight);

  const auto part = run_fcn(train_args(dir, "cuda-emu", "c", 3) + plan);
  REQUIRE(part.exit_code == 0);
  const auto resumed = run_fcn(train_args(dir, "cuda-emu", "c", 5) + " --resume " + dir + "/c/latest.safetensors");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(read_file(dir + "/c/latest.safetensors") == straight);
}

}  // namespace fcn

#endif  // FCN_HAVE_CUDA_EMULATION
