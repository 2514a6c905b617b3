// The cuDNN baseline under emulation: cuDNN is a closed library for real GPUs, so the emulated device
// has no cuDNN, and the convolution entry points (kernels/cuda/conv2d_cudnn.cuh) say so. The two weight
// transposes are our own kernels and run as on a GPU. Compiled through the emulation prelude like the
// CUDA sources, so they land in the same namespace as the emulated kernels.
#include <stdexcept>

#include "kernels/cuda/conv2d_cudnn.cuh"
#include "kernels/cuda/transpose.cuh"

namespace fcn::cudnn_baseline {

namespace {
[[noreturn]] void unavailable(const char* entry) {
  throw std::runtime_error(std::string("cudnn_baseline::") + entry +
                           ": cuDNN is not available on the emulated CUDA device (it is a closed library for "
                           "real GPUs)\nHINT: the emulator runs our own kernels, versions 1 and up; measure "
                           "against cuDNN on a GPU");
}
}  // namespace

void weight_to_krsc(float* krsc, const float* hwio, const ConvShape& s, cudaStream_t stream) {
  transpose_cuda(krsc, hwio, s.kernel * s.kernel * s.in_channels, s.out_channels, stream);
}
void weight_from_krsc(float* hwio, const float* krsc, const ConvShape& s, cudaStream_t stream) {
  transpose_cuda(hwio, krsc, s.out_channels, s.kernel * s.kernel * s.in_channels, stream);
}
void forward_krsc(float*, const float*, const float*, const float*, const ConvShape&, bool, cudaStream_t) {
  unavailable("forward_krsc");
}
void backward_data_krsc(float*, const float*, const float*, const float*, const ConvShape&, cudaStream_t) {
  unavailable("backward_data_krsc");
}
void backward_filter_krsc(float*, float*, const float*, const float*, const ConvShape&, cudaStream_t) {
  unavailable("backward_filter_krsc");
}
void forward_hwio(float*, const float*, const float*, const float*, const ConvShape&, bool, cudaStream_t) {
  unavailable("forward_hwio");
}
void backward_data_hwio(float*, const float*, const float*, const float*, const ConvShape&, cudaStream_t) {
  unavailable("backward_data_hwio");
}
void backward_filter_hwio(float*, float*, const float*, const float*, const ConvShape&, cudaStream_t) {
  unavailable("backward_filter_hwio");
}

}  // namespace fcn::cudnn_baseline
