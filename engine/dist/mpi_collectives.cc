// Collectives over MPI. Every operation is a non-blocking MPI collective (MPI_Iallreduce, MPI_Iallgather,
// MPI_Ibcast) that this rank then polls with MPI_Test, so that a wait can be bounded and interrupted:
//  - past the timeout, the waiting rank asks every other rank "who is there?" on a second communicator
//    and names the ranks that did not answer within a grace period (dead, hung, or stuck elsewhere);
//    every rank that is itself waiting in a collective answers at once;
//  - a SIGINT or SIGTERM (the flag the trainer's handler sets) that arrived more than a few seconds ago
//    ends the wait with DistInterrupted (the other ranks did not come: one of them is gone).
// A request left pending by either is never completed: the caller stops every rank (abort_all).
//
// Same bits on every rank: Open MPI's reductions combine the ranks' contributions in an order fixed by
// the algorithm its decision rules pick for the communicator size and message size, and give every rank
// the result of the same additions; run to run, the same N and the same message sizes pick the same
// algorithm. The trainer also compares a checksum of the parameters across ranks every few steps.
#include "engine/dist/mpi_collectives.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fcn {

namespace {

constexpr int kTagWhoIsThere = 7101;  // a rank that timed out asks every other rank
constexpr int kTagHere = 7102;        // a rank that is waiting in a collective answers
constexpr double kAnswerGraceSeconds = 2.0;
// A signal usually reaches every rank at once (mpirun forwards Ctrl-C): the collective in flight then
// still completes, and the stop request the ranks sum with the next step's loss ends them all after the
// same step. Only a wait that is still pending this long after the signal ends with DistInterrupted.
constexpr double kInterruptGraceSeconds = 5.0;

using Clock = std::chrono::steady_clock;

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, size_t(length));
}

void check_mpi(int code, const std::string& call) {
  if (code != MPI_SUCCESS) throw std::runtime_error(call + " failed: " + mpi_error_text(code));
}

std::string rank_list(const std::vector<int>& ranks) {
  std::string text;
  for (int r : ranks) text += (text.empty() ? "" : ", ") + std::to_string(r);
  return text.empty() ? "none" : text;
}

class MpiCollectives final : public Collectives {
 public:
  MpiCollectives(double timeout_s, const std::atomic<bool>* interrupted)
      : timeout_s_(timeout_s), interrupted_(interrupted) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;  // only the thread that runs the training loop calls MPI
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &notice_comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(notice_comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  ~MpiCollectives() override {
    MPI_Comm_free(&notice_comm_);
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override {
    return "MPI (" + mpi_library_version() + ")";
  }

  std::vector<uint64_t> allgather(uint64_t value, const std::string& what) override {
    std::vector<uint64_t> all(size_t(size_), 0);
    MPI_Request request;
    check_mpi(MPI_Iallgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_, &request),
              "MPI_Iallgather (" + what + ")");
    wait(request, what);
    return all;
  }

  void broadcast(void* bytes, size_t count, int root, const std::string& what) override {
    auto* cursor = static_cast<char*>(bytes);
    while (count > 0) {
      const int chunk = int(std::min<size_t>(count, INT_MAX));
      MPI_Request request;
      check_mpi(MPI_Ibcast(cursor, chunk, MPI_BYTE, root, comm_, &request), "MPI_Ibcast (" + what + ")");
      wait(request, what);
      cursor += chunk;
      count -= size_t(chunk);
    }
  }

  [[noreturn]] void abort_all(int exit_code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);  // mpirun then stops every rank
    std::_Exit(exit_code);
  }

