// [cli][info] `fcn info` and `fcn bench step --device cuda` as subprocesses, on whatever machine runs the
// tests: info always exits 0, names the compiled backends, and says whether the GPU is usable and, when
// not, why; bench step on CUDA either runs (a usable GPU) or fails with that reason and a HINT.
#include <catch2/catch.hpp>
#include <string>

#include "tests/cli_runner.h"

namespace {

// The text after `key` up to the end of its line ("" when `key` is missing).
std::string line_after(const std::string& text, const std::string& key) {
  const size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return text.substr(begin, text.find('\n', begin) - begin);
}

}  // namespace

TEST_CASE("fcn info says which CPU GEMM path runs, and FCN_CPU_GEMM forces one or is refused", "[cli][info]") {
  const fcn::test::CliResult forced = fcn::test::run_fcn("info", "FCN_CPU_GEMM=portable");
  INFO(forced.output);
  CHECK(line_after(forced.output, "cpu gemm: ").rfind("portable (best here: ", 0) == 0);
  const fcn::test::CliResult bogus = fcn::test::run_fcn("info", "FCN_CPU_GEMM=sse9");
  INFO(bogus.output);
  CHECK(bogus.exit_code == 0);  // info reports; training would stop with the same message
  CHECK(line_after(bogus.output, "cpu gemm: ") == "unknown CPU GEMM path 'sse9'");
  CHECK(bogus.output.find("HINT: one of portable, avx2, avx512.") != std::string::npos);
}

TEST_CASE("fcn info names the backends, the devices and why a GPU is not usable", "[cli][info]") {
  const fcn::test::CliResult info = fcn::test::run_fcn("info");
  INFO(info.output);
  CHECK(info.exit_code == 0);
  const std::string backends = line_after(info.output, "backends compiled: ");
  CHECK(backends.rfind("cpu", 0) == 0);
  const std::string listed = backends + ",";
  if (listed.find(", cuda,") != std::string::npos) {
    CHECK(info.output.find("cuda devices: ") != std::string::npos);
    CHECK(!line_after(info.output, "nvidia driver library libcuda.so.1: ").empty());
  }
  if (listed.find(", cuda-emu,") != std::string::npos) {
    CHECK(line_after(info.output, "emulated cuda device (--device cuda-emu, slow): ").rfind("fcn.cu emulated device", 0) == 0);
  }
  const std::string gemm = line_after(info.output, "cpu gemm: ");
  CHECK((gemm.rfind("avx512 ", 0) == 0 || gemm.rfind("avx2 ", 0) == 0 || gemm.rfind("portable ", 0) == 0));
  const std::string transports = line_after(info.output, "data parallel over: ");
  CHECK(!transports.empty());
#if defined(FCN_HAVE_MPI)
  CHECK(transports.find("MPI (") != std::string::npos);
#endif
  const std::string usable = line_after(info.output, "gpu usable: ");
  REQUIRE(!usable.empty());
  const std::string picks = line_after(info.output, "--device auto picks: ");
  if (usable == "yes") {
    CHECK(picks.rfind("cuda", 0) == 0);
  } else {
    CHECK(usable.rfind("no: ", 0) == 0);
    CHECK(usable.size() > 10);  // the reason, not just "no"
    CHECK(picks.rfind("cpu", 0) == 0);
  }
}

TEST_CASE("fcn bench step --device cuda runs, or fails saying why the GPU is not usable", "[cli][info]") {
  const bool gpu_usable = line_after(fcn::test::run_fcn("info").output, "gpu usable: ") == "yes";
  const fcn::test::CliResult step =
      fcn::test::run_fcn("bench step --device cuda --size 16 --batch 1 --repeats 1 --warmup 0");
  INFO(step.output);
  if (gpu_usable) {
    CHECK(step.exit_code == 0);
    CHECK(step.output.find("| fcn.cu | cuda") != std::string::npos);
  } else {
    CHECK(step.exit_code == 1);
    CHECK(step.output.find("CUDA is not usable: ") != std::string::npos);
    CHECK(step.output.find("HINT:") != std::string::npos);
  }
}

TEST_CASE("fcn bench step refuses a malformed --conv-kernels on any device", "[cli][info]") {
  const fcn::test::CliResult step =
      fcn::test::run_fcn("bench step --device cpu --size 8 --batch 1 --repeats 1 --conv-kernels v5");
  INFO(step.output);
  CHECK(step.exit_code != 0);
  CHECK(step.output.find("--conv-kernels 'v5'") != std::string::npos);
  CHECK(step.output.find("HINT:") != std::string::npos);
}
