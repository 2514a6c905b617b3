// [gpu][nccl] The NCCL half of data-parallel training: NCCL itself on this machine's devices, the NCCL
// GradientReducer (engine/cuda/nccl_reducer.h) and the --dist-init file: Collectives
// (engine/cuda/nccl_collectives.h). One process: the reducer and the collectives run as a single rank
// (their set-up, stream ordering, id file and deadlines); the sum across ranks is checked over two
// devices of this process where the machine has two (skipped visibly otherwise). Builds without NCCL,
// and the emulated device (tests/CMakeLists.txt leaves this file out of it), have one case saying so.
#include <catch2/catch.hpp>

#if defined(FCN_HAVE_NCCL) && !defined(FCN_CUDA_EMULATION)
#include <cuda_runtime.h>
#include <nccl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/cuda/nccl_collectives.h"
#include "engine/cuda/nccl_common.cuh"
#include "engine/cuda/nccl_reducer.h"
#include "engine/dist/collectives.h"
#include "kernels/cuda/transpose.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {
namespace {

// The message of the E that f throws, or "(no exception)" / "(another exception: ...)".
template <class E, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(another exception: ") + e.what() + ")";
  }
  return "(no exception)";
}

// A fresh path for an id file, removed first.
std::string temp_id_path(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("fcn_test_nccl_" + std::to_string(getpid()) + "_" + name + ".id");
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + ".tmp");
  return path.string();
}

}  // namespace

TEST_CASE("NCCL over one device: all-reduce leaves a buffer unchanged, all-gather gives it back", "[gpu][nccl]") {
  INFO(nccl_version_text());
  CUDA_CHECK(cudaSetDevice(0));
  const int device = 0;
  ncclComm_t comm = nullptr;
  NCCL_CHECK(ncclCommInitAll(&comm, 1, &device), "a one-device communicator");
  cudaStream_t stream = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  const size_t n = 1000003;  // odd: no multiple of NCCL's chunks
  const std::vector<float> values = test::random_floats(n, -4.f, 4.f, 11);
  DeviceBuffer<float> data(values), gathered(n);
  gathered.poison();
  NCCL_CHECK(ncclAllReduce(data.get(), data.get(), n, ncclFloat32, ncclSum, comm, stream), "all-reduce");
  NCCL_CHECK(ncclAllGather(data.get(), gathered.get(), n, ncclFloat32, comm, stream), "all-gather");
  CUDA_CHECK(cudaStreamSynchronize(stream));
  CHECK(data.download() == values);
  CHECK(gathered.download() == values);

  CUDA_CHECK(cudaStreamDestroy(stream));
  NCCL_CHECK(ncclCommDestroy(comm), "destroying the communicator");
}

TEST_CASE("the NCCL GradientReducer on one rank sums in place, ordered against the compute stream",
          "[gpu][nccl]") {
  CUDA_CHECK(cudaSetDevice(0));
  cudaStream_t compute = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&compute, cudaStreamNonBlocking));
  {
    const std::unique_ptr<Collectives> single = make_single_process_collectives();
    const std::unique_ptr<GradientReducer> reducer = make_nccl_gradient_reducer(compute, *single, 60.0);
    INFO(reducer->describe());
    CHECK(reducer->describe().find("NCCL") != std::string::npos);

    // Two "layers" of gradients, [rows, cols] in all: written by a kernel on the compute stream, summed
    // last layer first, then read by a kernel and a copy queued on the compute stream after wait().
    const int rows = 301, cols = 257;
    const int64_t n = int64_t(rows) * cols, first = 40000;
    DeviceBuffer<float> reference{size_t(n)}, grads{size_t(n)}, transposed{size_t(n)};
    fill_uniform_cuda(reference.get(), n, 5, -1.f, 1.f, nullptr);
    const std::vector<float> want = reference.download();
    grads.poison();
    transposed.poison();
    for (int round = 0; round < 3; ++round) {  // the events are reused from step to step
      INFO("round " << round);
      fill_uniform_cuda(grads.get(), n, 5, -1.f, 1.f, compute);
      reducer->reduce_async(grads.get() + first, n - first, "layer 2");
      reducer->reduce_async(grads.get(), first, "layer 1");
      reducer->reduce_async(grads.get(), 0, "an empty range");  // nothing to do
      reducer->wait();
      transpose_cuda(transposed.get(), grads.get(), rows, cols, compute);
      std::vector<float> copied(static_cast<size_t>(n));
      CUDA_CHECK(cudaMemcpyAsync(copied.data(), grads.get(), size_t(n) * sizeof(float), cudaMemcpyDeviceToHost,
                                 compute));
      CUDA_CHECK(cudaStreamSynchronize(compute));
      CHECK(copied == want);
      const std::vector<float> got = transposed.download();
      bool same = true;
      for (int r = 0; r < rows && same; ++r)
        for (int c = 0; c < cols && same; ++c) same = got[size_t(c) * rows + r] == want[size_t(r) * cols + c];
      CHECK(same);
    }
    reducer->wait();  // nothing queued: a no-op
  }
  CUDA_CHECK(cudaStreamDestroy(compute));
}

