// Memory estimates before allocation: the estimate matches what a Model allocates, a model past the
// available memory is refused with numbers and a HINT, and the host's available memory is readable.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/cpu_backend.h"
#include "engine/memory_budget.h"
#include "engine/model.h"
#include "tests/cli_runner.h"
#include "tests/tiny_export.h"

using namespace fcn;

namespace {

// A CPU backend that reports a fixed amount of available memory.
class SmallBackend : public CpuBackend {
 public:
  explicit SmallBackend(int64_t available) : CpuBackend(1), available_(available) {}
  int64_t memory_available() const override { return available_; }

 private:
  int64_t available_;
};

}  // namespace

TEST_CASE("format_bytes picks a binary unit with three significant digits", "[memory]") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(3.1 * 1024) == "3.10 KiB");
  CHECK(format_bytes(2.25 * 1024 * 1024 * 1024) == "2.25 GiB");
  CHECK(format_bytes(81.9 * 1099511627776.0) == "81.9 TiB");
  CHECK(format_bytes(300.0 * 1048576) == "300 MiB");
}

TEST_CASE("model_memory is what a Model allocates, and stays finite past int64", "[memory]") {
  ModelConfig config;
  config.channels = 8;
  config.classes = 2;
  CpuBackend backend(1);
  for (int batch : {1, 3}) {
    Model model(backend, config, batch, 12, 20);
    const ModelMemory m = model_memory(config, batch, 12, 20);
    CHECK(m.total() == double(model.bytes_allocated()));
    CHECK(m.activations == m.per_image * batch);
  }
  const ModelMemory huge = model_memory(ModelConfig{}, 1 << 20, 1 << 20, 1 << 20);  // ~2^64 * 1000 bytes
  CHECK(huge.total() > 1e21);
  CHECK(std::isfinite(huge.total()));
}

TEST_CASE("check_model_fits refuses a model past the available memory, with the estimate and a HINT", "[memory]") {
  ModelConfig config;  // the seed's model: 2 x 64 channels
  const double one_image = model_memory(config, 1, 64, 64).total();
  SmallBackend room_for_three(int64_t(3.5 * one_image));
  CHECK_NOTHROW(check_model_fits(room_for_three, config, 3, 64, 64, "--batch 3 at --size 64"));
  CHECK_THROWS_WITH(check_model_fits(room_for_three, config, 8, 64, 64, "--batch 8 at --size 64"),
                    Catch::Contains("the model needs about") && Catch::Contains("for --batch 8 at --size 64") &&
                        Catch::Contains("but the CPU has") &&
                        Catch::Contains("HINT: at this size at most 3 images fit in one batch"));
  SmallBackend tiny(1024);
  CHECK_THROWS_WITH(check_model_fits(tiny, config, 1, 64, 64, "--size 64"),
                    Catch::Contains("HINT: one image at this size alone needs"));
  SmallBackend unknown(-1);
  CHECK_NOTHROW(check_model_fits(unknown, config, 1 << 20, 1 << 20, 1 << 20, "anything"));
}

TEST_CASE("host_memory_available reads a positive amount on Linux", "[memory]") {
  const int64_t available = host_memory_available();
  CHECK(available > 0);
  CHECK(available < int64_t(1) << 50);  // a number of bytes, not a limit's "unlimited" marker
  CHECK(CpuBackend(1).memory_available() > 0);
}

TEST_CASE("fcn train refuses --size and --batch past the memory before allocating", "[memory][cli]") {
  const std::string dir = test::temp_dir("cli_memory");
  test::write_tiny_export(dir, 6);
  const std::string args = "train --export " + dir + "/export.json --device cpu --steps 1 --run-dir " + dir + "/run";
  const auto size = test::run_fcn(args + " --size 100000");
  CHECK(size.exit_code == 1);
  CHECK_THAT(size.output, Catch::Contains("for --batch 8 at --size 100000") &&
                              Catch::Contains("HINT: one image at this size alone needs"));
  CHECK_THAT(size.output, !Catch::Contains("bad_alloc"));
  const auto batch = test::run_fcn(args + " --size 512 --batch 1000000");
  CHECK(batch.exit_code == 1);
  CHECK_THAT(batch.output, Catch::Contains("images fit in one batch: lower --batch"));
}
