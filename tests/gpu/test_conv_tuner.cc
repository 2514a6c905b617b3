// [gpu] Choosing the convolution versions on the device: conv2d_check_against_cpu passes every version at
// the model's layer shapes, tune_conv_layer picks a valid version per direction, and CudaBackend follows a
// kernel plan ("auto", one version, or a plan text), reports it, and gives bit-identical training steps
// when the same plan runs twice.
#include <catch2/catch.hpp>

#include <algorithm>

#include "engine/cuda/conv_tuner.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/model.h"
#include "kernels/cuda/conv2d_validate.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {
namespace {

struct StepResult {
  std::vector<float> first_grads;  // the gradient of step 1 (same weights and inputs for every plan)
  std::vector<float> params;       // the parameters after three Adam steps
};

// Three Adam steps of a small model on fixed random inputs.
StepResult train_three_steps(Backend& backend, const std::string& plan) {
  backend.set_kernel_plan(plan);
  ModelConfig config;
  config.channels = 16;
  const int batch = 2, size = 37;
  Model model(backend, config, batch, size);
  std::vector<float> init;
  glorot_init(init, config, 11);
  model.set_params(init);
  const auto x = test::random_floats(size_t(batch) * size * size * 3, 0.f, 255.f, 12);
  auto targets = test::random_floats(size_t(batch) * size * size, 0.f, 1.f, 13);
  for (float& t : targets) t = t > 0.5f ? 1.f : 0.f;
  backend.upload(model.input(), x.data(), int64_t(x.size()));
  backend.upload(model.targets(), targets.data(), int64_t(targets.size()));
  StepResult result;
  for (int step = 0; step < 3; ++step) {
    model.forward(batch);
    model.loss_and_dlogits(batch, LossReduction::kSum, 0.f);
    model.backward(batch, 0.f);
    if (step == 0) result.first_grads = model.get_grads();
    model.adam_step(AdamConfig{});
  }
  result.params = model.get_params();
  return result;
}

}  // namespace

// [device-only]: the 512x512 layers are about 10^11 multiply-adds per check, days on the emulated device.
TEST_CASE("every conv version passes conv2d_check_against_cpu at the model's layer shapes",
          "[gpu][tuner][device-only]") {
  const ConvShape layers[] = {{8, 512, 512, 3, 64, 3}, {8, 512, 512, 64, 64, 3}, {8, 512, 512, 64, 1, 1},
                              {8, 512, 512, 5, 7, 3}};
  for (const ConvShape& layer : layers) {
    for (int direction = 0; direction < kConvDirections; ++direction) {
      // Our versions only: cuDNN may pick Winograd or FFT, whose rounding can exceed this check's 1e-5
      // (tests/gpu/test_conv_cuda.cc checks it at 1e-4).
      for (int v = kFirstConvVersion; v <= kLastConvVersion; ++v) {
        for (bool relu : {false, true}) {
          INFO("K=" << layer.kernel << " " << layer.in_channels << "->" << layer.out_channels << " "
                    << conv_direction_name(direction) << " " << conv_algo_name(ConvAlgo(v)) << " relu " << relu);
          CHECK(conv2d_check_against_cpu(layer, direction, relu, ConvAlgo(v)) == "");
        }
      }
    }
  }
}

