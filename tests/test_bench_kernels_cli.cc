// [conv][cli] `fcn bench kernels` as a subprocess (env FCN_BIN, else <build>/fcn): it refuses invalid
// sizes with exit 2 and a HINT line in every build; --device cpu times the CPU ops on every GEMM path
// and checks them against each other.
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

TEST_CASE("fcn bench kernels --device cpu prints every op on every path, checked against avx2", "[conv][cli]") {
  const fcn::test::CliResult result =
      fcn::test::run_fcn("bench kernels --device cpu --batch 1 --size 9 --channels 16 --classes 2 --repeats 1");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(result.output.find("one-core FMA peak measured now:") != std::string::npos);
  for (const char* op : {"conv1 3x3 3->16 fwd", "conv1 3x3 3->16 filter", "conv2 3x3 16->16 fwd", "conv2 3x3 16->16 data",
                         "conv2 3x3 16->16 filter", "logits 1x1 16->2 fwd", "logits 1x1 16->2 data",
                         "logits 1x1 16->2 filter", "sigmoid_ce fwd+bwd", "adam ("}) {
    CHECK(result.output.find(op) != std::string::npos);
  }
  CHECK(result.output.find("portable") != std::string::npos);
  CHECK(result.output.find("MISMATCH") == std::string::npos);
}

TEST_CASE("fcn bench kernels --device cpu refuses an unknown path with exit 2 and a hint", "[conv][cli]") {
  const fcn::test::CliResult result = fcn::test::run_fcn("bench kernels --device cpu --size 8 --paths avx1024");
  INFO(result.output);
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("unknown CPU GEMM path 'avx1024'") != std::string::npos);
  CHECK(result.output.find("HINT:") != std::string::npos);
}
