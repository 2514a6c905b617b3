// Test helper: runs the fcn binary (path from the FCN_BIN environment variable, which ctest sets) with
// arguments and captures its exit code and combined output.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fcn::test {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline std::string fcn_binary() {
  const char* bin = std::getenv("FCN_BIN");
  return bin ? bin : std::string(FCN_BINARY_DIR) + "/fcn";
}

// env: shell assignments put before the command, e.g. "FCN_CPU_GEMM=avx2".
inline CliResult run_fcn(const std::string& args, const std::string& env = "") {
  CliResult result;
  const std::string command = (env.empty() ? "" : env + " ") + fcn_binary() + " " + args + " 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace fcn::test
