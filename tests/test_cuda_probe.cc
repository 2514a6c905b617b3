// [gpu][probe] What `fcn info` reports and how make_backend reacts to it, on any machine: with no usable
// GPU there is always a reason and --device cuda fails with a HINT; with one, the CUDA backend is picked.
// Runs in fcn_tests (everywhere), so it covers both CPU-only builds and CUDA builds without a device.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "engine/backend.h"
#if defined(FCN_HAVE_CUDA)
#include "engine/cuda/cuda_backend.h"
#endif

namespace fcn {

TEST_CASE("probe_backends explains an unusable GPU and make_backend follows it", "[gpu][probe]") {
  const BackendReport report = probe_backends();
#if defined(FCN_HAVE_CUDA)
  CHECK(report.cuda_compiled);
#else
  CHECK_FALSE(report.cuda_compiled);
#endif
  CHECK(report.device_names.size() <= size_t(report.cuda_devices));
  if (report.cuda_devices == 0) CHECK_FALSE(report.cuda_unusable_reason.empty());

  const BackendChoice automatic = make_backend("auto", 1);
  REQUIRE(automatic.backend != nullptr);
  CHECK_FALSE(automatic.note.empty());
  if (report.cuda_unusable_reason.empty()) {
    CHECK(automatic.backend->is_gpu());
    CHECK(make_backend("cuda", 1).backend->is_gpu());
  } else {
    CHECK_FALSE(automatic.backend->is_gpu());
    CHECK_THROWS_WITH(make_backend("cuda", 1), Catch::Contains("HINT"));
  }
  CHECK_THROWS_AS(make_backend("tpu", 1), std::invalid_argument);
}

#if defined(FCN_HAVE_CUDA)
TEST_CASE("make_cuda_backend returns null with a reason exactly when the probe finds no usable device",
          "[gpu][probe]") {
  const BackendReport report = probe_cuda_backend();
  std::string why;
  const std::unique_ptr<Backend> backend = make_cuda_backend(&why);
  if (report.cuda_unusable_reason.empty()) {
    REQUIRE(backend != nullptr);
    CHECK(backend->name().rfind("cuda (", 0) == 0);
  } else {
    CHECK(backend == nullptr);
    CHECK(why == report.cuda_unusable_reason);
  }
}
#endif

}  // namespace fcn
