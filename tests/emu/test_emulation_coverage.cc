// [coverage] Every __global__ kernel in kernels/cuda and engine/cuda ran on the emulated device during
// the emulated test suite. ctest runs this after gpu_kernels_emulated, which logs each kernel's name on
// its first launch to FCN_EMU_KERNEL_LOG (tests/CMakeLists.txt); a kernel added without a test that
// launches it under emulation fails here, by name.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace fcn {
namespace {

// "fcn_emu::{anonymous}::igemm_kernel<fcn_emu::igemm::Forward<...> >" -> "igemm_kernel"
std::string unqualified(std::string name) {
  const size_t angle = name.find('<');
  if (angle != std::string::npos) name = name.substr(0, angle);
  const size_t colons = name.rfind("::");
  if (colons != std::string::npos) name = name.substr(colons + 2);
  return name;
}

// Kernel name -> the file that defines it, for every __global__ function in the CUDA sources.
std::map<std::string, std::string> kernels_in_sources() {
  const std::regex global(R"(__global__\s+(?:void\s+)?(?:__launch_bounds__\([^)]*\)\s*)?(?:void\s+)?(\w+)\s*\()");
  std::map<std::string, std::string> kernels;
  for (const char* folder : {"kernels/cuda", "engine/cuda"}) {
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(FCN_SOURCE_DIR) / folder)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".cu" && ext != ".cuh") continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      // Without // comments, where kernels appear as examples (kernels/cuda/launch.cuh).
      const std::string source = std::regex_replace(text.str(), std::regex("//[^\n]*"), "");
      for (std::sregex_iterator it(source.begin(), source.end(), global), end; it != end; ++it) {
        kernels[(*it)[1].str()] = std::string(folder) + "/" + entry.path().filename().string();
      }
    }
  }
  return kernels;
}

}  // namespace

TEST_CASE("unqualified strips namespaces and template arguments", "[coverage]") {
  CHECK(unqualified("fcn_emu::{anonymous}::igemm_kernel<fcn_emu::igemm::Forward<64, 64> >") == "igemm_kernel");
  CHECK(unqualified("fcn_emu::adam_kernel") == "adam_kernel");
}

TEST_CASE("every __global__ kernel in the source tree ran under emulation", "[coverage]") {
  const char* log_path = std::getenv("FCN_EMU_KERNEL_LOG");
  REQUIRE(log_path != nullptr);
  std::ifstream log(log_path);
  INFO("kernel log " << log_path << " (written by the gpu_kernels_emulated test)");
  REQUIRE(log.good());
  std::set<std::string> launched;
  for (std::string line; std::getline(log, line);) launched.insert(unqualified(line));

  // Kernels that are never launched on purpose, each with the reason.
  const std::map<std::string, std::string> exempt = {
      {"probe_kernel", "empty; cudaFuncGetAttributes asks whether the build has code for the device"},
  };
  const std::map<std::string, std::string> kernels = kernels_in_sources();
  REQUIRE(kernels.size() >= 15);  // the scan found the kernels at all
  std::string missing;
  for (const auto& [name, file] : kernels) {
    if (launched.count(name) == 0 && exempt.count(name) == 0) missing += "\n  " + name + " (" + file + ")";
  }
  INFO("kernels no emulated test launched:" << missing
       << "\nHINT: add a [gpu] test case that runs them (tests/gpu), or a reason to the exempt list here");
  CHECK(missing.empty());
}

}  // namespace fcn
