// conv2d_check_against_cpu (conv2d_validate.cuh): one version on a small problem against the CPU reference.
#include "kernels/cuda/conv2d_validate.cuh"

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/device_buffer.cuh"

namespace fcn {
namespace {

using Host = std::vector<float>;

Host random_values(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Host v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

Host absolute(Host v) {
  for (float& x : v) x = std::fabs(x);
  return v;
}

// "" when got is within 1e-5 * bound of want everywhere, else the first element that is not.
std::string compare(const Host& got, const Host& want, const Host& bound, const char* what) {
  for (size_t i = 0; i < got.size(); ++i) {
    const double error = std::fabs(double(got[i]) - double(want[i]));
    if (!(error <= 1e-5 * bound[i] + 1e-30)) {
      return std::string(what) + "[" + std::to_string(i) + "] is " + std::to_string(got[i]) + ", the CPU reference " +
             std::to_string(want[i]);
    }
  }
  return "";
}

}  // namespace

std::string conv2d_check_against_cpu(const ConvShape& layer, int direction, bool relu, ConvAlgo algo) {
  ConvShape s = layer;
  s.batch = 2;
  s.height = 13;
  s.width = 11;
  std::mt19937 rng(uint32_t(17 + 7 * direction + s.in_channels));
  std::string problem;
  if (direction == 0) {
    const Host in = random_values(s.in_size(), rng), w = random_values(s.weight_size(), rng),
               bias = random_values(s.out_channels, rng);
    Host want(s.out_size(), 0.f), bound(s.out_size(), 0.f);
    conv2d_forward_ref(want.data(), in.data(), w.data(), bias.data(), s);
    conv2d_forward_ref(bound.data(), absolute(in).data(), absolute(w).data(), absolute(bias).data(), s);
    if (relu) {
      for (float& x : want) x = x > 0.f ? x : 0.f;
    }
    DeviceBuffer<float> d_in(in), d_w(w), d_bias(bias), d_out(want.size());
    d_out.poison();
    conv2d_forward_cuda(d_out.get(), d_in.get(), d_w.get(), d_bias.get(), s, relu, algo, 0);
    problem = compare(d_out.download(), want, bound, "out");
  } else if (direction == 1) {
    const Host dout = random_values(s.out_size(), rng), w = random_values(s.weight_size(), rng),
               relu_out = random_values(s.in_size(), rng);
    Host want(s.in_size(), 0.f), bound(s.in_size(), 0.f);
    conv2d_backward_data_ref(want.data(), dout.data(), w.data(), s);
    conv2d_backward_data_ref(bound.data(), absolute(dout).data(), absolute(w).data(), s);
    if (relu) {
      for (size_t i = 0; i < want.size(); ++i) want[i] = relu_out[i] > 0.f ? want[i] : 0.f;
    }
    DeviceBuffer<float> d_dout(dout), d_w(w), d_relu(relu_out), d_din(want.size());
    d_din.poison();
    conv2d_backward_data_cuda(d_din.get(), d_dout.get(), d_w.get(), relu ? d_relu.get() : nullptr, s, algo, 0);
    problem = compare(d_din.download(), want, bound, "din");
  } else {
    const Host dout = random_values(s.out_size(), rng), in = random_values(s.in_size(), rng);
    Host want(s.weight_size(), 0.f), bound(s.weight_size(), 0.f);
    Host want_bias(s.out_channels, 0.f), bound_bias(s.out_channels, 0.f);
    conv2d_backward_filter_ref(want.data(), want_bias.data(), dout.data(), in.data(), s);
    conv2d_backward_filter_ref(bound.data(), bound_bias.data(), absolute(dout).data(), absolute(in).data(), s);
    const size_t workspace_bytes = conv2d_backward_filter_workspace_bytes(s, algo);
    DeviceBuffer<float> d_dout(dout), d_in(in), d_dw(want.size()), d_db(want_bias.size());
    DeviceBuffer<uint8_t> workspace(workspace_bytes);
    d_dw.poison();
    d_db.poison();
    conv2d_backward_filter_cuda(d_dw.get(), d_db.get(), d_dout.get(), d_in.get(), s, algo, workspace.get(),
                                workspace_bytes, 0);
    problem = compare(d_dw.download(), want, bound, "dweight");
    if (problem.empty()) problem = compare(d_db.download(), want_bias, bound_bias, "dbias");
  }
  if (problem.empty()) return "";
  return std::string(conv_algo_name(algo)) + " " + (direction == 0 ? "forward" : direction == 1 ? "backward data" :
         "backward filter") + " disagrees with the CPU reference on B=2 H=13 W=11 Cin=" +
         std::to_string(s.in_channels) + " Cout=" + std::to_string(s.out_channels) + " K=" +
         std::to_string(s.kernel) + ": " + problem;
}

}  // namespace fcn
