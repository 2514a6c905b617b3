// Data parallel pieces in one process: the host gradient reducer, the rank agreement check, the
// transport factory's errors, and the model's loss and gradients over batch slices, which must add up to
// the whole batch's. The multi-process runs under mpirun are tests/dist/test_data_parallel.py.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/cpu_backend.h"
#include "engine/cuda/local_device.h"
#include "engine/dist/collectives.h"
#include "engine/dist/gradient_reducer.h"
#include "engine/model.h"
#include "tests/error_measures.h"
#include "tests/model_reference.h"
#include "tests/random_values.h"

namespace fcn {

namespace {

// Stands in for `ranks` ranks that all hold what this one holds: a sum multiplies by `ranks`. Records
// every call, so a test can count the messages.
class MirroredRanks final : public Collectives {
 public:
  explicit MirroredRanks(int ranks, std::vector<uint64_t> gathered = {}) : ranks_(ranks), gathered_(gathered) {}
  int rank() const override { return 0; }
  int size() const override { return ranks_; }
  std::string describe() const override { return "mirrored"; }
  std::vector<uint64_t> allgather(uint64_t value, const std::string&) override {
    if (!gathered_.empty()) return gathered_;
    return std::vector<uint64_t>(size_t(ranks_), value);
  }
  void broadcast(void*, size_t, int, const std::string&) override {}
  [[noreturn]] void abort_all(int code) override { std::exit(code); }
  std::vector<int64_t> float_calls;  // [calls] the count of each float all-reduce

 protected:
  void sum_in_place(void* values, int64_t n, SumType type, const std::string&) override {
    if (type == SumType::f32) float_calls.push_back(n);
    for (int64_t i = 0; i < n; ++i) {
      if (type == SumType::f32) static_cast<float*>(values)[i] *= float(ranks_);
      if (type == SumType::f64) static_cast<double*>(values)[i] *= ranks_;
      if (type == SumType::i64) static_cast<int64_t*>(values)[i] *= ranks_;
    }
  }

