// engine/step_estimate: the step's conv FLOPs, the measured estimate, and the note `fcn train` prints on
// the CPU at the default 512x512 (also from the outside: it appears without --size, not with it).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "engine/cpu_backend.h"
#include "engine/step_estimate.h"
#include "tests/cli_runner.h"
#include "tests/tiny_export.h"

using namespace fcn;

TEST_CASE("step_conv_flops counts forward and backward-filter of every conv, backward-data after the first",
          "[train][estimate]") {
  ModelConfig seed;  // 3 -> 64 -> 64 -> 1
  // Per direction at batch 1, 10x10: conv1 2*100*27*64, conv2 2*100*576*64, logits 2*100*64*1.
  const double expected = 2 * 345600.0 + 3 * 7372800.0 + 3 * 12800.0;
  CHECK(step_conv_flops(conv_shapes(seed, 1, 10)) == expected);
}

TEST_CASE("estimate_step_seconds: positive, and four times the pixels cost four times the time", "[train][estimate]") {
  CpuBackend backend(1);
  ModelConfig model;
  model.channels = 8;
  const double at_32 = estimate_step_seconds(backend, model, 2, 32);
  CHECK(at_32 > 0);
  CHECK(std::isfinite(at_32));
  // The probe measures a rate; the same rate over 4x the FLOPs (within the probe's timing noise).
  const double at_64 = estimate_step_seconds(backend, model, 2, 64);
  CHECK(at_64 / at_32 > 1.0);
  CHECK(at_64 / at_32 < 16.0);
}

TEST_CASE("slow_size_note: nothing below 256, else minutes per 100 steps and the flags", "[train][estimate]") {
  CHECK(slow_size_note(128, 8, 1.0, 1.0).empty());
  const std::string note = slow_size_note(512, 8, 6.0, 0.4);
  CHECK(note.rfind("note: training on the CPU at 512x512 (the default), batch 8: about 10 min per 100 steps", 0) == 0);
  CHECK(note.find("at 128x128 about 0.7 min") != std::string::npos);
  CHECK(note.find("HINT: pass --size 128") != std::string::npos);
}

TEST_CASE("fcn train on the CPU says what the default 512x512 costs, unless --size was given", "[cli][estimate]") {
  const std::string dir = test::temp_dir("cli_estimate");
  test::write_tiny_export(dir, 4);
  const std::string base = "train --export " + dir + "/export.json --device cpu --threads 1 --batch 1 --channels 2 "
                           "--steps 0 --quiet --run-dir " + dir + "/run";
  const test::CliResult defaulted = test::run_fcn(base);
  INFO(defaulted.output);
  CHECK(defaulted.exit_code == 0);
  CHECK(defaulted.output.find("note: training on the CPU at 512x512 (the default)") != std::string::npos);
  const test::CliResult chosen = test::run_fcn(base + " --size 512");
  INFO(chosen.output);
  CHECK(chosen.exit_code == 0);
  CHECK(chosen.output.find("note: training on the CPU") == std::string::npos);
}
