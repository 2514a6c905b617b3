// Collectives over MPI (engine/dist/mpi_collectives.cc), for processes started by mpirun. Declared only
// in builds with MPI (FCN_HAVE_MPI); make_collectives() picks it.
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "engine/dist/collectives.h"

namespace fcn {

// Initialises MPI (once per process) and duplicates MPI_COMM_WORLD. Every wait is bounded by timeout_s
// and ends early when *interrupted becomes true (interrupted may be null).
std::unique_ptr<Collectives> make_mpi_collectives(double timeout_s, const std::atomic<bool>* interrupted);

// "Open MPI v4.1.4" (the first line of MPI_Get_library_version).
std::string mpi_library_version();

}  // namespace fcn