TEST_CASE("NCCL over two devices sums two buffers exactly", "[gpu][nccl]") {
  int devices = 0;
  CUDA_CHECK(cudaGetDeviceCount(&devices));
  if (devices < 2) {
    WARN("skipped: the two-device NCCL sum needs 2 CUDA devices, this machine has " << devices);
    return;
  }
  const int list[2] = {0, 1};
  ncclComm_t comms[2] = {};
  NCCL_CHECK(ncclCommInitAll(comms, 2, list), "a two-device communicator");
  const size_t n = 500009;
  const std::vector<float> a = test::random_floats(n, -3.f, 3.f, 21), b = test::random_floats(n, -3.f, 3.f, 22);
  std::vector<float> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = a[i] + b[i];  // one rounding, the same in either order

  float* data[2] = {};
  cudaStream_t streams[2] = {};
  for (int d = 0; d < 2; ++d) {
    CUDA_CHECK(cudaSetDevice(d));
    CUDA_CHECK(cudaMalloc(&data[d], n * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(data[d], (d == 0 ? a : b).data(), n * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaStreamCreateWithFlags(&streams[d], cudaStreamNonBlocking));
  }
  // One thread driving two devices: the calls go in one group.
  NCCL_CHECK(ncclGroupStart(), "group start");
  for (int d = 0; d < 2; ++d) {
    NCCL_CHECK(ncclAllReduce(data[d], data[d], n, ncclFloat32, ncclSum, comms[d], streams[d]), "all-reduce");
  }
  NCCL_CHECK(ncclGroupEnd(), "group end");
  for (int d = 0; d < 2; ++d) {
    CUDA_CHECK(cudaSetDevice(d));
    CUDA_CHECK(cudaStreamSynchronize(streams[d]));
    std::vector<float> got(n);
    CUDA_CHECK(cudaMemcpy(got.data(), data[d], n * sizeof(float), cudaMemcpyDeviceToHost));
    INFO("device " << d);
    CHECK(got == want);
    CUDA_CHECK(cudaStreamDestroy(streams[d]));
    CUDA_CHECK(cudaFree(data[d]));
  }
  for (ncclComm_t comm : comms) NCCL_CHECK(ncclCommDestroy(comm), "destroying the communicators");
  CUDA_CHECK(cudaSetDevice(0));
}

TEST_CASE("--dist-init file: with one rank writes, uses and removes the id file; every operation is the identity",
          "[gpu][nccl]") {
  const std::string path = temp_id_path("single");
  {
    const std::unique_ptr<Collectives> comm = make_nccl_file_collectives(path, 0, 1, 60.0, nullptr);
    INFO(comm->describe());
    CHECK(comm->rank() == 0);
    CHECK(comm->size() == 1);
    CHECK(comm->describe().find("rank 0 of 1") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

    std::vector<float> f = {1.5f, -2.25f, 3e-30f};
    const std::vector<float> f0 = f;
    comm->allreduce_sum(f.data(), int64_t(f.size()), "floats");
    CHECK(f == f0);
    std::vector<double> g = {1e300, -0.1};
    const std::vector<double> g0 = g;
    comm->allreduce_sum(g.data(), int64_t(g.size()), "doubles");
    CHECK(g == g0);
    std::vector<int64_t> c = {int64_t(1) << 60, -7};
    const std::vector<int64_t> c0 = c;
    comm->allreduce_sum(c.data(), int64_t(c.size()), "counts");
    CHECK(c == c0);
    CHECK(comm->allgather(0x0123456789abcdefull, "a checksum") == std::vector<uint64_t>{0x0123456789abcdefull});
    std::string bytes = "broadcast me";
    comm->broadcast(bytes.data(), bytes.size(), 0, "a string");
    CHECK(bytes == "broadcast me");
    std::vector<float> big = test::random_floats(300001, -1.f, 1.f, 3);  // grows the scratch buffers
    const std::vector<float> big0 = big;
    comm->allreduce_sum(big.data(), int64_t(big.size()), "a large array");
    CHECK(big == big0);
  }
  std::filesystem::remove(path);
}

TEST_CASE("--dist-init file: refuses a stale or foreign id file and a differing world size", "[gpu][nccl]") {
  const std::string path = temp_id_path("stale");
  std::ofstream(path) << "left over\n";
  const std::string stale = message_of<std::runtime_error>([&] { make_nccl_file_collectives(path, 0, 2, 5.0, nullptr); });
  CHECK_THAT(stale, Catch::Contains("already exists") && Catch::Contains("remove it or pick a new path"));
  CHECK(std::filesystem::exists(path));  // not ours to remove

  const std::string foreign = message_of<std::runtime_error>([&] { make_nccl_file_collectives(path, 1, 2, 5.0, nullptr); });
  CHECK_THAT(foreign, Catch::Contains("is not an fcn.cu NCCL id file"));

  std::ofstream(path) << "fcn.cu NCCL id v1\nworld_size 3\nnonce 00000000000000ff\nid "
                      << std::string(2 * sizeof(ncclUniqueId), '0') << "\n";
  const std::string world = message_of<std::runtime_error>([&] { make_nccl_file_collectives(path, 1, 2, 5.0, nullptr); });
  CHECK_THAT(world, Catch::Contains("world size 3") && Catch::Contains("started with world size 2"));
  std::filesystem::remove(path);
}

TEST_CASE("--dist-init file: a rank without rank 0 times out naming the file, or stops when interrupted",
          "[gpu][nccl]") {
  const std::string path = temp_id_path("absent");
  const std::string timeout = message_of<DistTimeout>([&] { make_nccl_file_collectives(path, 1, 2, 0.3, nullptr); });
  CHECK_THAT(timeout, Catch::Contains(path) && Catch::Contains("rank 0 not heard from"));
  const std::atomic<bool> interrupted{true};
  const std::string stopped =
      message_of<DistInterrupted>([&] { make_nccl_file_collectives(path, 1, 2, 30.0, &interrupted); });
  CHECK_THAT(stopped, Catch::Contains("interrupted"));
}

TEST_CASE("--dist-init file: rank 0 alone in a world of 2 times out setting up, and removes its id file",
          "[gpu][nccl]") {
  // Non-blocking init polled against the deadline, then ncclCommAbort on a communicator still joining.
  const std::string path = temp_id_path("alone");
  const std::string timeout = message_of<DistTimeout>([&] { make_nccl_file_collectives(path, 0, 2, 2.0, nullptr); });
  CHECK_THAT(timeout, Catch::Contains("setting up") && Catch::Contains("did not complete within 2 s"));
  CHECK_FALSE(std::filesystem::exists(path));
}

}  // namespace fcn

#else

TEST_CASE("NCCL tests: this build has no NCCL", "[gpu][nccl]") {
  WARN("skipped: the NCCL tests need a CUDA build with NCCL (FCN_HAVE_NCCL; see the NCCL line of cmake's output)");
}

#endif
