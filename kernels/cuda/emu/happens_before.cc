// The happens-before checker (see happens_before.h).
#include "kernels/cuda/emu/happens_before.h"

#include <algorithm>
#include <sstream>

namespace cuda_emu {

void VectorClock::tick(int agent) {
  if (ticks_.size() <= size_t(agent)) ticks_.resize(size_t(agent) + 1, 0);
  ++ticks_[size_t(agent)];
}

void VectorClock::join(const VectorClock& other) {
  if (ticks_.size() < other.ticks_.size()) ticks_.resize(other.ticks_.size(), 0);
  for (size_t a = 0; a < other.ticks_.size(); ++a) ticks_[a] = std::max(ticks_[a], other.ticks_[a]);
}

std::optional<std::string> AccessLog::record(uintptr_t base, const Access& access, const VectorClock& clock) {
  std::vector<Access>& history = by_allocation_[base];
  std::optional<std::string> conflict;
  for (const Access& earlier : history) {
    if (earlier.agent == access.agent) continue;             // same stream: ordered by the queue
    if (!earlier.write && !access.write) continue;           // two reads never conflict
    if (earlier.end <= access.begin || access.end <= earlier.begin) continue;  // disjoint
    if (clock.at(earlier.agent) >= earlier.tick) continue;   // ordered by an event or a synchronize
    const uintptr_t lo = std::max(earlier.begin, access.begin), hi = std::min(earlier.end, access.end);
    std::ostringstream text;
    text << access.what << (access.write ? " writes" : " reads") << " bytes [" << (lo - base) << ", "
         << (hi - base) << ") of the allocation at 0x" << std::hex << base << std::dec << ", which "
         << earlier.what << (earlier.write ? " wrote" : " read")
         << ", and no stream order or event places it after that "
         << (earlier.write ? "write" : "read")
         << " (a race on a GPU: record an event after the first and cudaStreamWaitEvent on it before the "
            "second)";
    conflict = text.str();
    break;
  }
  // Keep the history short: an access supersedes the same agent's earlier ones that it covers and that
  // were of the same kind or weaker (a write covers reads and writes, a read covers reads), as well as
  // other agents' accesses that are ordered before it and lie inside it when it is a write.
  std::erase_if(history, [&](const Access& earlier) {
    const bool covered = access.begin <= earlier.begin && earlier.end <= access.end;
    if (!covered) return false;
    if (earlier.agent == access.agent) return access.write || !earlier.write;
    return access.write && clock.at(earlier.agent) >= earlier.tick;
  });
  history.push_back(access);
  return conflict;
}

void AccessLog::forget(uintptr_t base) { by_allocation_.erase(base); }

}  // namespace cuda_emu