 private:
  int ranks_;
  std::vector<uint64_t> gathered_;
};

// Records what the model queues.
class RecordingReducer final : public GradientReducer {
 public:
  void reduce_async(float* grads, int64_t count, const std::string& what) override {
    ranges.push_back({grads, count});
    names.push_back(what);
  }
  void wait() override { ++waits; }
  std::string describe() const override { return "recording"; }
  std::vector<std::pair<float*, int64_t>> ranges;
  std::vector<std::string> names;
  int waits = 0;
};

}  // namespace

TEST_CASE("host gradient reducer: touching layer ranges become one all-reduce, in place on the CPU", "[dist]") {
  CpuBackend backend(1);
  MirroredRanks two(2);
  std::vector<float> grads = test::random_values<float>(10, 1);
  const std::vector<float> before = grads;
  auto reducer = make_host_gradient_reducer(backend, two, /*backend_memory_is_host=*/true);
  reducer->reduce_async(grads.data() + 6, 4, "layer 2");  // last layer first, as the model queues them
  reducer->reduce_async(grads.data() + 2, 4, "layer 1");
  reducer->reduce_async(grads.data() + 0, 2, "layer 0");
  CHECK(grads == before);  // nothing summed before wait()
  reducer->wait();
  CHECK(two.float_calls == std::vector<int64_t>{10});
  for (size_t i = 0; i < grads.size(); ++i) CHECK(grads[i] == 2 * before[i]);

  SECTION("ranges with a gap between them are summed separately") {
    two.float_calls.clear();
    reducer->reduce_async(grads.data() + 7, 3, "b");
    reducer->reduce_async(grads.data() + 1, 2, "a");
    reducer->wait();
    CHECK(two.float_calls == std::vector<int64_t>{2, 3});
    CHECK(grads[0] == 2 * before[0]);  // left alone
    CHECK(grads[1] == 4 * before[1]);
    CHECK(grads[7] == 4 * before[7]);
  }
}

TEST_CASE("host gradient reducer through a host copy gives the same sums as in place", "[dist]") {
  CpuBackend backend(1);
  MirroredRanks three(3);
  float* device = backend.alloc(8);  // stands for backend memory the reducer may not touch directly
  const std::vector<float> values = test::random_values<float>(8, 2);
  backend.upload(device, values.data(), 8);
  auto reducer = make_host_gradient_reducer(backend, three, /*backend_memory_is_host=*/false);
  CHECK(reducer->describe().find("host copy") != std::string::npos);
  reducer->reduce_async(device + 4, 4, "layer 1");
  reducer->reduce_async(device, 4, "layer 0");
  reducer->wait();
  std::vector<float> out(8);
  backend.download(out.data(), device, 8);
  for (size_t i = 0; i < 8; ++i) CHECK(out[i] == 3 * values[i]);
  backend.release(device);
}

TEST_CASE("CpuBackend's gradient reducer sums in place", "[dist]") {
  CpuBackend backend(1);
  MirroredRanks two(2);
  CHECK(backend.make_gradient_reducer(two)->describe().find("in place") != std::string::npos);
}

TEST_CASE("require_same_on_every_rank names the ranks that differ from rank 0", "[dist]") {
  const std::string text = "--batch 8 --size 512";
  const uint64_t h = fnv1a64(text.data(), text.size());
  MirroredRanks same(3);
  CHECK_NOTHROW(require_same_on_every_rank(same, text, "the settings"));
  MirroredRanks differ(4, {h, h, h + 1, h + 2});
  try {
    require_same_on_every_rank(differ, text, "the settings");
    FAIL("no error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "the settings differ between ranks: rank 2, 3 against rank 0");
  }
  CHECK(fnv1a64("", 0) == 0xcbf29ce484222325ull);  // FNV-1a's offset basis
  CHECK(fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);  // the published FNV-1a 64 value of "a"
}

TEST_CASE("compiled_transports names MPI and NCCL where the build has them", "[dist]") {
  const std::vector<std::string> names = compiled_transports();
  auto has = [&names](const std::string& prefix) {
    for (const std::string& n : names) {
      if (n.rfind(prefix, 0) == 0) return true;
    }
    return false;
  };
#if defined(FCN_HAVE_MPI)
  CHECK(has("MPI ("));
#else
  CHECK_FALSE(has("MPI"));
#endif
#if defined(FCN_HAVE_NCCL)
  CHECK(has("NCCL "));
#else
  CHECK_FALSE(has("NCCL"));
#endif
}

TEST_CASE("sum_type_bytes: the size of one element of each summed type", "[dist]") {
  CHECK(sum_type_bytes(SumType::f32) == 4);
  CHECK(sum_type_bytes(SumType::f64) == 8);
  CHECK(sum_type_bytes(SumType::i64) == 8);
}

TEST_CASE("make_collectives: none is one process, malformed launches are refused with a HINT", "[dist]") {
  DistOptions o;
  o.init = "none";
  auto single = make_collectives(o);
  CHECK(single->size() == 1);
  CHECK(single->rank() == 0);
  double v[2] = {1.5, -2};
  single->allreduce_sum(v, 2, "x");
  CHECK(v[0] == 1.5);
  CHECK(single->allgather(42, "x") == std::vector<uint64_t>{42});

  o.init = "tcp://10.0.0.1";
  CHECK_THROWS_WITH(make_collectives(o), Catch::Contains("not a launch method") && Catch::Contains("HINT"));
  o.init = "file:";
  CHECK_THROWS_WITH(make_collectives(o), Catch::Contains("needs a path"));
  o.init = "file:/tmp/fcn_test_dist.id";
  o.rank = 2;
  o.world_size = 2;
  CHECK_THROWS_WITH(make_collectives(o), Catch::Contains("rank 2 of 2") && Catch::Contains("--world-size"));
  o.init = "none";
  o.timeout_s = 0;
  CHECK_THROWS_WITH(make_collectives(o), Catch::Contains("--dist-timeout"));
}

TEST_CASE("rank and world size come from the launcher's environment", "[dist]") {
  unsetenv("RANK");
  unsetenv("WORLD_SIZE");
  const bool under_mpirun = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
  if (!under_mpirun) {
    CHECK(rank_from_environment() == -1);
    CHECK(world_size_from_environment() == -1);
  }
  setenv("RANK", "3", 1);
  setenv("WORLD_SIZE", "4", 1);
  CHECK(rank_from_environment() == 3);
  CHECK(world_size_from_environment() == 4);
  setenv("RANK", "three", 1);
  CHECK_THROWS_WITH(rank_from_environment(), Catch::Contains("RANK=three"));
  unsetenv("RANK");
  unsetenv("WORLD_SIZE");
}

TEST_CASE("the GPU of a rank is its local rank modulo the visible devices", "[dist]") {
  const char* names[] = {"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"};
  std::vector<std::pair<std::string, std::string>> saved;  // restored at the end (ctest may run under mpirun)
  for (const char* name : names) {
    if (const char* v = std::getenv(name)) saved.push_back({name, v});
    unsetenv(name);
  }
  CHECK(local_rank_from_environment() == -1);
  CHECK(device_for_this_process(8) == 0);  // a single process: device 0
  setenv("SLURM_LOCALID", "5", 1);
  CHECK(local_rank_from_environment() == 5);
  CHECK(device_for_this_process(8) == 5);
  CHECK(device_for_this_process(4) == 1);  // more ranks than GPUs: wraps (NCCL then refuses the sharing)
  CHECK(device_for_this_process(1) == 0);  // the launcher set CUDA_VISIBLE_DEVICES per process
  setenv("LOCAL_RANK", "2", 1);            // torchrun's comes first
  CHECK(local_rank_from_environment() == 2);
  setenv("LOCAL_RANK", "two", 1);          // not a number: the next variable is used
  CHECK(local_rank_from_environment() == 5);
  for (const char* name : names) unsetenv(name);
  for (const auto& [name, value] : saved) setenv(name.c_str(), value.c_str(), 1);
}

TEST_CASE("Model over batch slices: the slices' losses and gradients add up to the whole batch's", "[dist][model]") {
  const ModelConfig c = test::small_model_config();
  const int batch = 5, size = 6;
  const int64_t pixels = int64_t(size) * size;
  CpuBackend backend(1);
  const auto params = test::random_values<float>(parameter_count(c), 11, -0.5f, 0.5f);
  const auto x = test::random_values<float>(batch * pixels * 3, 12, 0.0f, 255.0f);
  const auto targets = test::random_values<float>(batch * pixels * c.classes, 13, 0.0f, 1.0f);
  const float decay = 0.01f;

  for (LossReduction reduction : {LossReduction::kSum, LossReduction::kMean}) {
    Model whole(backend, c, batch, size);
    whole.set_params(params);
    backend.upload(whole.input(), x.data(), int64_t(x.size()));
    backend.upload(whole.targets(), targets.data(), int64_t(targets.size()));
    whole.forward(batch);
    const double whole_loss = whole.loss_and_dlogits(batch, reduction, decay);
    whole.backward(batch, decay);
    const std::vector<float> whole_grads = whole.get_grads();

    // Three ranks' slices (2, 2, 1 images); the L2 term on rank 0 only, as the trainer does.
    double loss = 0.0;
    std::vector<double> grads(whole_grads.size(), 0.0);
    Model part(backend, c, batch_slice(batch, 0, 3).count(), size);
    part.set_params(params);
    for (int r = 0; r < 3; ++r) {
      const BatchSlice slice = batch_slice(batch, r, 3);
      backend.upload(part.input(), x.data() + slice.begin * pixels * 3, slice.count() * pixels * 3);
      backend.upload(part.targets(), targets.data() + slice.begin * pixels * c.classes,
                     slice.count() * pixels * c.classes);
      part.forward(slice.count());
      loss += part.loss_and_dlogits(slice.count(), reduction, r == 0 ? decay : 0.0f, batch);
      part.backward(slice.count(), r == 0 ? decay : 0.0f);
      const std::vector<float> g = part.get_grads();
      for (size_t i = 0; i < g.size(); ++i) grads[i] += g[i];
    }
    INFO("reduction " << reduction_name(reduction));
    // float32 sums in another order: the same 1e-6 relative scale as the backend's own tests.
    CHECK(std::fabs(loss - whole_loss) <= 1e-6 * std::fabs(whole_loss));
    CHECK(test::scaled_error(grads, whole_grads) < 1e-6);
  }
}

TEST_CASE("Model::backward hands each layer's gradients to the reducer, last layer first", "[dist][model]") {
  const ModelConfig c = test::small_model_config();
  CpuBackend backend(1);
  Model model(backend, c, 2, 5);
  model.forward(2);
  model.loss_and_dlogits(2, LossReduction::kSum, 0.0f);
  RecordingReducer reducer;
  model.backward(2, 0.0f, &reducer);
  const auto& layout = model.layout();
  REQUIRE(reducer.ranges.size() == 3);  // logits, conv2, conv1
  CHECK(reducer.waits == 1);
  int64_t covered = 0;
  for (size_t k = 0; k < 3; ++k) {
    const TensorInfo& weight = layout[layout.size() - 2 - 2 * k];
    const TensorInfo& bias = layout[layout.size() - 1 - 2 * k];
    CHECK(bias.offset == weight.offset + weight.size);  // weight and bias are one contiguous range
    CHECK(reducer.ranges[k].second == weight.size + bias.size);
    CHECK(reducer.names[k] == "gradients of " + weight.name);
    covered += reducer.ranges[k].second;
  }
  CHECK(covered == parameter_count(c));
  CHECK(reducer.ranges[1].first + reducer.ranges[1].second == reducer.ranges[0].first);
}

}  // namespace fcn
