// The single-process Collectives (every operation the identity) and the launcher environment: which rank
// this process is, of how many.
#include "engine/dist/collectives.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace fcn {

namespace {

class SingleProcess final : public Collectives {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string describe() const override { return "single process"; }
  std::vector<uint64_t> allgather(uint64_t value, const std::string&) override { return {value}; }
  void broadcast(void*, size_t, int, const std::string&) override {}
  [[noreturn]] void abort_all(int exit_code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    std::exit(exit_code);
  }

 protected:
  void sum_in_place(void*, int64_t, SumType, const std::string&) override {}
};

// The first of these environment variables that is set, as an int; -1 when none is.
int first_int_from_environment(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') continue;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (*end != '\0' || value < 0 || value > 1 << 24) {
      throw std::invalid_argument(std::string("the environment variable ") + name + "=" + text +
                                  " is not a rank or world size");
    }
    return int(value);
  }
  return -1;
}

}  // namespace

size_t sum_type_bytes(SumType type) {
  switch (type) {
    case SumType::f32: return sizeof(float);
    case SumType::f64: return sizeof(double);
    case SumType::i64: return sizeof(int64_t);
  }
  throw std::logic_error("unknown SumType");
}

uint64_t fnv1a64(const void* bytes, size_t count) {
  uint64_t hash = 0xcbf29ce484222325ull;
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (size_t i = 0; i < count; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void require_same_on_every_rank(Collectives& comm, const std::string& text, const std::string& what) {
  const std::vector<uint64_t> hashes = comm.allgather(fnv1a64(text.data(), text.size()), what);
  std::string differing;
  for (size_t r = 1; r < hashes.size(); ++r) {
    if (hashes[r] != hashes[0]) differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  }
  if (!differing.empty()) {
    throw std::runtime_error(what + " differ between ranks: rank " + differing + " against rank 0");
  }
}

std::unique_ptr<Collectives> make_single_process_collectives() { return std::make_unique<SingleProcess>(); }

int rank_from_environment() {
  return first_int_from_environment({"RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"});
}

int world_size_from_environment() {
  return first_int_from_environment({"WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"});
}

}  // namespace fcn
