// ProgressLine's plain lines (stdout not a terminal): about ten per run at round step numbers.
#include <catch2/catch.hpp>

#include <string>

#include "engine/progress.h"
#include "tests/cli_runner.h"
#include "tests/tiny_export.h"

TEST_CASE("plain_line_interval: total / 10 rounded down to 1, 2 or 5 times a power of ten", "[progress]") {
  CHECK(fcn::plain_line_interval(0) == 1);
  CHECK(fcn::plain_line_interval(6) == 1);
  CHECK(fcn::plain_line_interval(40) == 2);
  CHECK(fcn::plain_line_interval(100) == 10);
  CHECK(fcn::plain_line_interval(300) == 20);
  CHECK(fcn::plain_line_interval(1000) == 100);
  CHECK(fcn::plain_line_interval(7000) == 500);
  CHECK(fcn::plain_line_interval(INT64_MAX) == 500000000000000000);  // no overflow on the way
}

TEST_CASE("fcn train into a pipe prints a step line every few steps, not one per step", "[progress][cli]") {
  const std::string dir = fcn::test::temp_dir("cli_progress");
  fcn::test::write_tiny_export(dir, 6);
  const auto run = fcn::test::run_fcn("train --export " + dir + "/export.json --device cpu --threads 1 --size 8 "
                                      "--batch 2 --channels 2 --steps 100 --eval-every 0 --run-dir " + dir + "/run");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  int lines = 0;
  for (int step = 1; step <= 100; ++step) {
    const bool printed = run.output.find("step " + std::to_string(step) + "/100 |") != std::string::npos;
    CHECK(printed == (step == 1 || step % 10 == 0));
    lines += printed;
  }
  CHECK(lines == 11);
  CHECK(run.output.find('\r') == std::string::npos);  // no terminal control in a log
}
