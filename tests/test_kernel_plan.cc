// Kernel plans (engine/kernel_plan.h): parsing every accepted form, refusing the rest with a hint,
// formatting that parses back to the same plan, and the choice of the fastest valid version.
#include <catch2/catch.hpp>

#include "engine/kernel_plan.h"
#include "engine/trainer.h"

using namespace fcn;

TEST_CASE("parse_kernel_plan reads auto, one version, and a plan text", "[kernel_plan]") {
  CHECK(parse_kernel_plan("auto").mode == KernelPlanRequest::Mode::kAuto);

  const KernelPlanRequest uniform = parse_kernel_plan("v4");
  CHECK(uniform.mode == KernelPlanRequest::Mode::kUniform);
  CHECK(uniform.uniform_version == 4);

  const KernelPlanRequest plan = parse_kernel_plan("3x3:3>64=3,3,4;1x1:64>2=1,2,3");
  REQUIRE(plan.mode == KernelPlanRequest::Mode::kExplicit);
  REQUIRE(plan.plan.size() == 2);
  CHECK(plan.plan.at(ConvKernelKey{3, 3, 64}) == ConvVersions{3, 3, 4});
  CHECK(plan.plan.at(ConvKernelKey{1, 64, 2}) == ConvVersions{1, 2, 3});
}

TEST_CASE("parse_kernel_plan refuses malformed plans and says what to write", "[kernel_plan]") {
  const char* bad[] = {"", "v0", "v5", "fast", "3x3:3>64=3,3", "3x3:3>64=3,3,4,", "3x3:3>64=3,3,9",
                       "3x5:3>64=3,3,3", "2x2:3>64=3,3,3", "3x3:0>64=3,3,3", "3x3:3>64=3,3,3;3x3:3>64=2,2,2",
                       "3x3:3>64=3,3,3;", "3x3:3>64=3,3,3 ", "3x3:3> 64=3,3,3", "x3:3>64=3,3,3",
                       // past int's range: sscanf's %d wrapped this one into the valid 3x3:3>64=3,3,3
                       "4294967299x4294967299:3>64=3,3,3", "3x3:3>99999999999=3,3,3"};
  for (const char* text : bad) {
    INFO("plan '" << text << "'");
    try {
      parse_kernel_plan(text);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK_THAT(e.what(), Catch::Contains("--conv-kernels '" + std::string(text) + "'"));
      CHECK_THAT(e.what(), Catch::Contains("HINT"));
    }
  }
  CHECK_THROWS_WITH(parse_kernel_plan("4294967299x4294967299:3>64=3,3,3"), Catch::Contains("numbers must fit an int"));
}

TEST_CASE("parse_kernel_plan quotes other bytes as hex escapes, so the message stays whole", "[kernel_plan]") {
  // A checkpoint's kernel_plan is any JSON string: a NUL in it cut what() before the HINT, a newline split it.
  const std::string with_nul("3x3:3>64=3,3,3\0;1x1:64>1=3,3,3", 30);
  CHECK_THROWS_WITH(parse_kernel_plan(with_nul),
                    Catch::Contains("'3x3:3>64=3,3,3\\x00;1x1:64>1=3,3,3'") && Catch::Contains("\nHINT: use auto"));
  CHECK_THROWS_WITH(parse_kernel_plan("v1\nv2"), Catch::StartsWith("--conv-kernels 'v1\\x0av2': "));
  // A long text is quoted in part.
  CHECK_THROWS_WITH(parse_kernel_plan(std::string(5000, '9')), Catch::Contains(std::string(120, '9') + "...'"));
}

TEST_CASE("format_kernel_plan writes what parse_kernel_plan reads back", "[kernel_plan]") {
  ConvPlan plan;
  plan[ConvKernelKey{3, 64, 64}] = {3, 3, 3};
  plan[ConvKernelKey{3, 3, 64}] = {2, 4, 4};
  plan[ConvKernelKey{1, 64, 1}] = {4, 3, 1};
  const std::string text = format_kernel_plan(plan);
  CHECK(text == "1x1:64>1=4,3,1;3x3:3>64=2,4,4;3x3:64>64=3,3,3");  // keys in ascending order
  CHECK(parse_kernel_plan(text).plan == plan);
  CHECK(format_kernel_plan({}).empty());
  CHECK(describe_kernel_plan(plan).find("conv 3x3 3->64: forward v2, backward data v4, backward filter v4") !=
        std::string::npos);
  CHECK(conv_kernel_key(ConvShape{8, 512, 512, 3, 64, 3}) == ConvKernelKey{3, 3, 64});
}

TEST_CASE("pick_fastest_version keeps the fastest valid version, ties to the higher one", "[kernel_plan]") {
  // v4 is fastest but invalid: v3 wins.
  CHECK(pick_fastest_version({{1, true, 0}, {2, true, 2.0}, {3, true, 0.9}, {4, false, 0.5}}) == 3);
  // v2 and v3 within 3%: the higher-numbered wins, whichever measured lower this time.
  CHECK(pick_fastest_version({{2, true, 1.00}, {3, true, 1.02}}) == 3);
  CHECK(pick_fastest_version({{2, true, 1.02}, {3, true, 1.00}}) == 3);
  // Outside the tie band the faster one wins even if lower-numbered.
  CHECK(pick_fastest_version({{2, true, 1.00}, {3, true, 1.10}}) == 2);
  // Nothing timed: the lowest valid version (v1, the plain kernel, is never timed).
  CHECK(pick_fastest_version({{1, true, 0}, {2, false, 0}, {3, false, 0}}) == 1);
  // Nothing valid: 0, which the tuner turns into an error.
  CHECK(pick_fastest_version({{1, false, 0}, {2, false, 0}}) == 0);
  CHECK(pick_fastest_version({}) == 0);
}

TEST_CASE("a resume reuses the checkpoint's kernel plan unless another one is asked for", "[kernel_plan]") {
  const std::string saved = "3x3:3>64=2,3,4";
  CHECK(kernel_plan_for_run("auto", saved) == saved);   // resume: same summation order as before
  CHECK(kernel_plan_for_run("auto", "") == "auto");     // fresh run, or a checkpoint written on the CPU
  CHECK(kernel_plan_for_run("v2", saved) == "v2");      // asked for explicitly: the user's choice wins
  CHECK_THROWS_AS(kernel_plan_for_run("v7", saved), std::invalid_argument);
  // A damaged plan in the checkpoint is named as the checkpoint's, with a way past it.
  try {
    kernel_plan_for_run("auto", "3x3:3>64=2,3");
    FAIL("a damaged checkpoint plan was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK_THAT(e.what(), Catch::Contains("the checkpoint's kernel_plan"));
    CHECK_THAT(e.what(), Catch::Contains("HINT: pass --conv-kernels v3"));
  }
  CHECK(kernel_plan_for_run("v3", "3x3:3>64=2,3") == "v3");
}
