// engine/cpu_kernel_bench and kernels/cpu/fma_peak: the CPU benchmark's rows and checks at a tiny shape,
// and the measured FMA peak (0 where there is nothing to measure).
#include <catch2/catch.hpp>

#include <string>

#include "engine/cpu_kernel_bench.h"
#include "kernels/cpu/fma_peak.h"
#include "kernels/cpu/gemm.h"

using namespace fcn;

TEST_CASE("measure_fma_peak_gflops: a positive rate for every vector path this CPU runs", "[ops][cpu][bench]") {
  CHECK(measure_fma_peak_gflops(GemmPath::kPortable, 0.01) == 0.0);
  for (GemmPath path : {GemmPath::kAvx2, GemmPath::kAvx512}) {
    INFO(gemm_path_name(path));
    const double peak = measure_fma_peak_gflops(path, 0.02);
    if (!gemm_path_supported(path)) {
      CHECK(peak == 0.0);
      continue;
    }
    // Any core with these instructions does several GFLOP/s even when shared: 12 FMA chains of 8 or 16
    // lanes at 1 GHz with one FMA per cycle is 16 GFLOP/s.
    CHECK(peak > 1.0);
    CHECK(peak < 1000.0);  // one core: a wrong flop count (or a loop optimised away) shows up here
  }
}

TEST_CASE("run_cpu_kernel_benchmarks: one row per op and path, the paths agreeing", "[ops][cpu][bench]") {
  CpuKernelBenchOptions options;
  options.batch = 1;
  options.size = 7;
  options.channels = 8;
  options.classes = 1;
  options.repeats = 1;
  options.paths = "portable";
  const std::vector<CpuKernelBenchRow> portable = run_cpu_kernel_benchmarks(options);
  REQUIRE(portable.size() == 10);  // 8 conv directions, sigmoid CE, Adam
  CHECK(portable[0].op == "conv1 3x3 3->8 fwd");
  CHECK(portable[0].check == "reference");
  CHECK(portable[0].gflops > 0);
  CHECK(portable[8].gbytes > 0);

  options.paths = "all";
  const std::vector<CpuKernelBenchRow> all = run_cpu_kernel_benchmarks(options);
  int paths = 0;
  for (GemmPath path : {GemmPath::kPortable, GemmPath::kAvx2, GemmPath::kAvx512}) paths += gemm_path_supported(path);
  REQUIRE(all.size() == size_t(8 * paths + 2));
  for (const CpuKernelBenchRow& row : all) {
    INFO(row.op << " " << row.path << ": " << row.check);
    CHECK(row.check.rfind("MISMATCH", 0) == std::string::npos);
    if (row.path == "avx512") CHECK(row.check == "same bits as avx2");
    if (row.path == "avx2" || row.path == "avx512") CHECK(row.peak_share > 0);
  }
  options.paths = "avx2,bogus";
  CHECK_THROWS_WITH(run_cpu_kernel_benchmarks(options), Catch::Contains("unknown CPU GEMM path 'bogus'"));
}
