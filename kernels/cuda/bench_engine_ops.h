// The non-convolution ops of a training step in `fcn bench kernels` (kernels/cuda/bench_kernels.h):
// resize of a packed batch (images and targets), sigmoid cross-entropy with its gradient, Adam and
// weight decay. Each is checked against the CPU reference once, then timed; the table's GB/s column
// uses the minimal bytes each op must move (against ~4.3 TB/s measured copy bandwidth on an H200).
// Plain C++ header; call register_engine_op_benchmarks() once before run_kernel_benchmarks().
#pragma once

namespace fcn {

void register_engine_op_benchmarks();

}  // namespace fcn
