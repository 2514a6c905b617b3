// The emulator's happens-before checker: is every access to device memory ordered after each conflicting
// access (one of the two a write) made by another stream? On a GPU an unordered pair is a data race whose
// outcome depends on timing; here it is an error, found at the call that queued the second access, whatever
// the streams' actual timing was.
//
// Agents are the host (0) and the streams (1, 2, ...). Each has a vector clock: entry a counts the
// operations of agent a known to have completed before the agent's current point. A queued operation
// takes its stream's clock after one tick; an event record copies the stream's clock, cudaStreamWaitEvent
// joins it into the waiting stream, and the host's synchronize calls join a stream's or event's clock into
// the host's, which every later operation then inherits. An earlier access (agent a, tick t) is ordered
// before a new one with clock C exactly when C[a] >= t.
//
// Accesses are byte ranges of one allocation: exact for copies and memsets; for a kernel, from each pointer
// argument to the end of its allocation (the emulator cannot see which bytes a kernel will touch before
// it runs, so it assumes the rest of the buffer: a conflict may be reported for two kernels that would
// have touched disjoint parts of one allocation, never missed for ones that overlap).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cuda_emu {

class VectorClock {
 public:
  uint64_t at(int agent) const { return size_t(agent) < ticks_.size() ? ticks_[size_t(agent)] : 0; }
  void tick(int agent);
  void join(const VectorClock& other);

 private:
  std::vector<uint64_t> ticks_;
};

class AccessLog {
 public:
  struct Access {
    uintptr_t begin = 0, end = 0;  // [begin, end)
    bool write = false;
    int agent = 0;
    uint64_t tick = 0;  // the agent's own clock entry at the access
    std::string what;   // "kernel fcn::...::resize_images_kernel on stream 2 (created at ...)"
  };

  // Records an access of [begin, end) inside the allocation at `base`, made by `agent` whose clock is
  // `clock`. Returns a description of the first earlier conflicting access it is not ordered after, if
  // any (the access is recorded either way).
  std::optional<std::string> record(uintptr_t base, const Access& access, const VectorClock& clock);
  // The allocation at `base` was freed: its history goes with it.
  void forget(uintptr_t base);

 private:
  std::map<uintptr_t, std::vector<Access>> by_allocation_;
};

}  // namespace cuda_emu
