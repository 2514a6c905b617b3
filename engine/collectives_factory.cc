// make_collectives: picks the transport between ranks from --dist-init and the launcher's environment.
// The only place that knows whether the build has MPI (FCN_HAVE_MPI) and NCCL (FCN_HAVE_NCCL).
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "engine/dist/collectives.h"
#if defined(FCN_HAVE_MPI)
#include "engine/dist/mpi_collectives.h"
#endif
#if defined(FCN_HAVE_NCCL)
#include "engine/cuda/nccl_collectives.h"
#endif

namespace fcn {

namespace {

// mpirun (Open MPI) or another PMI launcher started this process.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

std::unique_ptr<Collectives> make_mpi(const DistOptions& options) {
#if defined(FCN_HAVE_MPI)
  return make_mpi_collectives(options.timeout_s, options.interrupted);
#else
  (void)options;
  throw std::runtime_error("--dist-init mpi, but this build has no MPI\nHINT: apt-get install libopenmpi-dev "
                           "openmpi-bin, then rebuild (scripts/build.sh)");
#endif
}

std::unique_ptr<Collectives> make_file(const DistOptions& options, const std::string& path) {
  if (path.empty()) throw std::invalid_argument("--dist-init file: needs a path\nHINT: --dist-init file:/shared/run1.id");
  const int rank = options.rank >= 0 ? options.rank : rank_from_environment();
  const int world = options.world_size >= 0 ? options.world_size : world_size_from_environment();
  if (rank < 0 || world < 1 || rank >= world) {
    throw std::invalid_argument("--dist-init file: needs this process's rank and the world size (got rank " +
                                std::to_string(rank) + " of " + std::to_string(world) +
                                ")\nHINT: pass --rank R --world-size N, or set RANK and WORLD_SIZE");
  }
#if defined(FCN_HAVE_NCCL)
  return make_nccl_file_collectives(path, rank, world, options.timeout_s, options.interrupted);
#else
  throw std::runtime_error("--dist-init file: hands out an NCCL id, and this build has no NCCL (it needs the "
                           "CUDA backend)\nHINT: launch with mpirun instead, or build with CUDA and NCCL");
#endif
}

}  // namespace

std::unique_ptr<Collectives> make_collectives(const DistOptions& options) {
  if (!(options.timeout_s > 0)) throw std::invalid_argument("--dist-timeout must be > 0 seconds");
  const std::string& init = options.init;
  if (init == "none") return make_single_process_collectives();
  if (init == "mpi") return make_mpi(options);
  if (init.rfind("file:", 0) == 0) return make_file(options, init.substr(5));
  if (init == "auto") {
    if (!launched_by_mpi()) return make_single_process_collectives();
#if defined(FCN_HAVE_MPI)
    return make_mpi(options);
#else
    if (world_size_from_environment() > 1) {
      throw std::runtime_error("started by mpirun with " + std::to_string(world_size_from_environment()) +
                               " ranks, but this build has no MPI: every rank would train alone\nHINT: apt-get "
                               "install libopenmpi-dev openmpi-bin and rebuild, or pass --dist-init none");
    }
    return make_single_process_collectives();
#endif
  }
  throw std::invalid_argument("--dist-init '" + init + "' is not a launch method\nHINT: use auto, none, mpi or "
                              "file:PATH");
}

std::vector<std::string> compiled_transports() {
  std::vector<std::string> names;
#if defined(FCN_HAVE_MPI)
  names.push_back("MPI (" + mpi_library_version() + ")");
#endif
#if defined(FCN_HAVE_NCCL)
  names.push_back(nccl_version_text());
#endif
  return names;
}

}  // namespace fcn
