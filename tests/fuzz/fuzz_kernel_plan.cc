// Feeds any bytes, as the text of --conv-kernels, to parse_kernel_plan ("auto", "v1".."v4", or a plan as
// "3x3:3>64=3,3,4;1x1:64>1=3,3,3").
// Asserts beyond "no crash": a failure is only a std::invalid_argument whose message quotes the option and
// ends in a HINT; a uniform plan names a version in 1..4; an explicit plan has at least one layer, each
// with an odd kernel, channel counts of at least 1 and versions in 1..4, and format_kernel_plan writes it
// as a text that parses back to the same plan.
#include <stdexcept>
#include <string>

#include "engine/kernel_plan.h"
#include "tests/fuzz/harness.h"

namespace {

using fcn::KernelPlanRequest;
using fcn::fuzz::require;

bool valid_version(int v) { return v >= fcn::kFirstConvVersion && v <= fcn::kLastConvVersion; }

KernelPlanRequest parse(const std::string& text, bool* failed) {
  KernelPlanRequest request;
  const auto error = fcn::fuzz::failure_of<std::invalid_argument>("parse_kernel_plan", "--conv-kernels '",
                                                                   [&] { request = fcn::parse_kernel_plan(text); });
  if (error) require(std::string(error->what()).find("\nHINT: ") != std::string::npos, "parse_kernel_plan: no HINT");
  *failed = error.has_value();
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  bool failed = false;
  const KernelPlanRequest request = parse(text, &failed);
  if (failed) return 0;
  switch (request.mode) {
    case KernelPlanRequest::Mode::kAuto:
      require(text == "auto", "parse_kernel_plan: '" + text + "' read as auto");
      return 0;
    case KernelPlanRequest::Mode::kUniform:
      require(valid_version(request.uniform_version), "parse_kernel_plan: uniform version " +
                                                          std::to_string(request.uniform_version));
      return 0;
    case KernelPlanRequest::Mode::kExplicit:
      break;
  }
  require(!request.plan.empty(), "parse_kernel_plan: an explicit plan without a layer, from '" + text + "'");
  for (const auto& [key, versions] : request.plan) {
    require(key.kernel >= 1 && key.kernel % 2 == 1 && key.in_channels >= 1 && key.out_channels >= 1,
            "parse_kernel_plan: a layer " + std::to_string(key.kernel) + ":" + std::to_string(key.in_channels) + ">" +
                std::to_string(key.out_channels) + " from '" + text + "'");
    for (int v : versions) require(valid_version(v), "parse_kernel_plan: version " + std::to_string(v));
  }
  const std::string formatted = fcn::format_kernel_plan(request.plan);
  const KernelPlanRequest again = parse(formatted, &failed);
  require(!failed && again.mode == KernelPlanRequest::Mode::kExplicit && again.plan == request.plan,
          "format_kernel_plan wrote '" + formatted + "', which does not parse back to the plan of '" + text + "'");
  return 0;
}
