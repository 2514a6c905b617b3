// [conv][cli] `fcn bench kernels` as a subprocess (env FCN_BIN, else <build>/fcn): it refuses invalid
// sizes with exit 2 and a HINT line in every build (CPU-only builds refuse everything with exit 2 and say
// that CUDA is missing; CUDA builds without a device say that no device is usable).
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string fcn_binary() {
  const char* env = std::getenv("FCN_BIN");
  return env != nullptr && *env != '\0' ? env : FCN_BINARY_DIR "/fcn";
}

// Runs `fcn <args>` with stderr folded into stdout; returns the exit code and the text.
int run_fcn(const std::string& args, std::string& output) {
  const std::string command = "'" + fcn_binary() + "' " + args + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("fcn bench kernels refuses a zero batch with exit 2 and a hint", "[conv][cli]") {
  std::string output;
  const int code = run_fcn("bench kernels --batch 0 --size 8 --repeats 1", output);
  INFO(output);
  CHECK(code == 2);
  CHECK(output.find("HINT:") != std::string::npos);
}

TEST_CASE("fcn bench kernels lists its options", "[conv][cli]") {
  std::string output;
  const int code = run_fcn("bench kernels --help", output);
  INFO(output);
  CHECK(code == 0);
  for (const char* option : {"--batch", "--size", "--repeats", "--markdown", "--ops"}) {
    CHECK(output.find(option) != std::string::npos);
  }
}
