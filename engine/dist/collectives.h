// Collectives: the few operations data-parallel training needs between processes (ranks), and nothing
// else. One process per device, all running the same loop on their own slice of every global batch; what
// they exchange is summed gradients, summed losses and evaluation counts, a checksum of the parameters
// now and then, and (for NCCL) the id of the NCCL communicator.
//
// Implementations: a single process (every operation the identity; engine/dist/collectives.cc), MPI
// (engine/dist/mpi_collectives.cc, when launched by mpirun), and NCCL with its id handed over through a
// file on a shared filesystem (engine/cuda/nccl_collectives.cu, CUDA builds with NCCL). No transport of
// our own: every byte between ranks goes through MPI or NCCL.
//
// Every blocking operation waits at most DistOptions::timeout_s. A rank that died or hangs makes the
// others stop with a message that names it (DistTimeout), never a hang; a Ctrl-C or SIGTERM while
// waiting ends the wait with DistInterrupted, so the trainer can save the last completed step.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fcn {

struct DistOptions {
  // "auto": MPI when the process was started by mpirun (OMPI_COMM_WORLD_SIZE or PMI_SIZE is set) and the
  // build has MPI, else a single process. "none": a single process. "mpi": MPI, an error without it.
  // "file:PATH": NCCL, its id written to PATH by rank 0 and read by the others (CUDA backend only).
  std::string init = "auto";
  int rank = -1;        // file: only; -1: from RANK (or OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID)
  int world_size = -1;  // file: only; -1: from WORLD_SIZE (or OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS)
  double timeout_s = 300.0;  // the longest one collective may wait for the other ranks
  const std::atomic<bool>* interrupted = nullptr;  // polled while waiting (SIGINT/SIGTERM); may be null
};

// A collective did not complete in time: a rank died or hangs. what() names the ranks not heard from.
struct DistTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// SIGINT or SIGTERM arrived while waiting for the other ranks.
struct DistInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The element types an all-reduce sums, and their sizes in bytes.
enum class SumType { f32, f64, i64 };
size_t sum_type_bytes(SumType type);

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string describe() const = 0;  // "single process", "MPI (Open MPI v4.1.4)"

  // In-place sums across ranks of host arrays. Every rank gets the same bits. `what` names the operation
  // in error messages ("gradients of step 12").
  void allreduce_sum(float* values, int64_t count, const std::string& what) {
    sum_in_place(values, count, SumType::f32, what);
  }
  void allreduce_sum(double* values, int64_t count, const std::string& what) {
    sum_in_place(values, count, SumType::f64, what);
  }
  void allreduce_sum(int64_t* values, int64_t count, const std::string& what) {
    sum_in_place(values, count, SumType::i64, what);
  }
  // Every rank's value, in rank order.
  virtual std::vector<uint64_t> allgather(uint64_t value, const std::string& what) = 0;
  // root's bytes to every rank.
  virtual void broadcast(void* bytes, size_t count, int root, const std::string& what) = 0;

  // After an error on this rank: stops every rank's process (the others exit non-zero) and does not
  // return. A single process just exits with exit_code.
  [[noreturn]] virtual void abort_all(int exit_code) = 0;

 protected:
  // What the allreduce_sum overloads call: `values` holds `count` elements of `type`.
  virtual void sum_in_place(void* values, int64_t count, SumType type, const std::string& what) = 0;
};

// The collectives DistOptions asks for. Throws std::invalid_argument (with a HINT) for a malformed init
// and std::runtime_error when the asked-for transport is missing from the build or cannot start.
std::unique_ptr<Collectives> make_collectives(const DistOptions& options);

// A single process: every operation is the identity.
std::unique_ptr<Collectives> make_single_process_collectives();

// What `fcn info` prints: the transports this build has ("MPI (Open MPI v4.1.4)", "NCCL 2.27.3").
std::vector<std::string> compiled_transports();

// Throws std::runtime_error naming the ranks whose `text` differs from rank 0's (compared by a 64-bit
// FNV-1a hash), e.g. settings given differently on one rank's command line. `what` says what was compared.
void require_same_on_every_rank(Collectives& comm, const std::string& text, const std::string& what);

// FNV-1a, 64 bits: the checksum ranks compare (parameters, settings).
uint64_t fnv1a64(const void* bytes, size_t count);

// Rank and world size from the launcher's environment (torchrun's RANK/WORLD_SIZE, Open MPI, PMI,
// Slurm); -1 where none is set.
int rank_from_environment();
int world_size_from_environment();

}  // namespace fcn
