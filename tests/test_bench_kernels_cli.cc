// [conv][cli] `fcn bench kernels` as a subprocess (env FCN_BIN, else <build>/fcn): it refuses invalid
// sizes with exit 2 and a HINT line in every build (CPU-only builds refuse everything with exit 2 and say
// that CUDA is missing; CUDA builds without a device say that no device is usable).
#include <catch2/catch.hpp>
#include <string>

#include "tests/cli_runner.h"

TEST_CASE("fcn bench kernels refuses a zero batch with exit 2 and a hint", "[conv][cli]") {
  const fcn::test::CliResult result = fcn::test::run_fcn("bench kernels --batch 0 --size 8 --repeats 1");
  INFO(result.output);
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("HINT:") != std::string::npos);
}

TEST_CASE("fcn bench kernels lists its options", "[conv][cli]") {
  const fcn::test::CliResult result = fcn::test::run_fcn("bench kernels --help");
  INFO(result.output);
  CHECK(result.exit_code == 0);
  for (const char* option : {"--batch", "--size", "--repeats", "--markdown", "--ops"}) {
    CHECK(result.output.find(option) != std::string::npos);
  }
}
