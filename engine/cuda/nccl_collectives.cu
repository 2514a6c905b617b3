// The NCCL Collectives of --dist-init file:PATH (engine/cuda/nccl_collectives.h): the id file, and the
// host-array operations staged through a small device buffer.
#include "engine/cuda/nccl_collectives.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/cuda/local_device.h"
#include "engine/cuda/nccl_common.cuh"
#include "engine/dist/collectives.h"
#include "kernels/cuda/check.cuh"

namespace fcn {

namespace {

constexpr const char* kIdFileMagic = "fcn.cu NCCL id v1";

// What rank 0 writes to PATH: one "key value" per line after the magic line.
struct IdFile {
  int world_size = 0;
  uint64_t nonce = 0;  // random per launch: names the launch in describe() and errors
  ncclUniqueId id{};
};

std::string to_hex(const void* bytes, size_t count) {
  static const char digits[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(bytes);
  std::string text(2 * count, '0');
  for (size_t i = 0; i < count; ++i) {
    text[2 * i] = digits[p[i] >> 4];
    text[2 * i + 1] = digits[p[i] & 15];
  }
  return text;
}

bool from_hex(const std::string& text, void* bytes, size_t count) {
  if (text.size() != 2 * count) return false;
  auto* p = static_cast<unsigned char*>(bytes);
  for (size_t i = 0; i < count; ++i) {
    unsigned value = 0;
    if (std::sscanf(text.c_str() + 2 * i, "%2x", &value) != 1) return false;
    p[i] = static_cast<unsigned char>(value);
  }
  return true;
}

std::string nonce_text(uint64_t nonce) {
  char text[24];
  std::snprintf(text, sizeof(text), "%016" PRIx64, nonce);
  return text;
}

uint64_t random_nonce() {
  std::random_device device;
  const uint64_t clock = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  return ((uint64_t(device()) << 32) | device()) ^ clock;
}

bool file_exists(const std::string& path) {
  std::ifstream in(path);
  return bool(in);
}

// Rank 0: PATH.tmp, then an atomic rename to PATH (a reader sees all of it or nothing).
void write_id_file(const std::string& path, const IdFile& file) {
  if (file_exists(path)) {
    throw std::runtime_error("--dist-init file:" + path + ": the file already exists, left by an earlier launch "
                             "(or another run uses the same path)\nHINT: remove it or pick a new path");
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kIdFileMagic << "\nworld_size " << file.world_size << "\nnonce " << nonce_text(file.nonce) << "\nid "
        << to_hex(&file.id, sizeof(file.id)) << "\n";
    out.flush();
    if (!out) {
      throw std::runtime_error("--dist-init file:" + path + ": cannot write " + tmp + " (" + std::strerror(errno) +
                               ")\nHINT: the folder must exist and be writable, on a filesystem every rank reads");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error("--dist-init file:" + path + ": cannot rename " + tmp + " to it (" + why +
                             ")\nHINT: pick a path in a writable folder every rank reads");
  }
}

enum class ReadResult { kOk, kMissing, kIncomplete, kForeign };

ReadResult read_id_file(const std::string& path, IdFile* file) {
  std::ifstream in(path);
  if (!in) return ReadResult::kMissing;
  std::string magic;
  if (!std::getline(in, magic)) return ReadResult::kIncomplete;
  if (magic != kIdFileMagic) return ReadResult::kForeign;
  std::string key, value;
  bool have_world = false, have_nonce = false, have_id = false;
  while (in >> key >> value) {
    if (key == "world_size") {
      file->world_size = std::atoi(value.c_str());
      have_world = true;
    } else if (key == "nonce") {
      file->nonce = std::strtoull(value.c_str(), nullptr, 16);
      have_nonce = true;
    } else if (key == "id") {
      have_id = from_hex(value, &file->id, sizeof(file->id));
    }
  }
  return have_world && have_nonce && have_id ? ReadResult::kOk : ReadResult::kIncomplete;
}

// Ranks other than 0: polls for PATH until it is complete, at most timeout_s.
IdFile wait_for_id_file(const std::string& path, int rank, int world_size, double timeout_s,
                        const std::atomic<bool>* interrupted) {
  const nccl::Deadline deadline(timeout_s);
  IdFile file;
  for (;;) {
    const ReadResult result = read_id_file(path, &file);
    if (result == ReadResult::kOk) break;
    if (result == ReadResult::kForeign) {
      throw std::runtime_error("--dist-init file:" + path + " is not an fcn.cu NCCL id file (its first line is not '" +
                               kIdFileMagic + "')\nHINT: pick a new path, the same for every rank");
    }
    if (interrupted != nullptr && interrupted->load()) {
      throw DistInterrupted("interrupted (SIGINT or SIGTERM) while rank " + std::to_string(rank) +
                            " waited for rank 0 to write " + path);
    }
    if (deadline.expired()) {
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%g", timeout_s);
      throw DistTimeout("rank " + std::to_string(rank) + " waited " + seconds + " s for rank 0 to write the NCCL id " +
                        "file " + path + (result == ReadResult::kIncomplete ? " (it is there, but incomplete)" : "") +
                        ": rank 0 not heard from\nHINT: start rank 0 too, with the same --dist-init file:" + path +
                        "; on several hosts the path must be on a filesystem all of them see");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (file.world_size != world_size) {
    throw std::runtime_error("--dist-init file:" + path + " was written by a rank 0 with world size " +
                             std::to_string(file.world_size) + ", and rank " + std::to_string(rank) +
                             " was started with world size " + std::to_string(world_size) +
                             "\nHINT: pass the same --world-size (WORLD_SIZE) to every rank; if the file is stale, "
                             "remove it or pick a new path");
  }
  return file;
}

class NcclFileCollectives final : public Collectives {
 public:
  NcclFileCollectives(const std::string& path, int rank, int world_size, double timeout_s,
                      const std::atomic<bool>* interrupted)
      : path_(path), rank_(rank), size_(world_size), timeout_s_(timeout_s), interrupted_(interrupted) {
    int devices = 0;
    CUDA_CHECK(cudaGetDeviceCount(&devices));
    device_ = device_for_this_process(devices);
    CUDA_CHECK(cudaSetDevice(device_));
    try {
      CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      IdFile file;
      if (rank_ == 0) {
        file.world_size = size_;
        file.nonce = random_nonce();
        file.id = nccl::new_unique_id();
        write_id_file(path_, file);
        wrote_file_ = true;
      } else {
        file = wait_for_id_file(path_, rank_, size_, timeout_s_, interrupted_);
      }
      nonce_ = file.nonce;
      comm_ = nccl::init_communicator(size_, file.id, rank_, timeout_s_, interrupted_,
                                      "the NCCL communicator of --dist-init file:" + path_ + " (launch " +
                                          nonce_text(nonce_) + ")");
      // Every rank has joined, so every rank has read the id: the file has done its job.
      remove_id_file();
      version_ = nccl::nccl_library_text();
    } catch (...) {
      remove_id_file();  // rank 0's file is of no use to a relaunch
      release();
      throw;
    }
  }

  ~NcclFileCollectives() override { release(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override {
    return version_ + " via --dist-init file:" + path_ + " (launch " + nonce_text(nonce_) + "), rank " +
           std::to_string(rank_) + " of " + std::to_string(size_) + " on GPU " + std::to_string(device_);
  }

  std::vector<uint64_t> allgather(uint64_t value, const std::string& what) override {
    const std::string described = describe_op("all-gather", what);
    require_communicator(described);
    // scratch: [0] this rank's value, [1, 1 + size) everyone's.
    reserve(sizeof(uint64_t) * size_t(1 + size_));
    auto* host = static_cast<uint64_t*>(host_);
    auto* device = static_cast<uint64_t*>(device_scratch_);
    host[0] = value;
    CUDA_CHECK(cudaMemcpyAsync(device, host, sizeof(uint64_t), cudaMemcpyHostToDevice, stream_));
    NCCL_CALL(comm_, ncclAllGather(device, device + 1, 1, ncclUint64, comm_, stream_), timeout_s_, interrupted_,
              described);
    CUDA_CHECK(cudaMemcpyAsync(host + 1, device + 1, sizeof(uint64_t) * size_t(size_), cudaMemcpyDeviceToHost,
                               stream_));
    nccl::wait_for_stream(comm_, stream_, timeout_s_, interrupted_, described);
    return std::vector<uint64_t>(host + 1, host + 1 + size_);
  }

  // bytes [count]: root's are sent, everyone else's overwritten.
  void broadcast(void* bytes, size_t count, int root, const std::string& what) override {
    if (count == 0) return;
    if (root < 0 || root >= size_) {
      throw std::invalid_argument("broadcast of " + what + " from rank " + std::to_string(root) + " of " +
                                  std::to_string(size_));
    }
    const std::string described = describe_op("broadcast from rank " + std::to_string(root), what);
    require_communicator(described);
    reserve(count);
    if (rank_ == root) {
      std::memcpy(host_, bytes, count);
      CUDA_CHECK(cudaMemcpyAsync(device_scratch_, host_, count, cudaMemcpyHostToDevice, stream_));
    }
    NCCL_CALL(comm_, ncclBroadcast(device_scratch_, device_scratch_, count, ncclUint8, root, comm_, stream_),
              timeout_s_, interrupted_, described);
    CUDA_CHECK(cudaMemcpyAsync(host_, device_scratch_, count, cudaMemcpyDeviceToHost, stream_));
    nccl::wait_for_stream(comm_, stream_, timeout_s_, interrupted_, described);
    if (rank_ != root) std::memcpy(bytes, host_, count);
  }

  [[noreturn]] void abort_all(int exit_code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    remove_id_file();
    nccl::abort_communicator(comm_);  // the other ranks' NCCL calls fail (ncclRemoteError) instead of waiting
    std::_Exit(exit_code);
  }

 protected:
  // values [count] of `type`: summed in place across the ranks, staged through the device scratch.
  void sum_in_place(void* values, int64_t count, SumType type, const std::string& what) override {
    if (count <= 0) return;
    const std::string described = describe_op("all-reduce", what);
    require_communicator(described);
    const ncclDataType_t nccl_type = type == SumType::f32 ? ncclFloat32 : type == SumType::f64 ? ncclFloat64 : ncclInt64;
    const size_t bytes = sum_type_bytes(type) * size_t(count);
    reserve(bytes);
    std::memcpy(host_, values, bytes);
    CUDA_CHECK(cudaMemcpyAsync(device_scratch_, host_, bytes, cudaMemcpyHostToDevice, stream_));
    NCCL_CALL(comm_, ncclAllReduce(device_scratch_, device_scratch_, size_t(count), nccl_type, ncclSum, comm_, stream_),
              timeout_s_, interrupted_, described);
    CUDA_CHECK(cudaMemcpyAsync(host_, device_scratch_, bytes, cudaMemcpyDeviceToHost, stream_));
    nccl::wait_for_stream(comm_, stream_, timeout_s_, interrupted_, described);
    std::memcpy(values, host_, bytes);
  }

 private:
  std::string describe_op(const std::string& op, const std::string& what) const {
    return "the NCCL " + op + " of " + what + " (rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
           ", --dist-init file:" + path_ + ")";
  }

  void require_communicator(const std::string& described) const {
    if (comm_ != nullptr) return;
    throw std::runtime_error(described + ": the NCCL communicator was aborted after an earlier error\nHINT: the "
                             "first error above is the cause");
  }

  // Room for `bytes` in the pinned host and device scratch buffers (grown geometrically; the stream is
  // idle between operations, so the old buffers can go at once).
  void reserve(size_t bytes) {
    if (bytes <= capacity_) return;
    const size_t capacity = std::max({bytes, 2 * capacity_, size_t(4096)});
    cudaFree(device_scratch_);
    cudaFreeHost(host_);
    device_scratch_ = nullptr;
    host_ = nullptr;
    capacity_ = 0;
    CUDA_CHECK(cudaMalloc(&device_scratch_, capacity));
    CUDA_CHECK(cudaHostAlloc(&host_, capacity, cudaHostAllocDefault));
    capacity_ = capacity;
  }

  void remove_id_file() noexcept {
    if (!wrote_file_) return;
    std::remove(path_.c_str());
    wrote_file_ = false;
  }

  // Never throws.
  void release() noexcept {
    cudaSetDevice(device_);
    nccl::close_communicator(comm_, timeout_s_ < 30 ? timeout_s_ : 30);
    cudaFree(device_scratch_);
    cudaFreeHost(host_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    device_scratch_ = nullptr;
    host_ = nullptr;
    stream_ = nullptr;
    capacity_ = 0;
  }

  std::string path_;
  int rank_;
  int size_;
  double timeout_s_;
  const std::atomic<bool>* interrupted_;
  int device_ = 0;
  bool wrote_file_ = false;  // rank 0, until every rank has joined
  uint64_t nonce_ = 0;
  std::string version_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* device_scratch_ = nullptr;  // [capacity_] bytes
  void* host_ = nullptr;            // [capacity_] bytes, pinned
  size_t capacity_ = 0;
};

}  // namespace

std::unique_ptr<Collectives> make_nccl_file_collectives(const std::string& path, int rank, int world_size,
                                                        double timeout_s, const std::atomic<bool>* interrupted) {
  if (path.empty()) throw std::invalid_argument("--dist-init file: needs a path\nHINT: --dist-init file:/shared/run1.id");
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw std::invalid_argument("--dist-init file:" + path + ": rank " + std::to_string(rank) + " of " +
                                std::to_string(world_size) + " is not a rank\nHINT: pass --rank R --world-size N "
                                "with 0 <= R < N, or set RANK and WORLD_SIZE");
  }
  if (!(timeout_s > 0)) throw std::invalid_argument("--dist-timeout must be > 0 seconds");
  return std::make_unique<NcclFileCollectives>(path, rank, world_size, timeout_s, interrupted);
}

std::string nccl_version_text() { return nccl::nccl_library_text(); }

}  // namespace fcn