TEST_CASE("tune_conv_layer times the valid versions and keeps one of the fastest", "[gpu][tuner]") {
  const ConvShape layer{2, 45, 39, 16, 24, 3};
  const ConvTuning tuning = tune_conv_layer(layer, nullptr);
  const std::string report = describe_tuning(layer, tuning);
  INFO(report);
  CHECK(tuning.timed_batch == 2);
  // One line per direction, each naming the layer, every version and the choice.
  CHECK(std::count(report.begin(), report.end(), '\n') == kConvDirections - 1);
  CHECK_THAT(report, Catch::Contains("conv 3x3 16->24 backward filter: v1 valid, v2 "));
  CHECK_THAT(report, Catch::Contains("-> v"));
  for (int d = 0; d < kConvDirections; ++d) {
    REQUIRE(tuning.trials[d].size() == size_t(kLastConvVersion - kFirstConvVersion + 1));
    double fastest = 0;
    for (const VersionTrial& t : tuning.trials[d]) {
      CHECK(t.valid);
      CHECK((t.version == 1 ? t.ms == 0 : t.ms > 0));  // v1 is validated, not timed
      if (t.ms > 0 && (fastest == 0 || t.ms < fastest)) fastest = t.ms;
    }
    const int chosen = tuning.versions[d];
    REQUIRE(chosen >= 2);
    CHECK(tuning.trials[d][size_t(chosen - 1)].ms <= fastest * 1.03);
  }
}

TEST_CASE("CudaBackend follows the kernel plan it is given and reports it", "[gpu][tuner][backend]") {
  auto backend = test::cuda_backend();
  const std::vector<ConvShape> convs = {{2, 21, 19, 3, 16, 3}, {2, 21, 19, 16, 16, 3}, {2, 21, 19, 16, 1, 1}};

  backend->set_kernel_plan("v2");
  backend->reserve(convs, 2, 21, 1);
  CHECK(backend->kernel_plan() == "1x1:16>1=2,2,2;3x3:3>16=2,2,2;3x3:16>16=2,2,2");

  const std::string explicit_plan = "1x1:16>1=4,3,2;3x3:3>16=2,3,4;3x3:16>16=3,4,2";
  backend->set_kernel_plan(explicit_plan);
  backend->reserve(convs, 2, 21, 1);
  CHECK(backend->kernel_plan() == explicit_plan);
  CHECK_THAT(backend->describe_kernel_plan(), Catch::Contains("conv 3x3 3->16: forward v2"));

  backend->set_kernel_plan("auto");
  backend->reserve(convs, 2, 21, 1);
  const KernelPlanRequest tuned = parse_kernel_plan(backend->kernel_plan());
  CHECK(tuned.plan.size() == 3);
  CHECK_THAT(backend->describe_kernel_plan(), Catch::Contains("ms"));  // how the choice was made

  // A plan that does not name one of the model's layers is refused with a hint.
  backend->set_kernel_plan("3x3:3>16=2,2,2");
  try {
    backend->reserve(convs, 2, 21, 1);
    FAIL("a plan without the 16->16 layer was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK_THAT(e.what(), Catch::Contains("16->16"));
    CHECK_THAT(e.what(), Catch::Contains("HINT"));
  }
}

TEST_CASE("the same kernel plan gives bit-identical training steps, other plans agree to rounding",
          "[gpu][tuner][determinism]") {
  auto backend = test::cuda_backend();
  const StepResult first = train_three_steps(*backend, "v3");
  const StepResult again = train_three_steps(*backend, "v3");
  CHECK(first.first_grads == again.first_grads);  // no float atomics anywhere: the same sums every time
  CHECK(first.params == again.params);
  // Other versions sum in other orders: the first gradient (sums of up to 37*37*2 = 2738 pixel terms, fp32)
  // agrees to ~1e-6 relative; 1e-4 of the largest gradient leaves room and still catches any wrong term.
  double largest = 0;
  for (float g : first.first_grads) largest = std::max(largest, double(std::fabs(g)));
  for (const char* plan : {"v1", "v2", "v4"}) {
    INFO("plan " << plan);
    CHECK(test::max_abs_diff(train_three_steps(*backend, plan).first_grads, first.first_grads) <= 1e-4 * largest);
  }
  // ... and the plan is really followed: v1's backward-filter sums each weight's 2738 terms in double, v3 in
  // float chunks, so across the ~2800 parameter gradients the two cannot all round to the same bits.
  CHECK(train_three_steps(*backend, "v1").first_grads != first.first_grads);
}

}  // namespace fcn
