// `fcn bench kernels --device cpu`: every op of the CPU training step at the model's shapes, timed on
// each GEMM path this CPU runs (portable, avx2, avx512; kernels/cpu/gemm.h), beside the FMA peak the
// same run measures for that path (kernels/cpu/fma_peak.h).
//
// Ops, through CpuBackend as the trainer calls them: conv1 (3x3, 3->C) forward and backward-filter (the
// input image needs no gradient), conv2 (3x3, C->C) forward, backward-data and backward-filter, logits
// (1x1, C->classes) forward, backward-data and backward-filter; then sigmoid cross-entropy and Adam,
// which are memory-bound and reported in GB/s. Each op: one untimed run, then the median of `repeats`.
// Outputs are checked between paths: avx512 must match avx2 bit for bit (gemm.h's promise), portable
// within a relative 1e-4 of avx2's largest value.
#pragma once
#include <string>
#include <vector>

namespace fcn {

struct CpuKernelBenchOptions {
  int batch = 8;
  int size = 128;     // square images; 512 works too but takes minutes per path
  int channels = 64;  // hidden width
  int classes = 1;    // logits out
  int repeats = 5;    // timed runs per op and path (the median is reported)
  int threads = 1;    // OpenMP threads (0 = all cores); "% of peak" is against threads x one core's peak
  std::string paths = "all";  // "all" or a comma-separated list of portable, avx2, avx512
  std::string markdown_path;  // when not empty, the table is also written there
};

struct CpuKernelBenchRow {
  std::string op;        // e.g. "conv2 3x3 64->64 fwd"
  std::string path;      // "avx2"
  double ms = 0;         // median
  double gflops = 0;     // 0 for memory-bound ops
  double gbytes = 0;     // minimal bytes moved per run / time, for memory-bound ops
  double peak_share = 0; // gflops / (threads x measured one-core peak of the path), 0 when not known
  std::string check;     // "same bits as avx2", "max diff 3e-07 of 12.5", "reference" or "MISMATCH ..."
};

// Runs the benchmark, prints the table (and writes the markdown), returns the rows. Throws
// std::invalid_argument for unknown or unsupported paths and bad sizes.
std::vector<CpuKernelBenchRow> run_cpu_kernel_benchmarks(const CpuKernelBenchOptions& options);

}  // namespace fcn