 protected:
  void sum_in_place(void* values, int64_t count, SumType type, const std::string& what) override {
    const MPI_Datatype mpi_type = type == SumType::f32 ? MPI_FLOAT : type == SumType::f64 ? MPI_DOUBLE : MPI_INT64_T;
    auto* cursor = static_cast<char*>(values);
    while (count > 0) {  // MPI counts are int
      const int chunk = int(std::min<int64_t>(count, INT_MAX));
      MPI_Request request;
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, cursor, chunk, mpi_type, MPI_SUM, comm_, &request),
                "MPI_Iallreduce (" + what + ")");
      wait(request, what);
      cursor += size_t(chunk) * sum_type_bytes(type);
      count -= chunk;
    }
  }

 private:

  // Polls the request until it completes, the timeout passes or a signal arrives. Spins briefly, then
  // sleeps 100 us between polls, so that ranks sharing cores with a slower rank give it the CPU.
  void wait(MPI_Request& request, const std::string& what) {
    const auto start = Clock::now();
    auto interrupted_at = Clock::time_point::max();
    for (int polls = 0;; ++polls) {
      int done = 0;
      check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test (" + what + ")");
      if (done) return;
      answer_who_is_there();
      const auto now = Clock::now();
      if (interrupted_ != nullptr && interrupted_->load() && interrupted_at == Clock::time_point::max()) {
        interrupted_at = now;
      }
      if (now > interrupted_at && std::chrono::duration<double>(now - interrupted_at).count() > kInterruptGraceSeconds) {
        throw DistInterrupted("rank " + std::to_string(rank_) + " was interrupted, and the other ranks did not " +
                              "come to " + what);
      }
      const double waited = std::chrono::duration<double>(now - start).count();
      if (waited >= timeout_s_) throw DistTimeout(timeout_message(what, waited));
      if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  // Answers every "who is there?" that has arrived: this rank is alive and waiting.
  void answer_who_is_there() {
    for (;;) {
      int arrived = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagWhoIsThere, notice_comm_, &arrived, &status);
      if (!arrived) return;
      int asker = -1;
      MPI_Recv(&asker, 1, MPI_INT, status.MPI_SOURCE, kTagWhoIsThere, notice_comm_, MPI_STATUS_IGNORE);
      MPI_Request request;
      MPI_Isend(&rank_, 1, MPI_INT, status.MPI_SOURCE, kTagHere, notice_comm_, &request);
      MPI_Request_free(&request);  // rank_ outlives the send; nobody needs its completion
    }
  }

  // Asks every other rank whether it is there and names those that did not answer in time.
  std::string timeout_message(const std::string& what, double waited) {
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      MPI_Request request;
      MPI_Isend(&rank_, 1, MPI_INT, r, kTagWhoIsThere, notice_comm_, &request);
      MPI_Request_free(&request);
    }
    std::vector<bool> heard(size_t(size_), false);
    heard[size_t(rank_)] = true;
    int heard_count = 1;
    const auto start = Clock::now();
    while (heard_count < size_ &&
           std::chrono::duration<double>(Clock::now() - start).count() < kAnswerGraceSeconds) {
      answer_who_is_there();
      int arrived = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagHere, notice_comm_, &arrived, &status);
      if (!arrived) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      int who = -1;
      MPI_Recv(&who, 1, MPI_INT, status.MPI_SOURCE, kTagHere, notice_comm_, MPI_STATUS_IGNORE);
      if (!heard[size_t(status.MPI_SOURCE)]) ++heard_count;
      heard[size_t(status.MPI_SOURCE)] = true;
    }
    std::vector<int> silent, answered;
    for (int r = 0; r < size_; ++r) {
      if (r != rank_) (heard[size_t(r)] ? answered : silent).push_back(r);
    }
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.0f", waited);
    std::string message = "rank " + std::to_string(rank_) + " of " + std::to_string(size_) + " waited " +
                          seconds + " s for the other ranks (" + what + ") and gave up";
    if (!silent.empty()) {
      message += ": no answer from rank " + rank_list(silent) + " (it died, hangs, or is busy elsewhere)";
    } else {
      message += ": every rank answered, so they are waiting in different collectives";
    }
    message += "; answered: " + rank_list(answered) +
               "\nHINT: look at the named rank's output; raise --dist-timeout if a step can legitimately take longer";
    return message;
  }

  double timeout_s_;
  const std::atomic<bool>* interrupted_;
  bool owns_mpi_ = false;
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm notice_comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Collectives> make_mpi_collectives(double timeout_s, const std::atomic<bool>* interrupted) {
  return std::make_unique<MpiCollectives>(timeout_s, interrupted);
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, size_t(length));
  return version.substr(0, version.find_first_of(",\n"));
}

}  // namespace fcn
